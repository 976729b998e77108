"""Targeting jobs: submit a plan request for an image, follow its state."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select, update

from api.deps import DbSession, SessionRoute, require_roles, set_audit_resource
from api.models import Image, Job, utc_now
from api.reads import JOBS, read_connection, row_or_404
from api.routes.common import Limit, Offset, get_or_404, problems
from api.schemas import JobList, JobOut, JobState, PlanRequest
from api.problems import ProblemError
from api.security import Principal
from navsvc.errors import InputError
from navsvc.options import PlanOptions, require_native_target_in_image
from navsvc.target.strategies import STRATEGIES

router = APIRouter(tags=["jobs"], route_class=SessionRoute)
log = logging.getLogger("navsvc.api")

WRITERS = ("clinician", "technician")
READERS = ("clinician", "technician", "auditor")


def job_out(job: Job | tuple) -> JobOut:
    """Render a job record (ORM object or named row) with its links."""
    links = {"self": f"/api/v1/jobs/{job.id}", "image": f"/api/v1/images/{job.image_id}"}
    if job.plan_id:
        links["plan"] = f"/api/v1/plans/{job.plan_id}"
    return JobOut(
        id=job.id, image_id=job.image_id, state=job.state, stage=job.stage, reason=job.reason,
        attempts=job.attempts, plan_id=job.plan_id, options=job.options,
        created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at,
        links=links)


@router.post("/images/{image_id}/plans", status_code=202, response_model=JobOut,
             summary="Request a targeting plan", responses=problems(404, 422, 503))
def request_plan(
    image_id: str, body: PlanRequest, request: Request, response: Response, db: DbSession,
    principal: Annotated[Principal, Depends(require_roles(*WRITERS))],
) -> JobOut:
    """Queue a targeting job for the image (clinician, technician) and answer
    `202 Accepted` with the job; poll `GET /jobs/{id}` (the `Location` header) until
    `state` is `succeeded` (then `plan_id` names the plan) or `failed` (`reason`
    says why). Each request makes a new job and, on success, a new plan. Options the
    engine refuses, among them a `native_ras_mm` outside the image's field of view, are
    refused at once (422) and queue nothing."""
    image = get_or_404(db, Image, image_id, "image")
    if body.mni_mm is None and body.native_ras_mm is None and body.strategy not in STRATEGIES:
        raise ProblemError(422, f"unknown strategy '{body.strategy}'; choose one of "
                                f"{', '.join(STRATEGIES)} or give mni_mm / native_ras_mm")
    if "affine" in image.info:  # recorded at upload since this check exists; for older images the job checks
        try:
            require_native_target_in_image(PlanOptions(**body.model_dump()), image.info["shape"], image.info["affine"])
        except InputError as exc:
            raise ProblemError(422, str(exc)) from None
    job = Job(image_id=image_id, options=body.model_dump(mode="json"), state="queued",
              attempts=0, created_by=principal.name)
    db.add(job)
    db.commit()
    set_audit_resource(request, job.id)
    worker, queue = request.app.state.worker, request.app.state.queue
    if worker is not None:
        worker.wake()
    if queue is not None:
        try:
            queue.submit(job.id)
        except Exception as exc:
            reason = (f"the job queue could not be reached ({type(exc).__name__}); "
                      "submit the plan request again")
            db.execute(update(Job).where(Job.id == job.id, Job.state == "queued")
                       .values(state="failed", reason=reason, finished_at=utc_now()))
            db.commit()
            log.error("job %s not sent to the broker: %s", job.id, exc)
            raise ProblemError(503, reason) from exc
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    return job_out(job)


@router.get("/jobs", response_model=JobList, summary="List jobs", responses=problems(422))
async def list_jobs(
    request: Request, _: Annotated[Principal, Depends(require_roles(*READERS))],
    limit: Limit = 100, offset: Offset = 0,
    state: Annotated[JobState | None, Query(description="Only jobs in this state.")] = None,
    image_id: Annotated[str | None, Query(description="Only jobs of this image.")] = None,
) -> JobList:
    """Jobs, newest first (clinician, technician, auditor)."""
    query = select(JOBS).order_by(JOBS.c.created_at.desc(), JOBS.c.id)
    if state is not None:
        query = query.where(JOBS.c.state == state)
    if image_id is not None:
        query = query.where(JOBS.c.image_id == image_id)
    with read_connection(request) as connection:
        rows = connection.execute(query.limit(limit).offset(offset)).all()
    return JobList(items=[job_out(job) for job in rows], limit=limit, offset=offset)


@router.get("/jobs/{job_id}", response_model=JobOut, summary="Get a job",
            responses=problems(404))
async def get_job(
    job_id: str, request: Request,
    _: Annotated[Principal, Depends(require_roles(*READERS))],
) -> JobOut:
    """A job's state (`queued`, `running` with `stage`, `succeeded` with `plan_id`,
    `failed` with `reason`) and timestamps (clinician, technician, auditor)."""
    return job_out(row_or_404(request, JOBS, job_id, "job"))
