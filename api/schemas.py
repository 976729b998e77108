"""Request and response models of the API (pydantic), each with an example."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from navsvc.errors import InputError
from navsvc.options import COIL_DISTANCE_RANGE_MM, HANDLE_ANGLE_RANGE_DEG, PlanOptions

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


#: a date of a clinical record, as ISO text, within :data:`RECORD_DAYS`
RecordDate = Annotated[date, BeforeValidator(_iso_text), AfterValidator(_record_day)]
#: a time of a clinical record or of a query, with its zone, within :data:`RECORD_DAYS`
RecordDateTime = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_record_day),
                           AfterValidator(_zoned)]

_ID = "3f2b8a54-9d1e-4c55-a0f4-2f6f6c1d9e10"
_TS = "2025-11-21T09:30:00Z"


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
    id: str
    created_at: datetime
    links: dict[str, str]


class PatientList(BaseModel):
    """A page of patients, oldest first."""

    model_config = _example({"items": [], "limit": 100, "offset": 0})
    items: list[PatientOut]
    limit: int
    offset: int


class ImageOut(BaseModel):
    """A stored, de-identified T1 image."""

    model_config = _example({
        "id": _ID, "patient_id": _ID, "format": "nifti", "sha256": "9c1e" + "0" * 60,
        "size_bytes": 7438113, "shape": [181, 217, 181], "voxel_size_mm": [1.0, 1.0, 1.0],
        "orientation": "RAS", "created_at": _TS,
        "links": {"self": f"/api/v1/images/{_ID}", "plans": f"/api/v1/plans?image_id={_ID}",
                  "patient": f"/api/v1/patients/{_ID}"}})
    id: str
    patient_id: str
    format: Literal["nifti", "dicom"]
    sha256: str = Field(description="SHA-256 of the stored (de-identified) file.")
    size_bytes: int
    shape: list[int]
    voxel_size_mm: list[float]
    orientation: str
    created_at: datetime
    links: dict[str, str]


class PlanRequest(BaseModel):
    """Targeting options (the engine's :class:`navsvc.options.PlanOptions`).

    Give ``mni_mm`` or ``native_ras_mm`` to target a coordinate; otherwise the named
    ``strategy`` picks the target.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"strategy": "fox2012", "coil_distance_mm": 4.0, "handle_angle_deg": 45.0},
        {"mni_mm": [-38, 44, 26]}]})
    strategy: str = Field(default="fox2012", max_length=50,
                          description="Named target strategy: fox2012, ba46, ba9, fivecm_avg, f3_avg or fitzgerald2009.")
    mni_mm: tuple[FiniteMm, FiniteMm, FiniteMm] | None = Field(
        default=None, description="Target in ICBM 2009 MNI coordinates, mm (inside the template's head).")
    native_ras_mm: tuple[FiniteMm, FiniteMm, FiniteMm] | None = Field(
        default=None, description="Target in the patient's scanner RAS coordinates, mm (inside the image's field of view).")
    coil_distance_mm: float = Field(default=4.0, ge=COIL_DISTANCE_RANGE_MM[0], le=COIL_DISTANCE_RANGE_MM[1],
                                    allow_inf_nan=False, description="Coil centre distance outside the scalp, mm.")
    handle_angle_deg: float = Field(default=45.0, ge=HANDLE_ANGLE_RANGE_DEG[0], le=HANDLE_ANGLE_RANGE_DEG[1],
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
        "id": _ID, "image_id": _ID, "state": "running", "stage": "register",
        "reason": None, "attempts": 1, "plan_id": None,
        "options": {"strategy": "fox2012", "mni_mm": None, "native_ras_mm": None,
                    "coil_distance_mm": 4.0, "handle_angle_deg": 45.0},
        "created_at": _TS, "started_at": _TS, "finished_at": None,
        "links": {"self": f"/api/v1/jobs/{_ID}", "image": f"/api/v1/images/{_ID}"}})
    id: str
    image_id: str
    state: JobState
    stage: str | None
    reason: str | None
    attempts: int
    plan_id: str | None
    options: dict
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    links: dict[str, str]


class JobList(BaseModel):
    """A page of jobs, newest first."""

    model_config = _example({"items": [], "limit": 100, "offset": 0})
    items: list[JobOut]
    limit: int
    offset: int


class ApprovalIn(BaseModel):
    """A clinician's approval of a plan."""

    model_config = _example({"note": "Target checked against the QC report."}, extra="forbid")
    note: str | None = Field(default=None, max_length=2000)


class ApprovalOut(ApprovalIn):
    """Who approved a plan, and when."""

    model_config = _example({"id": _ID, "plan_id": _ID, "approved_by": "dr-smith",
                             "approved_at": _TS, "note": None})
    id: str
    plan_id: str
    approved_by: str
    approved_at: datetime


class PlanOut(BaseModel):
    """A targeting plan (immutable) with its approval, if any."""

    model_config = _example({
        "id": _ID, "image_id": _ID, "patient_id": _ID, "job_id": _ID, "created_at": _TS,
        "approval": None, "plan": {"plan_id": _ID, "target": {"native_ras_mm": [-40, 42, 30]}},
        "links": {"self": f"/api/v1/plans/{_ID}", "report": f"/api/v1/plans/{_ID}/report",
                  "localite": f"/api/v1/plans/{_ID}/exports/localite"}})
    id: str
    image_id: str
    patient_id: str
    job_id: str
    created_at: datetime
    approval: ApprovalOut | None
    plan: dict = Field(description="The engine's plan JSON (schema-versioned).")
    links: dict[str, str]


class PlanList(BaseModel):
    """A page of plans, newest first."""

    model_config = _example({"items": [], "limit": 100, "offset": 0})
    items: list[PlanOut]
    limit: int
    offset: int


class AuditEventOut(BaseModel):
    """One audit record."""

    model_config = _example({"id": 17, "at": _TS, "token_name": "ws-room-2",
                             "role": "technician", "method": "GET",
                             "route": "/api/v1/plans/{plan_id}", "resource_id": _ID,
                             "status_code": 200, "outcome": "success"})
    id: int
    at: datetime
    token_name: str | None
    role: str | None
    method: str
    route: str
    resource_id: str | None
    status_code: int
    outcome: str


class AuditList(BaseModel):
    """A page of audit records, newest first."""

    model_config = _example({"items": [], "limit": 100, "offset": 0})
    items: list[AuditEventOut]
    limit: int
    offset: int


class Health(BaseModel):
    """Liveness or readiness."""

    model_config = _example({"status": "ok", "checks": {"database": "ok", "worker": "ok"}})
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)


class Me(BaseModel):
    """The caller's token."""

    model_config = _example({"name": "ws-room-2", "role": "technician", "blinded": False})
    name: str
    role: str
    blinded: bool
