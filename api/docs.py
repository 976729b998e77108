"""Offline API documentation: Swagger UI and ReDoc from assets in ``api/static``.

FastAPI's default pages load their JavaScript from a CDN and stay blank on a clinic
network without internet; these pages load nothing from outside the service.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"

DESCRIPTION = """
MRI-neuronavigated rTMS targeting for depression clinics: upload a patient's T1,
get the individualized left-DLPFC target, scalp entry and coil pose, and download
them for your neuronavigation system.

## Getting started

1. **Create a token** on the server (printed once; keep it secret):

       navsvc admin create-token --role technician --name ws-room-2

   Click **Authorize** above and paste it, or send `Authorization: Bearer nsv_...`.
2. **Register the patient**: `POST /api/v1/patients` with `{"external_id": "MRN-0042"}`.
3. **Upload the T1** (NIfTI or a DICOM series as .zip):

       curl -H "Authorization: Bearer $TOKEN" -F file=@t1.nii.gz \\
            http://127.0.0.1:8000/api/v1/patients/$PATIENT/images

   A .zip of a whole study is refused naming its image series; add `?series=` with the
   T1's series number (or UID) and only that series is stored.

4. **Plan**: `POST /api/v1/images/$IMAGE/plans` with `{"strategy": "fox2012"}` answers
   `202` with a job; poll `GET /api/v1/jobs/$JOB` until `state` is `succeeded`
   (about half a minute) and read `plan_id`.
5. **Review and approve**: open `GET /api/v1/plans/$PLAN/report`; a clinician
   approves with `POST /api/v1/plans/$PLAN/approval`.
6. **Fetch the Localite file**:

       curl -H "Authorization: Bearer $TOKEN" -o plan.xml \\
            http://127.0.0.1:8000/api/v1/plans/$PLAN/exports/localite

## Roles
`admin` (audit trail, clinic calendars; tokens via the `navsvc admin` command), `clinician` (everything
clinical, approves plans, amends ratings), `technician` (register, upload, plan; screening, session logs, ratings; navigator files
of approved plans), `navigator` (approved
plans and their exports; logs deliveries, and reads session logs without side effects
and notes), `auditor` (read-only, audit trail included).

## Errors
Every error is a problem-details object (`type`, `title`, `status`, `detail`).
"""

TAGS = [
    {"name": "patients", "description": "Patients and their clinic identifiers."},
    {"name": "images", "description": "T1 uploads: validated, de-identified, stored."},
    {"name": "jobs", "description": "Targeting jobs run by the service's worker."},
    {"name": "plans", "description": "Plans, approval, navigator exports, QC report."},
    {"name": "audit", "description": "Who read or changed which patient record."},
    {"name": "tokens", "description": "The caller's token."},
    {"name": "health", "description": "Liveness and readiness probes (no token)."},
]


def _openapi_with_problems(app: FastAPI):
    """Return an ``openapi()`` that documents validation errors as problem details.

    FastAPI describes 422 with its own ``HTTPValidationError`` schema, but this
    service answers every error, 422 included, with :class:`~api.schemas.Problem`; and
    every operation with a JSON body answers 415 to a body sent as another media type.
    """
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        problem = {"$ref": "#/components/schemas/Problem"}
        for operation in (op for item in document["paths"].values() for op in item.values()):
            response = operation.get("responses", {}).get("422")
            if response is not None:
                response["description"] = "Invalid input; `errors` lists the fields."
                response["content"] = {"application/problem+json": {"schema": problem}}
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                operation["responses"].setdefault("415", {
                    "description": "The body was not sent as JSON (Content-Type: application/json).",
                    "content": {"application/problem+json": {"schema": problem}}})
            for status, response in operation.get("responses", {}).items():
                if status != "200" and "application/json" in response.get("content", {}) \
                        and response["content"]["application/json"].get("schema") == problem:
                    response["content"] = {"application/problem+json": {"schema": problem}}
        for unused in ("HTTPValidationError", "ValidationError"):
            document.get("components", {}).get("schemas", {}).pop(unused, None)
        app.openapi_schema = document
        return document

    return openapi


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) with self-hosted assets."""
    app.openapi = _openapi_with_problems(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url, title=f"{app.title} - API",
            swagger_js_url="/static/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/swagger-ui/favicon-32x32.png",
            swagger_ui_parameters={"persistAuthorization": False, "validatorUrl": None})

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url, title=f"{app.title} - API reference",
            redoc_js_url="/static/redoc/redoc.standalone.js",
            redoc_favicon_url="/static/swagger-ui/favicon-32x32.png",
            with_google_fonts=False)
