"""Plans (immutable once made) and their approval by a clinician."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.deps import DbSession, SessionRoute, require_roles, set_audit_resource
from api.models import Approval, Image, Plan
from api.problems import ProblemError
from api.routes.common import Limit, Offset, problems
from api.schemas import ApprovalIn, ApprovalOut, PlanList, PlanOut
from api.security import Principal

router = APIRouter(tags=["plans"], route_class=SessionRoute)

READERS = ("clinician", "technician", "auditor", "navigator")
EXPORT_NAMES = ("json", "localite", "brainsight", "simnibs")


def approval_out(approval: Approval) -> ApprovalOut:
    """Render an approval."""
    return ApprovalOut(id=approval.id, plan_id=approval.plan_id,
                       approved_by=approval.approved_by, approved_at=approval.approved_at,
                       note=approval.note)


def plan_out(plan: Plan, patient_id: str) -> PlanOut:
    """Render a plan record with its approval and links."""
    base = f"/api/v1/plans/{plan.id}"
    links = {"self": base, "report": f"{base}/report", "job": f"/api/v1/jobs/{plan.job_id}",
             "image": f"/api/v1/images/{plan.image_id}"}
    links.update({name: f"{base}/exports/{name}" for name in EXPORT_NAMES})
    return PlanOut(id=plan.id, image_id=plan.image_id, patient_id=patient_id,
                   job_id=plan.job_id, created_at=plan.created_at,
                   approval=approval_out(plan.approval) if plan.approval else None,
                   plan=plan.data, links=links)


def visible_plan(db: Session, plan_id: str, principal: Principal) -> tuple[Plan, str]:
    """Return the plan and its patient id, as far as ``principal`` may see it.

    A navigator sees approved plans only; for it an unapproved plan is answered
    exactly like a missing one.

    Raises
    ------
    ProblemError
        404 when missing or not visible.
    """
    if "\x00" in plan_id:
        raise ProblemError(404, "no plan with this id")
    row = db.execute(select(Plan, Image.patient_id).join(Image, Plan.image_id == Image.id)
                     .where(Plan.id == plan_id)).first()
    if row is None or (principal.role == "navigator" and row[0].approval is None):
        raise ProblemError(404, f"no plan with id '{plan_id}'")
    return row[0], row[1]


@router.get("/plans", response_model=PlanList, summary="List plans", responses=problems(422))
def list_plans(
    db: DbSession, principal: Annotated[Principal, Depends(require_roles(*READERS))],
    limit: Limit = 100, offset: Offset = 0,
    image_id: Annotated[str | None, Query(description="Only plans of this image.")] = None,
    patient_id: Annotated[str | None, Query(description="Only plans of this patient.")] = None,
    approved: Annotated[bool | None, Query(description="Only (un)approved plans.")] = None,
) -> PlanList:
    """Plans, newest first (clinician, technician, auditor; a navigator sees only
    approved plans)."""
    query = (select(Plan, Image.patient_id).join(Image, Plan.image_id == Image.id)
             .outerjoin(Approval, Approval.plan_id == Plan.id)
             .order_by(Plan.created_at.desc(), Plan.id))
    if principal.role == "navigator" or approved is True:
        query = query.where(Approval.id.is_not(None))
    elif approved is False:
        query = query.where(Approval.id.is_(None))
    if image_id is not None:
        query = query.where(Plan.image_id == image_id)
    if patient_id is not None:
        query = query.where(Image.patient_id == patient_id)
    rows = db.execute(query.limit(limit).offset(offset)).all()
    return PlanList(items=[plan_out(plan, pid) for plan, pid in rows], limit=limit,
                    offset=offset)


@router.get("/plans/{plan_id}", response_model=PlanOut, summary="Get a plan",
            responses=problems(404))
def get_plan(
    plan_id: str, db: DbSession,
    principal: Annotated[Principal, Depends(require_roles(*READERS))],
) -> PlanOut:
    """The plan JSON with its approval (clinician, technician, auditor; navigator:
    approved plans only)."""
    plan, patient_id = visible_plan(db, plan_id, principal)
    return plan_out(plan, patient_id)


@router.post("/plans/{plan_id}/approval", status_code=201, response_model=ApprovalOut,
             summary="Approve a plan", responses=problems(404, 409, 422))
def approve_plan(
    plan_id: str, request: Request, db: DbSession,
    principal: Annotated[Principal, Depends(require_roles("clinician"))],
    body: ApprovalIn | None = None,
) -> ApprovalOut:
    """Approve the plan for treatment (clinician only); who and when are recorded.
    A plan is approved once (409 afterwards) and never changes; only an approved
    plan can be used by a treatment course or seen by a navigation system."""
    plan, _ = visible_plan(db, plan_id, principal)
    if plan.approval is not None:
        raise ProblemError(409, f"plan '{plan_id}' was already approved by "
                                f"{plan.approval.approved_by}")
    approval = Approval(plan_id=plan.id, approved_by=principal.name,
                        note=body.note if body else None)
    db.add(approval)
    try:
        db.flush()
    except IntegrityError:
        raise ProblemError(409, f"plan '{plan_id}' was already approved") from None
    set_audit_resource(request, plan.id)
    return approval_out(approval)
