"""When a course's HAMD-17 ratings are due, and whether a rating was taken in time: the
course's rows fed to :mod:`navsvc.course.followup`.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.clinic_time import clinic_day, in_zone
from api.course_service import protocol_of
from api.course_sessions import given_at, to_domain
from api.models_course import Assessment, Course, CourseSession, Delivery, RatingNotObtained
from navsvc.course.calendar import as_given
from navsvc.course.followup import FollowUp, followups, late_baseline_reason, week_rating_timing_reason


def week_followups(db: Session, course: Course, today: date, zone: tzinfo | None) -> list[FollowUp]:
    """The course's week timepoints (:func:`course_followups` without the baseline), week 1 first.

    Parameters
    ----------
    db : Session
        The database session.
    course : Course
        The course.
    today : datetime.date
        The clinic day the timepoints' statuses are taken on.
    zone : tzinfo or None
        The clinic's time zone (None: the server's local zone).

    Returns
    -------
    list of FollowUp
        ``week1``, ``week2``, ..., each with the index of the session that closes it.
    """
    return [f for f in course_followups(db, course, today, zone) if f.after_session_index is not None]


def rating_timing_reason(db: Session, course: Course, timepoint: str, rated_at: datetime,
                         zone: tzinfo | None, weeks: list[FollowUp] | None,
                         given: dict[int, datetime] | None = None) -> str | None:
    """Why a ``baseline`` or ``weekN`` rating taken at ``rated_at`` is not that timepoint's
    rating, or None: a baseline comes before the first session given, a week-N rating
    after the session closing week N and not after the next one
    (:func:`navsvc.course.followup.week_rating_timing_reason`). ``extra`` ratings and
    weeks the course does not have give None.

    Parameters
    ----------
    weeks : list of FollowUp or None
        The course's week timepoints (:func:`week_followups`); None for a baseline or
        ``extra`` rating, which does not need them.
    given : dict, optional
        When each delivered session was given, by index (default: the course's
        deliveries, :func:`given_at`); the delivery check passes it without the session
        being logged to see what that log changes.
    """
    given = given_at(db, course.id) if given is None else given
    if timepoint == "baseline":
        return late_baseline_reason(in_zone(min(given.values(), default=None), zone), rated_at.astimezone(zone))
    if not timepoint.startswith("week"):
        return None
    week = int(timepoint[4:])
    if not 1 <= week <= len(weeks):
        return None
    closing_at = given.get(weeks[week - 1].after_session_index)
    later = [at for at in given.values() if closing_at is not None and at > closing_at]
    return week_rating_timing_reason(weeks[week - 1], rated_at.astimezone(zone), in_zone(closing_at, zone),
                                     in_zone(min(later, default=None), zone))


def ratings_put_out_of_time(db: Session, course: Course, index: int, today: date,
                            zone: tzinfo | None) -> list[Assessment]:
    """The course's baseline and week ratings that stood as their timepoint's before session
    ``index`` was logged and no longer do with it (:func:`rating_timing_reason`): a session
    logged as given before the baseline was taken, or between a week's end and its rating.
    The log is kept and a clinician is alerted, who may amend the rating (its time, if
    typed wrong, or its timepoint to ``extra``).

    Parameters
    ----------
    db : Session
        The request's database session, which already holds the new delivery.
    course : Course
        The course.
    index : int
        Index of the session just logged.
    today : datetime.date
        The clinic day the week timepoints' statuses are taken on (the delivery route
        passes the logged session's clinic day).
    zone : tzinfo or None
        The clinic's time zone (None: the server's local zone).

    Returns
    -------
    list of Assessment
        The ratings that this log puts out of time.
    """
    given = given_at(db, course.id)
    before = {i: at for i, at in given.items() if i != index}
    weeks = week_followups(db, course, today, zone)
    ratings = db.scalars(select(Assessment).where(Assessment.course_id == course.id,
                                                  Assessment.timepoint != "extra"))
    return [r for r in ratings
            if rating_timing_reason(db, course, r.timepoint, r.rated_at, zone, weeks, given)
            and not rating_timing_reason(db, course, r.timepoint, r.rated_at, zone, weeks, before)]


def course_followups(db: Session, course: Course, today: date, zone: tzinfo | None) -> list[FollowUp]:
    """The course's HAMD-17 timepoints with their status on ``today``
    (:func:`navsvc.course.followup.followups`, each delivered session on its clinic day).

    Parameters
    ----------
    db : Session
        The database session.
    course : Course
        The course.
    today : datetime.date
        The clinic day the statuses are taken on.
    zone : tzinfo or None
        The clinic's time zone (None: the server's local zone).

    Returns
    -------
    list of FollowUp
        ``baseline`` first, then ``week1``, ``week2``, ...
    """
    return followups_of_courses(db, [course], today, zone)[course.id]


#: course ids per query of :func:`followups_of_courses` (SQL parameter lists stay short)
_IDS_PER_QUERY = 500


def followups_of_courses(db: Session, courses: list[Course], today: date,
                         zone: tzinfo | None) -> dict[str, list[FollowUp]]:
    """:func:`course_followups` of each of ``courses``, by course id, read in four queries
    per :data:`_IDS_PER_QUERY` courses (the ratings due of a clinic read every course).

    Parameters
    ----------
    db : Session
        The database session.
    courses : list of Course
        The courses.
    today : datetime.date
        The clinic day the statuses are taken on.
    zone : tzinfo or None
        The clinic's time zone (None: the server's local zone).

    Returns
    -------
    dict of str to list of FollowUp
        The timepoints of each course (``baseline`` first), by course id.
    """
    rows: dict[str, list[CourseSession]] = {c.id: [] for c in courses}
    given_on: dict[str, dict[int, date]] = {c.id: {} for c in courses}
    rated: dict[str, list[str]] = {c.id: [] for c in courses}
    not_obtained: dict[str, list[str]] = {c.id: [] for c in courses}
    ids = list(rows)
    for start in range(0, len(ids), _IDS_PER_QUERY):
        chunk = ids[start:start + _IDS_PER_QUERY]
        for row in db.scalars(select(CourseSession).where(CourseSession.course_id.in_(chunk))
                              .order_by(CourseSession.course_id, CourseSession.index)):
            rows[row.course_id].append(row)
        for course_id, index, at in db.execute(
                select(CourseSession.course_id, CourseSession.index, Delivery.performed_at)
                .join(Delivery, Delivery.session_id == CourseSession.id)
                .where(CourseSession.course_id.in_(chunk))):
            given_on[course_id][index] = clinic_day(at, zone)
        for course_id, timepoint in db.execute(select(Assessment.course_id, Assessment.timepoint)
                                               .where(Assessment.course_id.in_(chunk))):
            rated[course_id].append(timepoint)
        for course_id, timepoint in db.execute(
                select(RatingNotObtained.course_id, RatingNotObtained.timepoint)
                .where(RatingNotObtained.course_id.in_(chunk), RatingNotObtained.withdrawn_at.is_(None))):
            not_obtained[course_id].append(timepoint)
    return {c.id: followups(as_given(to_domain(rows[c.id]), given_on[c.id]),
                            protocol_of(c).sessions_per_week, rated[c.id], today,
                            given_on=given_on[c.id], not_obtained=not_obtained[c.id],
                            held_from=c.paused_from if c.status == "paused" else None)
            for c in courses}

