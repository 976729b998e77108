"""Liveness and readiness probes (no token needed)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import SessionRoute
from api.jobs.embedded import heartbeat_is_fresh
from api.schemas import Health

PREFIX = ""
router = APIRouter(tags=["health"], route_class=SessionRoute)


@router.get("/healthz", response_model=Health, summary="Liveness")
def healthz() -> Health:
    """Answers 200 while the process serves HTTP."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, summary="Readiness",
            responses={503: {"model": Health,
                             "description": "Database, worker or broker down."}})
def readyz(request: Request):
    """Answers 200 when the database is reachable and the embedded job worker (if
    enabled; with `navsvc serve --workers N` the one in the supervising process) is
    alive, or, with a job queue (`NAVSVC_BROKER_URL`), the broker answers; 503
    otherwise, with the failing check named."""
    checks = {"database": "ok" if request.app.state.db.ping() else "unreachable"}
    worker = request.app.state.worker
    settings = request.app.state.settings
    if worker is not None:
        checks["worker"] = "ok" if worker.alive() else "stopped"
    elif settings.worker_heartbeat_file is not None and not settings.broker_url:
        checks["worker"] = "ok" if heartbeat_is_fresh(settings) else "stopped"
    queue = request.app.state.queue
    if queue is not None:
        checks["broker"] = "ok" if queue.broker_reachable() else "unreachable"
    if all(value == "ok" for value in checks.values()):
        return Health(status="ok", checks=checks)
    return JSONResponse(Health(status="unavailable", checks=checks).model_dump(),
                        status_code=503)
