"""Treatment courses: creation on an approved plan, pause, resume and stop."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.clinic_time import ClinicZone, Now, Today
from api.course_locks import course_or_404, lock_patient, locked_course_or_404
from api.course_service import (
    READ_ROLES,
    approved_plan_of_patient,
    calendar_from_record,
    calendar_of,
    course_out,
    end_pause,
    enter_hold,
    rules_of,
)
from api.course_sessions import apply_schedule, session_rows, sessions_as_given
from api.deps import DbSession, SessionRoute, require_roles, set_audit_resource
from api.models import Patient
from api.models_course import ClinicCalendarRecord, Course, CourseSession
from api.problems import ProblemError
from api.routes.common import get_or_404, problems
from api.schemas_course import CourseCreate, CourseList, CourseOut, PauseIn, ResumeIn, StopIn
from api.security import Principal
from navsvc.course.calendar import schedule_sessions
from navsvc.course.clinic_days import ClinicCalendar
from navsvc.course.pause import resume_course
from navsvc.course.protocols import custom_protocol, get_protocol
from navsvc.errors import InputError

router = APIRouter(tags=["courses"], route_class=SessionRoute)

SCHEDULERS = ("clinician", "technician")


@router.post("/patients/{patient_id}/courses", status_code=201, response_model=CourseOut,
             summary="Start planning a treatment course", responses=problems(404, 409, 422))
def create_course(
    patient_id: str, body: CourseCreate, request: Request, db: DbSession,
    principal: Annotated[Principal, Depends(require_roles("clinician"))],
) -> CourseOut:
    """Create a course on an approved plan of the patient (clinician). The sessions are
    laid out on the clinic calendar from `start_date` (weekends and closures skipped;
    default 15 sessions, 5 a week). Sessions cannot be logged until the safety
    screening is cleared. A patient has one active or paused course at a time (409).
    The `arm` is never shown to blinded tokens."""
    lock_patient(db, patient_id)
    patient = get_or_404(db, Patient, patient_id, "patient")
    running = db.scalar(select(Course).where(Course.patient_id == patient.id, Course.status != "stopped"))
    if running is not None:
        # two running courses would each allow a session a day: two treatments in one day
        raise ProblemError(409, f"the patient's course {running.id} is {running.status}; stop it "
                                "before starting another")
    plan = approved_plan_of_patient(db, patient, body.plan_id)
    if body.protocol == "custom":
        if body.custom_protocol is None:
            raise ProblemError(422, "custom_protocol: required when protocol is 'custom'")
        protocol = custom_protocol(body.custom_protocol)
    else:
        if body.custom_protocol is not None:
            raise ProblemError(422, "custom_protocol: only with protocol 'custom'")
        protocol = get_protocol(body.protocol)
    calendar_id = body.calendar_id
    if body.calendar_id is not None:
        record = db.get(ClinicCalendarRecord, body.calendar_id)
        if record is None:
            raise ProblemError(422, f"calendar_id: no calendar '{body.calendar_id}'")
        calendar = calendar_from_record(record)
    elif body.calendar is not None:
        calendar = ClinicCalendar(frozenset(body.calendar.working_weekdays),
                                  frozenset(body.calendar.closures))
        record = ClinicCalendarRecord(
            name=body.calendar.name, working_weekdays=sorted(calendar.working_weekdays),
            closures=sorted(d.isoformat() for d in calendar.closures), created_by=principal.name)
        db.add(record)
        try:
            db.flush()
        except IntegrityError:
            raise ProblemError(409, f"a calendar named '{body.calendar.name}' exists; "
                                    "pass its calendar_id") from None
        calendar_id = record.id
    else:
        calendar = ClinicCalendar()
    sessions = schedule_sessions(body.start_date, protocol.n_sessions,
                                 protocol.sessions_per_week, calendar,
                                 protocol.sessions_per_day, protocol.min_interval_minutes)
    course = Course(patient_id=patient.id, plan_id=plan.id, calendar_id=calendar_id,
                    protocol_name=protocol.name, protocol=protocol.summary(), arm=body.arm,
                    start_date=body.start_date, created_by=principal.name)
    db.add(course)
    db.flush()
    db.add_all(CourseSession(course_id=course.id, index=s.index, date=s.date, slot=s.slot,
                             offset_minutes=s.offset_minutes, state=s.state) for s in sessions)
    db.flush()
    set_audit_resource(request, course.id)
    return course_out(db, course, principal)


@router.get("/patients/{patient_id}/courses", response_model=CourseList,
            summary="List a patient's courses", responses=problems(404))
def list_courses(
    patient_id: str, db: DbSession,
    principal: Annotated[Principal, Depends(require_roles(*READ_ROLES))],
) -> CourseList:
    """The patient's courses, oldest first (clinician, technician, auditor)."""
    get_or_404(db, Patient, patient_id, "patient")
    rows = db.scalars(select(Course).where(Course.patient_id == patient_id)
                      .order_by(Course.created_at, Course.id))
    return CourseList(items=[course_out(db, c, principal) for c in rows])


@router.get("/courses/{course_id}", response_model=CourseOut, summary="Get a course",
            responses=problems(404))
def get_course(
    course_id: str, db: DbSession,
    principal: Annotated[Principal, Depends(require_roles(*READ_ROLES))],
) -> CourseOut:
    """A course with its protocol, status, screening decision and open alerts
    (clinician, technician, auditor)."""
    return course_out(db, course_or_404(db, course_id), principal)


@router.post("/courses/{course_id}/pause", response_model=CourseOut, summary="Pause a course",
             responses=problems(404, 409, 422))
def pause_course(
    course_id: str, db: DbSession, today: Today, now: Now,
    principal: Annotated[Principal, Depends(require_roles(*SCHEDULERS))],
    body: PauseIn | None = None,
) -> CourseOut:
    """Hold every planned session from `from_date` (default today, or the start date of a
    course not started yet; not before the start) until the course is
    resumed (clinician, technician). The pause is recorded with its moment
    (`status_changed_at`): a session given before it, that morning say, can still be
    logged; one given after it on a held day is refused, also after the resume."""
    course = locked_course_or_404(db, course_id)
    if course.status != "active":
        raise ProblemError(409, f"course is {course.status}; only an active course can pause")
    if body and body.from_date and body.from_date < course.start_date:
        raise InputError(f"from_date: {body.from_date} is before the course started "
                         f"({course.start_date}); give a day from then on")
    course.status = "paused"
    # a course paused before it starts holds its days from the start
    course.paused_from = body.from_date if body and body.from_date else max(today, course.start_date)
    course.status_note = body.note if body else None
    course.status_changed_at = now
    enter_hold(db, course, "pause", now, course.paused_from)
    return course_out(db, course, principal)


@router.post("/courses/{course_id}/resume", response_model=CourseOut,
             summary="Resume a paused course", responses=problems(404, 409, 422))
def resume(
    course_id: str, db: DbSession, today: Today, now: Now, zone: ClinicZone,
    principal: Annotated[Principal, Depends(require_roles(*SCHEDULERS))],
    body: ResumeIn | None = None,
) -> CourseOut:
    """Move the held sessions, in order, to the clinic days from `resume_on` (default
    today, not before the pause's first day or the course's start; an earlier one is a
    422); the course extends by the length of the pause (clinician, technician)."""
    course = locked_course_or_404(db, course_id)
    if course.status != "paused":
        raise ProblemError(409, f"course is {course.status}, not paused")
    resume_on = (body.resume_on if body and body.resume_on
                 else max(today, course.paused_from, course.start_date))
    if resume_on < course.start_date:
        raise InputError(f"resume_on: {resume_on} is before the course starts ({course.start_date}); "
                         "give a day from then on")
    rows, given = sessions_as_given(db, course.id, zone)
    moved = resume_course(given, course.paused_from, resume_on,
                          calendar_of(db, course), **rules_of(course))
    apply_schedule(db, course.id, rows, moved)
    course.status, course.paused_from, course.status_note = "active", None, None
    course.status_changed_at = now
    end_pause(db, course, now)
    return course_out(db, course, principal)


@router.post("/courses/{course_id}/stop", response_model=CourseOut, summary="Stop a course",
             responses=problems(404, 409, 422))
def stop_course(
    course_id: str, body: StopIn, db: DbSession, now: Now,
    principal: Annotated[Principal, Depends(require_roles("clinician"))],
) -> CourseOut:
    """End the course early (clinician): every planned session becomes `cancelled`; the
    delivered and missed ones stay on record. The stop is recorded with its moment
    (`status_changed_at`): a session given before it can still be logged, and its
    cancelled session becomes done (or incomplete); one given during a pause before it
    stays refused."""
    course = locked_course_or_404(db, course_id)
    if course.status == "stopped":
        raise ProblemError(409, "course is already stopped")
    for row in session_rows(db, course.id):
        if row.state == "planned":
            row.state = "cancelled"
    course.status, course.paused_from, course.status_note = "stopped", None, body.note
    course.status_changed_at = now
    enter_hold(db, course, "stop", now)
    return course_out(db, course, principal)
