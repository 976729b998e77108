"""The pre-course TMS safety screening and the clinician's override."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from api.course_locks import course_or_404, locked_course_or_404
from api.course_service import READ_ROLES, screening_status
from api.deps import DbSession, SessionRoute, require_roles, set_audit_resource
from api.models import utc_now
from api.models_course import Screening
from api.problems import ProblemError
from api.routes.common import problems
from api.schemas_screening import (
    OverrideIn,
    Questionnaire,
    ScreeningIn,
    ScreeningOut,
    ScreeningQuestion,
)
from api.security import ROLES, Principal
from navsvc.course import screening as rules

router = APIRouter(tags=["screening"], route_class=SessionRoute)

SOURCE = ("Rossi et al. 2009 Clin Neurophysiol 120:2008 (section 7.5), updated by Rossi et al. "
          "2011 Clin Neurophysiol 122:1686; IFCN guidelines, Rossi et al. 2021 Clin "
          "Neurophysiol 132:269")


def screening_out(db, record: Screening) -> ScreeningOut:
    """Render a screening with the current decision."""
    return ScreeningOut(
        course_id=record.course_id, answers=record.answers, notes=record.notes,
        screened_at=record.screened_at, screened_by=record.screened_by,
        status=screening_status(db, record.course_id), override_items=record.override_items,
        override_reason=record.override_reason, override_by=record.override_by,
        override_at=record.override_at)


def _changeable_course(db, course_id: str):
    """The course, locked against a new screening or override at once; 409 when it is
    stopped: its screening is the record its sessions were given under."""
    course = locked_course_or_404(db, course_id)
    if course.status == "stopped":
        raise ProblemError(409, "the course is stopped: its safety screening is the record its sessions "
                                "were given under and is not changed; screen the patient for a new course")
    return course


def _record(db, course_id: str) -> Screening | None:
    return db.scalar(select(Screening).where(Screening.course_id == course_id))


@router.get("/screening/questionnaire", response_model=Questionnaire,
            summary="The TMS safety questionnaire", responses=problems())
def questionnaire(_: Annotated[Principal, Depends(require_roles(*ROLES))]) -> Questionnaire:
    """The items to answer before a course (any role). `absolute` and `contraindication`
    items answered yes block the course until a clinician overrides them; `information`
    items are recorded only."""
    return Questionnaire(source=SOURCE, items=[
        ScreeningQuestion(key=i.key, question=i.question, kind=i.kind) for i in rules.ITEMS])


@router.put("/courses/{course_id}/screening", response_model=ScreeningOut,
            summary="Record the safety screening", responses=problems(404, 409, 422))
def record_screening(
    course_id: str, body: ScreeningIn, request: Request, db: DbSession,
    principal: Annotated[Principal, Depends(require_roles("clinician", "technician"))],
) -> ScreeningOut:
    """Store the answer to every questionnaire item (clinician, technician). A new
    screening replaces the previous one and drops its override: changed answers need a
    new clinical decision. A stopped course's screening is the record its sessions were
    given under, and is not replaced (409)."""
    course = _changeable_course(db, course_id)
    answers = rules.validate_answers(body.answers)
    record = _record(db, course.id)
    if record is None:
        record = Screening(course_id=course.id, answers=answers, screened_by=principal.name)
        db.add(record)
    record.answers, record.notes = answers, body.notes
    record.screened_by, record.screened_at = principal.name, utc_now()
    record.override_items, record.override_reason = [], None
    record.override_by = record.override_at = None
    db.flush()
    set_audit_resource(request, course.id)
    return screening_out(db, record)


@router.get("/courses/{course_id}/screening", response_model=ScreeningOut,
            summary="Get the safety screening", responses=problems(404))
def get_screening(
    course_id: str, db: DbSession,
    _: Annotated[Principal, Depends(require_roles(*READ_ROLES))],
) -> ScreeningOut:
    """The answers, any override and whether the course may start."""
    course_or_404(db, course_id)
    record = _record(db, course_id)
    if record is None:
        raise ProblemError(404, "no safety screening is recorded for this course")
    return screening_out(db, record)


@router.post("/courses/{course_id}/screening/override", response_model=ScreeningOut,
             summary="Override contraindications", responses=problems(404, 409, 422))
def override_screening(
    course_id: str, body: OverrideIn, db: DbSession,
    principal: Annotated[Principal, Depends(require_roles("clinician"))],
) -> ScreeningOut:
    """A clinician documents that the benefit outweighs the risk of the named items
    answered yes (Rossi et al.: the responsible physician weighs each positive answer);
    who, when and why are recorded. A stopped course's screening is not changed (409)."""
    _changeable_course(db, course_id)
    record = _record(db, course_id)
    if record is None:
        raise ProblemError(409, "record the safety screening before overriding it")
    items = rules.check_override(record.answers, body.items, body.reason)
    record.override_items = sorted(set(record.override_items) | set(items))
    record.override_reason, record.override_by = body.reason, principal.name
    record.override_at = utc_now()
    db.flush()
    return screening_out(db, record)
