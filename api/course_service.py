"""Glue between the course tables and the rules of :mod:`navsvc.course`.

Route modules call these helpers to turn rows into the domain's types, apply a rule and
write the result back; no rule is decided here. The clinic's clock is in
:mod:`api.clinic_time`, the row locks in :mod:`api.course_locks`, a course's session rows and
the days they were given in :mod:`api.course_sessions`, when ratings are due in
:mod:`api.course_followups`.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import Image, Patient, Plan
from api.models_course import Alert, ClinicCalendarRecord, Course, CourseHold, Screening
from api.problems import ProblemError
from api.schemas_course import CourseOut, ScreeningStatus
from api.security import Principal
from navsvc.course import screening as screening_rules
from navsvc.course.clinic_days import ClinicCalendar
from navsvc.course.dose import given_intensity_pct_mso
from navsvc.course.protocols import Protocol

#: roles that may read course data (admin manages tokens and audit only)
READ_ROLES = ("clinician", "technician", "auditor")


def course_holds(db: Session, course_id: str) -> list[CourseHold]:
    """The course's pauses and stop, in the order they were entered.

    Parameters
    ----------
    db : Session
        The database session.
    course_id : str
        The course.

    Returns
    -------
    list of CourseHold
        Every hold of the course, ended ones too, by ``entered_at`` (then id); holds whose
        moment is not known (entered before it was recorded) first, on every database.
    """
    return list(db.scalars(select(CourseHold).where(CourseHold.course_id == course_id)
                           .order_by(CourseHold.entered_at.asc().nulls_first(), CourseHold.id)))


def enter_hold(db: Session, course: Course, kind: str, now: datetime, from_date: date | None = None) -> None:
    """Record a pause (holding the days from ``from_date``) or the stop of ``course``, entered
    at ``now``; a stop ends a pause that is in force.

    Parameters
    ----------
    db : Session
        The request's database session; the hold is added to it.
    course : Course
        The course paused or stopped.
    kind : str
        ``"pause"`` or ``"stop"``.
    now : datetime.datetime
        The moment it is entered (aware).
    from_date : datetime.date, optional
        The first day a pause holds (the course's ``paused_from``); None for a stop.
    """
    if kind == "stop":
        end_pause(db, course, now)
    db.add(CourseHold(course_id=course.id, kind=kind, entered_at=now, from_date=from_date))


def end_pause(db: Session, course: Course, now: datetime) -> None:
    """End the pause of ``course`` that is in force (a resume, or a stop), at ``now``.

    Parameters
    ----------
    db : Session
        The request's database session.
    course : Course
        The course resumed or stopped.
    now : datetime.datetime
        The moment the pause ends (aware), stored as its ``ended_at``.
    """
    for hold in course_holds(db, course.id):
        if hold.kind == "pause" and hold.ended_at is None:
            hold.ended_at = now


def calendar_of(db: Session, course: Course) -> ClinicCalendar:
    """Return the clinic calendar of ``course`` (Monday-Friday when it names none).

    Parameters
    ----------
    db : Session
        The database session.
    course : Course
        The course; its ``calendar_id`` names its calendar, if any.

    Returns
    -------
    ClinicCalendar
        The stored calendar's working weekdays and closures, or Monday-Friday without
        closures.
    """
    if course.calendar_id is None:
        return ClinicCalendar()
    return calendar_from_record(db.get(ClinicCalendarRecord, course.calendar_id))


def calendar_from_record(record: ClinicCalendarRecord) -> ClinicCalendar:
    """Build the domain calendar from a stored one."""
    return ClinicCalendar(frozenset(record.working_weekdays),
                          frozenset(date.fromisoformat(d) for d in record.closures))


def protocol_of(course: Course) -> Protocol:
    """Return the protocol the course was created with (without the rules for new protocols,
    :data:`navsvc.course.protocols.NEW_PROTOCOL`: a stored course keeps reading)."""
    return Protocol.model_validate({k: v for k, v in course.protocol.items()
                                    if k in Protocol.model_fields})


def recorded_dose(dose: dict, depth_adjusted: bool) -> dict:
    """A delivery's stored dose with the fields a dose records today: a delivery logged
    before its dose said which intensity the session gave gets ``depth_adjusted`` (the
    course protocol's) and ``given_intensity_pct_mso`` derived by the same rule
    (:func:`navsvc.course.dose.given_intensity_pct_mso`).

    Parameters
    ----------
    dose : dict
        The delivery's stored dose (``deliveries.dose``, intensities in %MSO); it holds
        ``intensity_pct_mso``.
    depth_adjusted : bool
        Whether the course's protocol gives the depth-adjusted intensity.

    Returns
    -------
    dict
        ``dose`` itself when it records ``given_intensity_pct_mso``, else a copy with
        ``depth_adjusted`` (the stored one, if any) and ``given_intensity_pct_mso`` (%MSO)
        derived from that same flag.
    """
    if dose.get("given_intensity_pct_mso") is not None:
        return dose
    adjusted = dose.get("depth_adjusted", depth_adjusted)  # the flag stored, when there is one
    return {**dose, "depth_adjusted": adjusted,
            "given_intensity_pct_mso": given_intensity_pct_mso(
                dose["intensity_pct_mso"], dose.get("adjusted_intensity_pct_mso"), adjusted)}


def rules_of(course: Course) -> dict:
    """Keyword arguments of the scheduling functions for this course's protocol."""
    protocol = protocol_of(course)
    return {"per_week": protocol.sessions_per_week,
            "sessions_per_day": protocol.sessions_per_day,
            "min_interval_minutes": protocol.min_interval_minutes}


def screening_status(db: Session, course_id: str) -> ScreeningStatus:
    """Apply the screening rule to the course's stored screening.

    Parameters
    ----------
    db : Session
        The database session.
    course_id : str
        The course.

    Returns
    -------
    ScreeningStatus
        Whether the course may start; not cleared, with the reason, when no screening is
        recorded.
    """
    record = db.scalar(select(Screening).where(Screening.course_id == course_id))
    decision = screening_rules.decide(record.answers if record else None,
                                      record.override_items if record else ())
    return ScreeningStatus(cleared=decision.cleared, reason=decision.reason,
                           blocking_items=list(decision.blocking_items))


def open_alerts(db: Session, course_id: str, kind: str | None = None) -> list[Alert]:
    """Return the course's unacknowledged alerts, oldest first.

    Parameters
    ----------
    db : Session
        The database session.
    course_id : str
        The course.
    kind : str, optional
        Only alerts of this kind (``"seizure"``, ``"suicide_item"``, ...); None: every kind.

    Returns
    -------
    list of Alert
    """
    query = select(Alert).where(Alert.course_id == course_id, Alert.acknowledged_at.is_(None))
    if kind is not None:
        query = query.where(Alert.kind == kind)
    return list(db.scalars(query.order_by(Alert.created_at)))


def course_out(db: Session, course: Course, principal: Principal) -> CourseOut:
    """Render a course; the arm is left out for blinded tokens.

    Parameters
    ----------
    db : Session
        The database session (read for the screening status and the open alerts).
    course : Course
        The course.
    principal : Principal
        The caller; a blinded one gets ``arm`` null and ``arm_hidden`` true.

    Returns
    -------
    CourseOut
    """
    base = f"/api/v1/courses/{course.id}"
    return CourseOut(
        id=course.id, patient_id=course.patient_id, plan_id=course.plan_id,
        protocol_name=course.protocol_name, protocol=course.protocol,
        arm=None if principal.blinded else course.arm, arm_hidden=principal.blinded,
        start_date=course.start_date, calendar_id=course.calendar_id, status=course.status,
        paused_from=course.paused_from, status_note=course.status_note,
        status_changed_at=course.status_changed_at,
        screening=screening_status(db, course.id), open_alerts=len(open_alerts(db, course.id)),
        created_at=course.created_at, created_by=course.created_by,
        links={"self": base, "sessions": f"{base}/sessions", "assessments": f"{base}/assessments",
               "screening": f"{base}/screening", "alerts": f"{base}/alerts",
               "summary": f"{base}/summary", "summary_png": f"{base}/summary.png",
               "summary_csv": f"{base}/summary.csv", "plan": f"/api/v1/plans/{course.plan_id}"})


def approved_plan_of_patient(db: Session, patient: Patient, plan_id: str) -> Plan:
    """Return the plan if it belongs to ``patient`` and is approved; else 422 or 409.

    Parameters
    ----------
    db : Session
        The database session.
    patient : Patient
        The patient the course is for.
    plan_id : str
        The plan named in the request.

    Returns
    -------
    Plan

    Raises
    ------
    ProblemError
        422 when there is no plan with this id or it is another patient's; 409 when it is
        not approved.
    """
    plan = db.get(Plan, plan_id)
    if plan is None or db.get(Image, plan.image_id).patient_id != patient.id:
        raise ProblemError(422, f"plan_id: no plan '{plan_id}' of this patient")
    if plan.approval is None:
        raise ProblemError(409, f"plan '{plan_id}' is not approved; a clinician approves it "
                                f"with POST /api/v1/plans/{plan_id}/approval first")
    return plan


