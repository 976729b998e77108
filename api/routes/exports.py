"""Navigator files and the visual QC report of a plan."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response

from api.deps import DbSession, SessionRoute, require_roles
from api.problems import ProblemError
from api.routes.common import problems
from api.routes.plans import READERS, plan_file, visible_plan
from api.security import Principal
from navsvc.export import EXPORT_FORMATS, export_plan

router = APIRouter(tags=["plans"], route_class=SessionRoute)

ExportFormat = Literal[EXPORT_FORMATS]

_FILE = {"description": "The navigator file (attachment): `localite` application/xml, "
                        "`brainsight` text/plain (tab-separated), `simnibs` application/zip, "
                        "`json` application/json.",
         "content": {"application/xml": {}, "text/plain": {}, "application/zip": {},
                     "application/json": {}}}


@router.get("/plans/{plan_id}/exports/{format}", summary="Download a navigator file",
            response_class=Response, responses={200: _FILE, **problems(404, 409, 422)})
def export(
    plan_id: str, format: ExportFormat, db: DbSession,
    principal: Annotated[Principal, Depends(require_roles(*READERS))],
    space: Annotated[Literal["ras", "lps"] | None, Query(
        description="World space of the file: `ras` (navigator project built on the NIfTI "
                    "file) or `lps` (built on the DICOM series). Default: `lps` for a plan "
                    "made from a DICOM upload, `ras` otherwise; `simnibs` is RAS only.")] = None,
) -> Response:
    """The plan's coil pose in a navigation system's format: `json` (navsvc
    integrator JSON), `localite` (TMS Navigator InstrumentMarker XML), `brainsight`
    (targets text file) or `simnibs` (`matsimnibs`). Readers as for the plan, and only
    once a clinician has approved it (409 before): a file a navigation system can load
    never carries a target nobody approved."""
    plan = visible_plan(db, plan_id, principal)
    if plan.approval is None:
        raise ProblemError(409, f"plan '{plan_id}' is not approved: its navigator files are available once "
                                f"a clinician approves it (POST /api/v1/plans/{plan_id}/approval) after "
                                "reviewing its report")
    exported = export_plan(plan.data, format, space=space)
    return Response(exported.content, media_type=exported.media_type, headers={
        "Content-Disposition": f'attachment; filename="{exported.filename}"'})


@router.get("/plans/{plan_id}/report", summary="Open the QC report", response_class=FileResponse,
            responses={200: {"description": "Self-contained HTML report.",
                             "content": {"text/html": {}}}, **problems(404)})
def report(
    plan_id: str, request: Request, db: DbSession,
    principal: Annotated[Principal, Depends(require_roles(*READERS))],
) -> FileResponse:
    """The visual quality-control report (HTML) of the plan: target, scalp entry and
    coil on the patient's own MRI. Readers as for the plan."""
    plan = visible_plan(db, plan_id, principal)
    path = plan_file(request.app.state.storage, plan, "report")
    if not path.is_file():
        raise ProblemError(404, f"plan '{plan_id}' has no report")
    return FileResponse(path, media_type="text/html")
