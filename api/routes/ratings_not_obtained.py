"""Ratings not obtained: a clinician records that a baseline or week rating of a course will
not be taken, and why, so it stops being due or overdue (a stopped course's unrated weeks
stayed overdue for ever); a record made in error is withdrawn, and kept."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from api.clinic_time import ClinicZone, Now, Today
from api.course_followups import course_followups
from api.course_locks import course_or_404, locked_course_or_404
from api.course_service import READ_ROLES
from api.deps import DbSession, SessionRoute, require_roles, set_audit_resource
from api.models_course import RatingNotObtained
from api.problems import ProblemError
from api.routes.common import get_or_404, problems
from api.schemas_rating import NotObtainedIn, NotObtainedList, NotObtainedOut, WithdrawalIn
from api.security import Principal
from navsvc.errors import InputError

router = APIRouter(tags=["assessments"], route_class=SessionRoute)


def _out(record: RatingNotObtained) -> NotObtainedOut:
    base = f"/api/v1/courses/{record.course_id}/ratings-not-obtained/{record.id}"
    return NotObtainedOut(id=record.id, course_id=record.course_id, timepoint=record.timepoint,
                          reason=record.reason, recorded_at=record.recorded_at,
                          recorded_by=record.recorded_by, withdrawn_at=record.withdrawn_at,
                          withdrawn_by=record.withdrawn_by, withdrawal_reason=record.withdrawal_reason,
                          links={} if record.withdrawn_at else {"withdraw": f"{base}/withdrawal"})


@router.post("/courses/{course_id}/ratings-not-obtained", status_code=201,
             response_model=NotObtainedOut, summary="Record a rating as not obtained",
             responses=problems(404, 409, 422))
def record_not_obtained(
    course_id: str, body: NotObtainedIn, request: Request, db: DbSession, today: Today,
    zone: ClinicZone, principal: Annotated[Principal, Depends(require_roles("clinician"))],
) -> NotObtainedOut:
    """Record that the course's baseline or week-N rating will not be taken, and why
    (clinician): the timepoint shows `not_obtained` and leaves the ratings due. Only a
    timepoint that is `due`, `overdue` or `missed` can be recorded: a week still to come stays due
    when it comes (422; a stopped course's weeks end with its last session given). A
    timepoint already rated, or already recorded, is a 409; a week the course does not
    have a 422. A rating taken after all is still accepted and makes the timepoint `done`;
    a record made in error is withdrawn (`links.withdraw`)."""
    course = locked_course_or_404(db, course_id)
    timepoints = {f.timepoint: f for f in course_followups(db, course, today, zone)}
    followup = timepoints.get(body.timepoint)
    if followup is None:
        weeks = len(timepoints) - 1
        raise InputError(f"timepoint: this course has a baseline and treatment weeks 1-{weeks}" if weeks else
                         "timepoint: this course has a baseline only (no session was given before it stopped)")
    if followup.status == "done":
        raise ProblemError(409, f"the {body.timepoint} rating was taken; it cannot be recorded "
                                "as not obtained")
    if followup.status == "not_obtained":
        raise ProblemError(409, f"the {body.timepoint} rating is already recorded as not obtained")
    if followup.status == "upcoming":  # a stopped course has none: its weeks end with the last session given
        raise InputError(f"timepoint: the {body.timepoint} rating is not due yet (it is due after "
                         f"session {followup.after_session_index}); record it as not obtained once "
                         "it is due")
    record = RatingNotObtained(course_id=course.id, timepoint=body.timepoint, reason=body.reason,
                               recorded_by=principal.name)
    db.add(record)
    db.flush()
    set_audit_resource(request, record.id)
    return _out(record)


@router.post("/courses/{course_id}/ratings-not-obtained/{record_id}/withdrawal",
             response_model=NotObtainedOut, summary="Withdraw a rating recorded as not obtained",
             responses=problems(404, 409, 422))
def withdraw_not_obtained(
    course_id: str, record_id: str, body: WithdrawalIn, request: Request, db: DbSession, now: Now,
    principal: Annotated[Principal, Depends(require_roles("clinician"))],
) -> NotObtainedOut:
    """Withdraw a record made in error, saying why (clinician): the timepoint is due again
    (or overdue); the record stays listed with who withdrew it, when and why. A record
    already withdrawn is a 409."""
    course = locked_course_or_404(db, course_id)
    record = get_or_404(db, RatingNotObtained, record_id, "record of a rating not obtained")
    if record.course_id != course.id:
        raise ProblemError(404, f"no record '{record_id}' of a rating not obtained in this course")
    if record.withdrawn_at is not None:
        raise ProblemError(409, f"the record was withdrawn by {record.withdrawn_by} at "
                                f"{record.withdrawn_at.isoformat()}")
    record.withdrawn_at, record.withdrawn_by, record.withdrawal_reason = now, principal.name, body.reason
    db.flush()
    set_audit_resource(request, record.id)
    return _out(record)


@router.get("/courses/{course_id}/ratings-not-obtained", response_model=NotObtainedList,
            summary="List a course's ratings not obtained", responses=problems(404))
def list_not_obtained(
    course_id: str, db: DbSession, _: Annotated[Principal, Depends(require_roles(*READ_ROLES))],
) -> NotObtainedList:
    """The course's baseline and week ratings recorded as not obtained, withdrawn records
    included, with who recorded (and withdrew) them, when and why (clinician, technician,
    auditor)."""
    course = course_or_404(db, course_id)
    records = db.scalars(select(RatingNotObtained).where(RatingNotObtained.course_id == course.id)
                         .order_by(RatingNotObtained.recorded_at, RatingNotObtained.timepoint))
    return NotObtainedList(items=[_out(r) for r in records])
