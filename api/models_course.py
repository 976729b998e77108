"""ORM models of treatment courses: calendars, courses, sessions, deliveries, ratings, alerts.

The rules (scheduling, scoring, screening) live in :mod:`navsvc.course`; these tables only
store their inputs and results. Every table is created by migration ``0002``;
``courses.status_changed_at`` by ``0004``, ``course_holds`` by ``0005``, the amendments of
ratings (``assessments.version``, ``assessment_versions``) by ``0006``, ``ratings_not_obtained``
by ``0007``, who marked a session missed, when and why (``course_sessions.missed_*``) by ``0008``.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.models import Base, UTCDateTime, new_id, utc_now


class ClinicCalendarRecord(Base):
    """A clinic's working weekdays (0 = Monday) and closure dates (ISO strings)."""

    __tablename__ = "clinic_calendars"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    working_weekdays: Mapped[list] = mapped_column(JSON)
    closures: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class Course(Base):
    """A treatment course of one patient on one approved plan.

    ``status``: ``active``, ``paused`` (since ``paused_from``) or ``stopped``;
    ``status_changed_at`` is when it was last paused, resumed or stopped (null before, and
    for a course paused or stopped before migration ``0004`` without an audit record of it).
    Every pause and the stop are kept in :class:`CourseHold`, which decides the deliveries.
    ``protocol`` holds the full protocol parameters, so a preset changed later does not
    change a course already running. ``arm`` (``active``, ``sham``, ``open``) is never
    shown to blinded tokens.
    """

    __tablename__ = "courses"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    calendar_id: Mapped[str | None] = mapped_column(ForeignKey("clinic_calendars.id"),
                                                    nullable=True)
    protocol_name: Mapped[str] = mapped_column(String(64))
    protocol: Mapped[dict] = mapped_column(JSON)
    arm: Mapped[str] = mapped_column(String(10))
    start_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="active", index=True)
    paused_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    status_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    created_by: Mapped[str] = mapped_column(String(200))


class CourseHold(Base):
    """One pause or the stop of a course: from when (``entered_at``, the moment it was
    entered; null for one entered before migration ``0005`` whose moment is unknown, which
    then holds from the start) and, for a pause, from which day (``from_date``) until when
    (``ended_at``, the resume; null while it lasts). A delivery given while a hold was in
    force is refused, before and after the course is resumed or stopped."""

    __tablename__ = "course_holds"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    from_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CourseSession(Base):
    """One scheduled session (appointment) of a course; ``index`` is never reused."""

    __tablename__ = "course_sessions"
    __table_args__ = (UniqueConstraint("course_id", "index", name="uq_course_sessions_index"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    date: Mapped[date] = mapped_column(Date, index=True)
    slot: Mapped[int] = mapped_column(Integer, default=0)
    offset_minutes: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(12), default="planned")
    replaces_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    #: who marked the session missed, when, and the reason they gave (null until then)
    missed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    missed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    missed_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class Delivery(Base):
    """The log of a delivered session (at most one per session)."""

    __tablename__ = "deliveries"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(ForeignKey("course_sessions.id"), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    request_sha256: Mapped[str] = mapped_column(String(64))
    performed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    operator: Mapped[str] = mapped_column(String(200))
    rmt_pct_mso: Mapped[float] = mapped_column(Float)
    pct_of_mt: Mapped[float] = mapped_column(Float)
    dose: Mapped[dict] = mapped_column(JSON)
    pulses_delivered: Mapped[int] = mapped_column(Integer)
    trains_delivered: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pose_matrix: Mapped[list | None] = mapped_column(JSON, nullable=True)
    deviation: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    side_effects: Mapped[list] = mapped_column(JSON)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    created_by: Mapped[str] = mapped_column(String(200))


class RatingValues:
    """What a HAMD-17 rating says, as recorded or amended (the columns a rating and each
    version an amendment replaced share)."""

    timepoint: Mapped[str] = mapped_column(String(20))
    rater: Mapped[str] = mapped_column(String(200))
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    items: Mapped[dict] = mapped_column(JSON)
    item16_method: Mapped[str] = mapped_column(String(1))
    total: Mapped[int] = mapped_column(Integer)


class Assessment(RatingValues, Base):
    """A HAMD-17 rating: item scores and their total and band at the time of rating."""

    __tablename__ = "assessments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    created_by: Mapped[str] = mapped_column(String(200))
    #: 1 as recorded, one more per amendment; the versions it replaced are in
    #: :class:`AssessmentVersion`
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    amended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    amended_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


class AssessmentVersion(RatingValues, Base):
    """A version of a rating that an amendment replaced: its values as they were, who
    recorded them and when, and who replaced them, when and why."""

    __tablename__ = "assessment_versions"
    __table_args__ = (UniqueConstraint("assessment_id", "version", name="uq_assessment_versions_version"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    assessment_id: Mapped[str] = mapped_column(ForeignKey("assessments.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(200))
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime)
    replaced_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)


class RatingNotObtained(Base):
    """A clinician's record that a baseline or week rating of a course will not be taken
    (patient withdrew, course stopped), with the reason: the timepoint is no longer due
    unless the record is withdrawn (kept, with who withdrew it, when and why)."""

    __tablename__ = "ratings_not_obtained"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id"), index=True)
    timepoint: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    recorded_by: Mapped[str] = mapped_column(String(200))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    withdrawn_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    withdrawal_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class Alert(Base):
    """An alert on a course (``suicide_item``, ``seizure``, ``dose_above_protocol``,
    ``rating_timing``) until a clinician acknowledges it."""

    __tablename__ = "alerts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text)
    source_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledgement_note: Mapped[str | None] = mapped_column(Text, nullable=True)


class Screening(Base):
    """The pre-course TMS safety screening of a course and any clinician override."""

    __tablename__ = "screenings"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    course_id: Mapped[str] = mapped_column(ForeignKey("courses.id"), unique=True)
    answers: Mapped[dict] = mapped_column(JSON)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    screened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    screened_by: Mapped[str] = mapped_column(String(200))
    override_items: Mapped[list] = mapped_column(JSON, default=list)
    override_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    override_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    override_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
