"""Request and response models of the API (pydantic), each with an example."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from navsvc.errors import InputError
from navsvc.export import EXPORT_FORMATS
from navsvc.options import (COIL_DISTANCE_RANGE_MM, DEFAULT_COIL_DISTANCE_MM, DEFAULT_HANDLE_ANGLE_DEG,
                            HANDLE_ANGLE_RANGE_DEG, PlanOptions)
from navsvc.target.strategies import DEFAULT_STRATEGY, STRATEGIES

#: a coordinate, mm: a finite number (JSON's NaN and Infinity extensions are refused)
FiniteMm = Annotated[float, Field(allow_inf_nan=False)]

def _printable_name(value: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must not contain control characters (NUL, tab, newline): type the name as it is shown")
    return value


#: a name records are found by (an MRN, a calendar's name): SQLite stored a NUL, which made
#: look-alike duplicates ("MRN-1" and "MRN-1\x00"), where PostgreSQL refused it
RecordName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S"), AfterValidator(_printable_name)]

#: the days a clinical record may carry. A year outside is a typing mistake, and days near
#: the calendar's ends overflow what is computed from them (a session scheduled after
#: 9999-12-31, a UTC conversion before year 1, a plot's date axis).
RECORD_DAYS = (date(1900, 1, 1), date(2199, 12, 31))


def _record_day(value: date) -> date:
    day = value.date() if isinstance(value, datetime) else value
    if not RECORD_DAYS[0] <= day <= RECORD_DAYS[1]:
        raise ValueError(f"must lie between {RECORD_DAYS[0]} and {RECORD_DAYS[1]}")
    return value


def _iso_text(value):
    # pydantic reads a number (0, "1", 1.5) as seconds since 1970: a typed "0" would be a
    # record dated 1970-01-01. Only ISO 8601 text (or a date from Python) is a record date.
    if isinstance(value, date) or (isinstance(value, str) and re.match(r"\d{4}-\d{2}-\d{2}", value)):
        return value
    raise ValueError("must be an ISO 8601 date as text: YYYY-MM-DD, or for a time "
                     "YYYY-MM-DDTHH:MM:SS with its zone (e.g. 2025-03-03T09:30:00Z)")


def _zoned(value: datetime) -> datetime:
    # A time without its zone would be read as UTC, hours off the clinic's own time.
    if value.tzinfo is None:
        raise ValueError("needs a time zone (e.g. 2025-03-01T10:00:00Z or +01:00)")
    return value


def _in_utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc) if value.tzinfo is not None else value


#: a time the API answers with, in UTC whatever offset the client sent it with, so that the
#: answer to a write and every later read of the record agree
UtcDateTime = Annotated[datetime, AfterValidator(_in_utc)]
#: a date of a clinical record, as ISO text, within :data:`RECORD_DAYS`
RecordDate = Annotated[date, BeforeValidator(_iso_text), AfterValidator(_record_day)]
#: a time of a clinical record or of a query, with its zone, within :data:`RECORD_DAYS`
RecordDateTime = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_record_day),
                           AfterValidator(_zoned)]

_ID = "3f2b8a54-9d1e-4c55-a0f4-2f6f6c1d9e10"
_TS = "2025-11-21T09:30:00Z"
#: record id and time of the course, session and rating examples (one made-up course)
COURSE_EXAMPLE_ID = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
COURSE_EXAMPLE_TIME = "2025-03-03T09:00:00Z"


def example_config(example: dict, **config) -> ConfigDict:
    """A model configuration with ``example`` as its OpenAPI example (and ``config``)."""
    return ConfigDict(json_schema_extra={"examples": [example]}, **config)


_example = example_config


class Problem(BaseModel):
    """An error (RFC 9457 problem details); every error response has this shape."""

    model_config = _example({"type": "urn:navsvc:problem:not-found", "title": "Not Found",
                             "status": 404, "detail": "no patient with this id"})
    type: str = Field(description="URN naming the kind of problem.")
    title: str = Field(description="HTTP status phrase.")
    status: int = Field(description="HTTP status code.")
    detail: str = Field(description="What went wrong and, where possible, what to do.")


class PatientCreate(BaseModel):
    """A new patient. ``name`` and ``birth_date`` are PHI: stored, returned, never logged."""

    model_config = _example({"external_id": "MRN-0042", "name": "Jane Doe",
                             "birth_date": "1980-04-02"}, extra="forbid")
    external_id: RecordName = Field(description="The clinic's MRN or study ID; unique.")
    name: str | None = Field(default=None, max_length=400, description="Full name (PHI).")
    birth_date: RecordDate | None = Field(default=None, description="Date of birth (PHI).")


class PatientOut(PatientCreate):
    """A patient record (its birth date as stored: the range is checked on input only, so a
    record an earlier version accepted can still be read)."""

    model_config = _example({"id": _ID, "external_id": "MRN-0042", "name": "Jane Doe",
                             "birth_date": "1980-04-02", "created_at": _TS,
                             "links": {"self": f"/api/v1/patients/{_ID}",
                                       "images": f"/api/v1/patients/{_ID}/images"}})
    birth_date: date | None = Field(default=None, description="Date of birth (PHI).")
    external_id: str = Field(description="The clinic's MRN or study ID, as stored.")
    id: str = Field(description="Patient identifier (UUID), assigned by the server.")
    created_at: datetime = Field(description="When the patient was registered (UTC), set by the server.")
    links: dict[str, str] = Field(
        description="API paths of the patient (`self`) and of its images (`images`).")


class PatientList(BaseModel):
    """A page of patients, oldest first."""

    model_config = _example({"items": [], "limit": 100, "offset": 0})
    items: list[PatientOut] = Field(description="The patients on this page, oldest first.")
    limit: int = Field(description="Page size asked for.")
    offset: int = Field(description="Number of patients skipped before this page.")


class ImageOut(BaseModel):
    """A stored, de-identified T1 image."""

    model_config = _example({
        "id": _ID, "patient_id": _ID, "format": "nifti", "sha256": "9c1e" + "0" * 60,
        "size_bytes": 7438113, "shape": [181, 217, 181], "voxel_size_mm": [1.0, 1.0, 1.0],
        "orientation": "RAS", "created_at": _TS,
        "links": {"self": f"/api/v1/images/{_ID}", "plans": f"/api/v1/plans?image_id={_ID}",
                  "patient": f"/api/v1/patients/{_ID}"}})
    id: str = Field(description="Image identifier (UUID), assigned by the server.")
    patient_id: str = Field(description="The patient the image belongs to.")
    format: Literal["nifti", "dicom"] = Field(
        description="What was uploaded: `nifti` (a .nii / .nii.gz file) or `dicom` "
                    "(a .zip of the DICOM series).")
    sha256: str = Field(description="SHA-256 of the stored (de-identified) file.")
    size_bytes: int = Field(description="Size of the stored (de-identified) file, bytes.")
    shape: list[int] = Field(description="Voxel counts along the three array axes.")
    voxel_size_mm: list[float] = Field(description="Voxel edge lengths along the three array axes, mm.")
    orientation: str = Field(
        description="Closest world (RAS) axis codes of the three array axes, e.g. RAS or LIA.")
    created_at: datetime = Field(description="When the image was stored (UTC), set by the server.")
    links: dict[str, str] = Field(
        description="API paths of the image (`self`), of its plans (`plans`) and of its patient (`patient`).")


class ImageList(BaseModel):
    """A page of a patient's images, oldest first."""

    model_config = _example({"items": [], "limit": 100, "offset": 0})
    items: list[ImageOut] = Field(description="The images on this page, oldest first.")
    limit: int = Field(description="Page size asked for.")
    offset: int = Field(description="Number of images skipped before this page.")


class PlanRequest(BaseModel):
    """Targeting options (the engine's :class:`navsvc.options.PlanOptions`).

    Give ``mni_mm`` or ``native_ras_mm`` to target a coordinate; otherwise the named
    ``strategy`` picks the target.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"strategy": DEFAULT_STRATEGY, "coil_distance_mm": DEFAULT_COIL_DISTANCE_MM,
         "handle_angle_deg": DEFAULT_HANDLE_ANGLE_DEG},
        {"mni_mm": [-38, 44, 26]}]})
    strategy: str = Field(default=DEFAULT_STRATEGY, max_length=50,
                          description=f"Named target strategy: {', '.join(STRATEGIES)}.")
    mni_mm: tuple[FiniteMm, FiniteMm, FiniteMm] | None = Field(
        default=None, description="Target in ICBM 2009 MNI coordinates, mm (inside the template's head).")
    native_ras_mm: tuple[FiniteMm, FiniteMm, FiniteMm] | None = Field(
        default=None, description="Target in the patient's scanner RAS coordinates, mm (inside the image's field of view).")
    coil_distance_mm: float = Field(default=DEFAULT_COIL_DISTANCE_MM, ge=COIL_DISTANCE_RANGE_MM[0], le=COIL_DISTANCE_RANGE_MM[1],
                                    allow_inf_nan=False, description="Coil centre distance outside the scalp, mm.")
    handle_angle_deg: float = Field(default=DEFAULT_HANDLE_ANGLE_DEG, ge=HANDLE_ANGLE_RANGE_DEG[0], le=HANDLE_ANGLE_RANGE_DEG[1],
                                    allow_inf_nan=False,
                                    description="Handle angle in the coil plane, degrees, -180 to 180: 0 points the handle "
                                                "posterior (the way from the forehead over the vertex to the occiput), "
                                                "positive angles turn it away from the midline.")

    @model_validator(mode="after")
    def _one_coordinate(self) -> PlanRequest:
        if self.mni_mm is not None and self.native_ras_mm is not None:
            raise ValueError("give mni_mm or native_ras_mm, not both")
        try:  # the engine's own checks, so that a job is never queued with options it refuses
            PlanOptions(**self.model_dump())
        except InputError as exc:
            raise ValueError(str(exc)) from None
        return self


JobState = Literal["queued", "running", "succeeded", "failed"]


class JobOut(BaseModel):
    """A targeting job. ``stage`` is set while running, ``plan_id`` once it succeeded,
    ``reason`` once it failed."""

    model_config = _example({
        "id": _ID, "image_id": _ID, "state": "running", "stage": "registration",
        "reason": None, "attempts": 1, "plan_id": None,
        "options": {"strategy": DEFAULT_STRATEGY, "mni_mm": None, "native_ras_mm": None,
                    "coil_distance_mm": DEFAULT_COIL_DISTANCE_MM, "handle_angle_deg": DEFAULT_HANDLE_ANGLE_DEG},
        "created_at": _TS, "started_at": _TS, "finished_at": None,
        "links": {"self": f"/api/v1/jobs/{_ID}", "image": f"/api/v1/images/{_ID}"}})
    id: str = Field(description="Job identifier (UUID), assigned by the server.")
    image_id: str = Field(description="The image the plan is made from.")
    state: JobState = Field(description="queued, running, succeeded or failed.")
    stage: str | None = Field(
        description="Engine stage the run is in (e.g. registration, target, report); null while queued, "
                    "before the first stage and once succeeded; a job that failed in a stage may keep "
                    "its name.")
    reason: str | None = Field(description="Why the job failed; null unless `state` is failed.")
    attempts: int = Field(
        description="Runs started so far: 0 until a worker takes the job; a job is started at most twice.")
    plan_id: str | None = Field(
        description="The plan made, once `state` is succeeded; null before and on failure.")
    options: dict = Field(description="The targeting options requested (PlanRequest, defaults filled in).")
    created_at: datetime = Field(description="When the job was created (UTC).")
    started_at: datetime | None = Field(
        description="When the current or last run started (UTC); null while queued or if the job never ran.")
    finished_at: datetime | None = Field(
        description="When the job succeeded or failed (UTC); null until then.")
    links: dict[str, str] = Field(
        description="API paths of the job (`self`), its image (`image`) and, once succeeded, "
                    "its plan (`plan`).")


class JobList(BaseModel):
    """A page of jobs, newest first."""

    model_config = _example({"items": [], "limit": 100, "offset": 0})
    items: list[JobOut] = Field(description="The jobs on this page, newest first.")
    limit: int = Field(description="Page size asked for.")
    offset: int = Field(description="Number of jobs skipped before this page.")


class ApprovalIn(BaseModel):
    """A clinician's approval of a plan."""

    model_config = _example({"note": "Target checked against the QC report."}, extra="forbid")
    note: str | None = Field(default=None, max_length=2000,
                             description="The approving clinician's free-text note; null for none.")


class ApprovalOut(ApprovalIn):
    """Who approved a plan, and when."""

    model_config = _example({"id": _ID, "plan_id": _ID, "approved_by": "dr-smith",
                             "approved_at": _TS, "note": None})
    id: str = Field(description="Approval identifier (UUID), assigned by the server.")
    plan_id: str = Field(description="The approved plan.")
    approved_by: str = Field(description="Token name of the approving clinician.")
    approved_at: datetime = Field(description="When the plan was approved (UTC), set by the server.")


class PlanOut(BaseModel):
    """A targeting plan (immutable) with its approval, if any."""

    model_config = _example({
        "id": _ID, "image_id": _ID, "patient_id": _ID, "job_id": _ID, "created_at": _TS,
        "approval": None, "plan": {"plan_id": _ID, "target": {"native_ras_mm": [-40, 42, 30]}},
        "links": {"self": f"/api/v1/plans/{_ID}", "report": f"/api/v1/plans/{_ID}/report",
                  "job": f"/api/v1/jobs/{_ID}", "image": f"/api/v1/images/{_ID}",
                  **{name: f"/api/v1/plans/{_ID}/exports/{name}" for name in EXPORT_FORMATS}}})
    id: str = Field(description="Plan identifier: the `plan_id` of the plan JSON (else the job's id).")
    image_id: str = Field(description="The image the plan was made from.")
    patient_id: str = Field(description="The patient of that image.")
    job_id: str = Field(description="The job that made the plan.")
    created_at: datetime = Field(description="When the plan was stored (UTC).")
    approval: ApprovalOut | None = Field(description="The clinician's approval; null while not approved.")
    plan: dict = Field(description="The engine's plan JSON (schema-versioned).")
    links: dict[str, str] = Field(
        description="API paths of the plan (`self`), its QC report (`report`), its job (`job`), its image "
                    "(`image`) and its navigator files (`json`, `localite`, `brainsight`, `simnibs`; "
                    "available once approved).")


class PlanList(BaseModel):
    """A page of plans, newest first."""

    model_config = _example({"items": [], "limit": 100, "offset": 0})
    items: list[PlanOut] = Field(description="The plans on this page, newest first.")
    limit: int = Field(description="Page size asked for.")
    offset: int = Field(description="Number of plans skipped before this page.")


class AuditEventOut(BaseModel):
    """One audit record."""

    model_config = _example({"id": 17, "at": _TS, "token_name": "ws-room-2",
                             "role": "technician", "method": "GET",
                             "route": "/api/v1/plans/{plan_id}", "resource_id": _ID,
                             "status_code": 200, "outcome": "success"})
    id: int = Field(description="Sequential record number, assigned by the server.")
    at: datetime = Field(description="When the request arrived (UTC).")
    token_name: str | None = Field(description="Name of the caller's token; null without a valid token.")
    role: str | None = Field(description="Role of the caller's token; null without a valid token.")
    method: str = Field(description="HTTP method (its first 10 characters).")
    route: str = Field(
        description="Route template, e.g. `/api/v1/plans/{plan_id}` (the request path when "
                    "no route matched).")
    resource_id: str | None = Field(
        description="The record concerned (as the route names it, else the first path parameter; "
                    "first 64 characters); null if none.")
    status_code: int = Field(description="HTTP status answered (500 when no response started).")
    outcome: str = Field(
        description="success (status below 400), unauthenticated (401), denied (403), not_found (404), "
                    "rejected (other 4xx) or error (5xx).")


class AuditList(BaseModel):
    """A page of audit records, newest first."""

    model_config = _example({"items": [], "limit": 100, "offset": 0})
    items: list[AuditEventOut] = Field(description="The audit records on this page, newest first.")
    limit: int = Field(description="Page size asked for.")
    offset: int = Field(description="Number of records skipped before this page.")


class Health(BaseModel):
    """Liveness or readiness."""

    model_config = _example({"status": "ok", "checks": {"database": "ok", "worker": "ok"}})
    status: Literal["ok", "unavailable"] = Field(
        description="ok, or unavailable when a readiness check failed (answered with 503).")
    checks: dict[str, str] = Field(
        default_factory=dict,
        description="Readiness only (empty for liveness): `database` (ok or unreachable), `worker` when "
                    "the service's own job worker is checked (ok or stopped), and `broker` with a job "
                    "queue (ok or unreachable).")


class Me(BaseModel):
    """The caller's token."""

    model_config = _example({"name": "ws-room-2", "role": "technician", "blinded": False})
    name: str = Field(description="The token's name (recorded in the audit trail).")
    role: str = Field(description="admin, clinician, technician, navigator or auditor.")
    blinded: bool = Field(
        description="Whether the token is blinded: treatment arms are hidden from it "
                    "(raters in sham-controlled trials).")
