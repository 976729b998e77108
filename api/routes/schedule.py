"""Clinic-wide views: the day's sessions, HAMD-17 ratings due, and the clinic calendars."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from api.clinic_time import ClinicZone, Today, clinic_day
from api.course_followups import followups_of_courses
from api.course_locks import lock_calendar, locked_course_or_404
from api.course_service import READ_ROLES, rules_of
from api.course_sessions import apply_schedule, sessions_as_given
from api.deps import DbSession, SessionRoute, require_roles, set_audit_resource
from api.models import Patient, utc_now
from api.models_course import ClinicCalendarRecord, Course, CourseSession, Delivery
from api.problems import ProblemError
from api.routes.common import get_or_404, problems
from api.schemas import RecordDate
from api.schemas_course import CalendarIn, CalendarOut, CalendarPatch
from api.schemas_rating import DueItem, DueList, Schedule, ScheduleItem
from api.security import Principal
from navsvc.course.calendar import relayout_planned
from navsvc.course.clinic_days import ClinicCalendar
from navsvc.course.pause import held_by_pause

router = APIRouter(tags=["schedule"], route_class=SessionRoute)

CALENDAR_EDITORS = ("admin", "clinician")


@router.get("/schedule", response_model=Schedule, summary="The day's sessions",
            responses=problems(422))
def day_schedule(
    db: DbSession, today: Today, zone: ClinicZone,
    _: Annotated[Principal, Depends(require_roles(*READ_ROLES))],
    day: Annotated[RecordDate | None, Query(alias="date", description="Default today.")] = None,
) -> Schedule:
    """Sessions on one day across patients, in time-slot order, for the technician at
    the workstation (clinician, technician, auditor). Sessions held by a paused course
    and cancelled ones are left out; missed and delivered ones stay, with their state. A
    delivered session is listed on the clinic day it was given (``given_at``), which may
    differ from the day it was scheduled (``scheduled_date``). A session logged late or
    early moves the planned ones after it, so a day lists the session of each course that
    can be logged that day."""
    day = day or today
    listed = select(CourseSession, Course, Patient.external_id, Delivery.performed_at)
    listed = (listed.join(Course, CourseSession.course_id == Course.id)
              .join(Patient, Course.patient_id == Patient.id)
              .outerjoin(Delivery, Delivery.session_id == CourseSession.id))
    # the UTC window holds every moment whose clinic day is ``day``, in any zone
    window_start = datetime.combine(day - timedelta(days=1), time.min, timezone.utc)
    rows = db.execute(listed.where(
        CourseSession.state != "cancelled",
        or_(CourseSession.date == day,
            Delivery.performed_at.between(window_start, window_start + timedelta(days=3))))).all()
    items = [ScheduleItem(
        session_id=s.id, course_id=c.id, patient_id=c.patient_id, patient_external_id=ext,
        index=s.index, slot=s.slot, offset_minutes=s.offset_minutes, state=s.state,
        scheduled_date=s.date, given_at=given_at,
        protocol_name=c.protocol_name, course_status=c.status)
        for s, c, ext, given_at in rows
        if (s.date if given_at is None else clinic_day(given_at, zone)) == day
        and not (c.status == "paused" and s.state == "planned" and held_by_pause(s.date, c.paused_from))]
    items.sort(key=lambda i: (i.slot, i.patient_external_id, i.index))
    return Schedule(date=day, items=items)


@router.get("/assessments/due", response_model=DueList, summary="HAMD-17 ratings due",
            responses=problems(422))
def ratings_due(
    db: DbSession, today: Today, zone: ClinicZone,
    _: Annotated[Principal, Depends(require_roles(*READ_ROLES))],
    day: Annotated[RecordDate | None, Query(alias="date", description="Default today.")] = None,
) -> DueList:
    """Ratings due, overdue or missed on a day across courses, missed then overdue first (clinician,
    technician, auditor): baseline before session 1, week N once the session closing
    treatment week N is delivered (also for a stopped course's weeks), overdue from the
    day the next session is scheduled. A week's rating not taken before the next session
    was given is `missed`, listed first: it can no longer be taken, and stays listed until
    a clinician records it as not obtained (`/courses/{id}/ratings-not-obtained`)."""
    day = day or today
    courses = db.execute(select(Course, Patient.external_id)
                         .join(Patient, Course.patient_id == Patient.id)).all()
    timepoints = followups_of_courses(db, [course for course, _ in courses], day, zone)
    items: list[DueItem] = []
    for course, ext in courses:
        for f in timepoints[course.id]:
            # a stopped course still owes the rating of the weeks it gave, not a baseline
            if course.status == "stopped" and f.after_session_index is None:
                continue
            if f.status in ("due", "overdue", "missed"):
                items.append(DueItem(course_id=course.id, patient_id=course.patient_id,
                                     patient_external_id=ext, timepoint=f.timepoint,
                                     after_session_index=f.after_session_index,
                                     due_on=f.due_on, status=f.status))
    urgency = {"missed": 0, "overdue": 1, "due": 2}
    items.sort(key=lambda i: (urgency[i.status], i.due_on or day, i.patient_external_id))
    return DueList(date=day, items=items)


def calendar_out(record: ClinicCalendarRecord, moved: int = 0) -> CalendarOut:
    """Render a calendar."""
    return CalendarOut(id=record.id, name=record.name, working_weekdays=record.working_weekdays,
                       closures=record.closures, moved_sessions=moved,
                       links={"self": f"/api/v1/calendars/{record.id}"})


@router.post("/calendars", status_code=201, response_model=CalendarOut,
             summary="Create a clinic calendar", responses=problems(409, 422))
def create_calendar(
    body: CalendarIn, request: Request, db: DbSession,
    principal: Annotated[Principal, Depends(require_roles(*CALENDAR_EDITORS))],
) -> CalendarOut:
    """A clinic's working weekdays and closures (admin, clinician); name it in
    `calendar_id` when creating courses."""
    calendar = ClinicCalendar(frozenset(body.working_weekdays), frozenset(body.closures))
    record = ClinicCalendarRecord(name=body.name,
                                  working_weekdays=sorted(calendar.working_weekdays),
                                  closures=sorted(d.isoformat() for d in calendar.closures),
                                  created_by=principal.name)
    db.add(record)
    try:
        db.flush()
    except IntegrityError:
        raise ProblemError(409, f"a calendar named '{body.name}' exists already") from None
    set_audit_resource(request, record.id)
    return calendar_out(record)


@router.get("/calendars/{calendar_id}", response_model=CalendarOut, summary="Get a calendar",
            responses=problems(404))
def get_calendar(
    calendar_id: str, db: DbSession,
    _: Annotated[Principal, Depends(require_roles(*READ_ROLES, "admin"))],
) -> CalendarOut:
    """A clinic calendar."""
    return calendar_out(get_or_404(db, ClinicCalendarRecord, calendar_id, "calendar"))


@router.patch("/calendars/{calendar_id}", response_model=CalendarOut,
              summary="Change a calendar", responses=problems(404, 422))
def patch_calendar(
    calendar_id: str, body: CalendarPatch, db: DbSession, today: Today, zone: ClinicZone,
    _: Annotated[Principal, Depends(require_roles(*CALENDAR_EDITORS))],
) -> CalendarOut:
    """Change working weekdays or closures (admin, clinician): `add_closures` and
    `remove_closures` change the stored list (two changes made at once both apply), or
    `closures` replaces it. Planned sessions of active and paused courses on this calendar that now fall on a closed day move, with the
    sessions after them, to the next clinic days (a paused course's that land on the
    days its pause holds wait for its resume); `moved_sessions` says how many moved. A session given
    on a day closed afterwards (the clinic closed at noon) can still be logged on the day
    it was given."""
    lock_calendar(db, calendar_id)
    record = get_or_404(db, ClinicCalendarRecord, calendar_id, "calendar")
    weekdays = (body.working_weekdays if body.working_weekdays is not None
                else record.working_weekdays)
    if body.closures is not None:
        closures = [d.isoformat() for d in body.closures]
    else:
        removed = {d.isoformat() for d in body.remove_closures}
        closures = sorted((set(record.closures) - removed) | {d.isoformat() for d in body.add_closures})
    calendar = ClinicCalendar(frozenset(weekdays),
                              frozenset(date.fromisoformat(d) for d in closures))
    record.working_weekdays = sorted(calendar.working_weekdays)
    record.closures = sorted(d.isoformat() for d in calendar.closures)
    record.updated_at = utc_now()
    db.flush()  # before the course locks below expire the loaded rows
    moved = 0
    # a paused course still gives its sessions before the pause: they stayed on a closed day
    running = ("active", "paused")
    course_ids = db.scalars(select(Course.id).where(Course.calendar_id == record.id,
                                                    Course.status.in_(running))
                            .order_by(Course.id)).all()
    for course_id in course_ids:
        # a session logged meanwhile is read as given, not moved as planned (in id order:
        # two calendar changes wait on the calendar's lock first, so they cannot deadlock)
        course = locked_course_or_404(db, course_id)
        if course.status not in running:  # stopped meanwhile
            continue
        rows, given = sessions_as_given(db, course.id, zone)
        clashes = [r.date for r in rows if r.state == "planned" and r.date >= today
                   and not calendar.is_clinic_day(r.date)]
        if clashes:
            first = min(clashes)
            relaid = relayout_planned(given, first, first, calendar, **rules_of(course))
            moved += apply_schedule(db, course.id, rows, relaid)
    return calendar_out(record, moved)
