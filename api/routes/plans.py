"""Plans (immutable once made) and their approval by a clinician."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.deps import DbSession, SessionRoute, require_roles, set_audit_resource
from api.models import Approval, Plan
from api.problems import ProblemError
from api.reads import (
    APPROVALS,
    IMAGES,
    PLAN_BY_ID,
    PLAN_ROWS,
    PLANS,
    fetch_rows,
    read_connection,
)
from api.routes.common import Limit, Offset, get_or_404, problems
from api.schemas import ApprovalIn, ApprovalOut, PlanList, PlanOut
from api.security import Principal
from api.storage import Storage
from navsvc.export import EXPORT_FORMATS
from navsvc.plan_files import PLAN_FILENAME, REPORT_FILENAME

router = APIRouter(tags=["plans"], route_class=SessionRoute)

READERS = ("clinician", "technician", "auditor", "navigator")
#: the files every plan has in its result folder, by their key in the plan's ``files``
_DEFAULT_FILES = {"report": REPORT_FILENAME, "plan": PLAN_FILENAME}


def approval_out(approval: Approval) -> ApprovalOut:
    """Render an approval."""
    return ApprovalOut(id=approval.id, plan_id=approval.plan_id,
                       approved_by=approval.approved_by, approved_at=approval.approved_at,
                       note=approval.note)


def plan_out(row: Row | tuple) -> PlanOut:
    """Render a plan row of :data:`~api.reads.PLAN_ROWS` with its approval and links."""
    base = f"/api/v1/plans/{row.id}"
    links = {"self": base, "report": f"{base}/report", "job": f"/api/v1/jobs/{row.job_id}",
             "image": f"/api/v1/images/{row.image_id}"}
    links.update({name: f"{base}/exports/{name}" for name in EXPORT_FORMATS})
    approval = None if row.approval_id is None else ApprovalOut(
        id=row.approval_id, plan_id=row.id, approved_by=row.approved_by,
        approved_at=row.approved_at, note=row.note)
    return PlanOut(id=row.id, image_id=row.image_id, patient_id=row.patient_id,
                   job_id=row.job_id, created_at=row.created_at, approval=approval,
                   plan=row.data, links=links)


def plan_file(storage: Storage, plan: Plan, kind: str) -> Path:
    """Return the path of the plan's ``report`` or ``plan`` (JSON) file.

    The names are those the plan lists under ``files`` (by default ``report.html`` and
    ``plan.json``), looked up in the plan's result folder only.
    """
    name = (plan.data.get("files") or {}).get(kind) or _DEFAULT_FILES[kind]
    return storage.absolute(plan.result_dir) / Path(str(name)).name


def missing_files(storage: Storage, plan: Plan) -> list[str]:
    """Names of the plan's report and plan files that are not in its result folder."""
    return [path.name for path in (plan_file(storage, plan, kind) for kind in _DEFAULT_FILES)
            if not path.is_file()]


def hidden_from(principal: Principal, approved: bool) -> bool:
    """Whether a plan is invisible to ``principal`` (a navigator sees approved plans only)."""
    return principal.role == "navigator" and not approved


def visible_plan(db: Session, plan_id: str, principal: Principal) -> Plan:
    """Return the plan, as far as ``principal`` may see it.

    A navigator sees approved plans only; for it an unapproved plan is answered
    exactly like a missing one.

    Raises
    ------
    ProblemError
        404 when missing or not visible.
    """
    if "\x00" in plan_id:
        raise ProblemError(404, "no plan with this id")
    plan = get_or_404(db, Plan, plan_id, "plan")
    if hidden_from(principal, approved=plan.approval is not None):
        raise ProblemError(404, f"no plan with id '{plan_id}'")  # as for a missing plan
    return plan


@router.get("/plans", response_model=PlanList, summary="List plans", responses=problems(422))
async def list_plans(
    request: Request, principal: Annotated[Principal, Depends(require_roles(*READERS))],
    limit: Limit = 100, offset: Offset = 0,
    image_id: Annotated[str | None, Query(description="Only plans of this image.")] = None,
    patient_id: Annotated[str | None, Query(description="Only plans of this patient.")] = None,
    approved: Annotated[bool | None, Query(description="Only (un)approved plans.")] = None,
) -> PlanList:
    """Plans, newest first (clinician, technician, auditor; a navigator sees only
    approved plans)."""
    query = PLAN_ROWS.order_by(PLANS.c.created_at.desc(), PLANS.c.id)
    if principal.role == "navigator" or approved is True:
        query = query.where(APPROVALS.c.id.is_not(None))
    if approved is False:  # a navigator's answer is empty: it sees no unapproved plan
        query = query.where(APPROVALS.c.id.is_(None))
    if image_id is not None:
        query = query.where(PLANS.c.image_id == image_id)
    if patient_id is not None:
        query = query.where(IMAGES.c.patient_id == patient_id)
    if patient_id is not None or image_id is not None:  # whose plans were read, for the audit trail
        set_audit_resource(request, patient_id if patient_id is not None else image_id)
    with read_connection(request) as connection:
        rows = connection.execute(query.limit(limit).offset(offset)).all()
    return PlanList(items=[plan_out(row) for row in rows], limit=limit, offset=offset)


@router.get("/plans/{plan_id}", response_model=PlanOut, summary="Get a plan",
            responses=problems(404))
async def get_plan(
    plan_id: str, request: Request,
    principal: Annotated[Principal, Depends(require_roles(*READERS))],
) -> PlanOut:
    """The plan JSON with its approval (clinician, technician, auditor; navigator:
    approved plans only)."""
    rows = fetch_rows(request, PLAN_BY_ID, plan_id=plan_id)
    row = rows[0] if rows else None
    if row is None or hidden_from(principal, approved=row.approval_id is not None):
        raise ProblemError(404, f"no plan with id '{plan_id}'")
    return plan_out(row)


@router.post("/plans/{plan_id}/approval", status_code=201, response_model=ApprovalOut,
             summary="Approve a plan", responses=problems(404, 409, 422))
def approve_plan(
    plan_id: str, request: Request, db: DbSession,
    principal: Annotated[Principal, Depends(require_roles("clinician"))],
    body: ApprovalIn | None = None,
) -> ApprovalOut:
    """Approve the plan for treatment (clinician only); who and when are recorded.
    A plan is approved once (409 afterwards) and never changes; only an approved
    plan can be used by a treatment course or seen by a navigation system. A plan
    whose QC report or plan file is missing from the data folder cannot be approved
    (409)."""
    plan = visible_plan(db, plan_id, principal)
    if plan.approval is not None:
        raise ProblemError(409, f"plan '{plan_id}' was already approved by "
                                f"{plan.approval.approved_by}")
    missing = missing_files(request.app.state.storage, plan)
    if missing:
        raise ProblemError(409, f"plan '{plan_id}' cannot be approved: files missing from "
                                f"its result folder ({', '.join(missing)}); request a new "
                                "plan")
    approval = Approval(plan_id=plan.id, approved_by=principal.name,
                        note=body.note if body else None)
    db.add(approval)
    try:
        db.flush()
    except IntegrityError:
        raise ProblemError(409, f"plan '{plan_id}' was already approved") from None
    set_audit_resource(request, plan.id)
    return approval_out(approval)
