"""Patients: the clinic's identifier plus optional PHI (returned, never logged)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.deps import DbSession, SessionRoute, require_roles, set_audit_resource
from api.models import Patient
from api.problems import ProblemError
from api.reads import (
    PATIENT_PAGE,
    PATIENT_PAGE_BY_EXTERNAL_ID,
    PATIENTS,
    fetch_rows,
    row_or_404,
)
from api.routes.common import Limit, Offset, problems
from api.schemas import PatientCreate, PatientList, PatientOut
from api.security import Principal

router = APIRouter(tags=["patients"], route_class=SessionRoute)

WRITERS = ("clinician", "technician")
READERS = ("clinician", "technician", "auditor")


def patient_out(patient: Patient | tuple) -> PatientOut:
    """Render a patient record (ORM object or named row) with its links."""
    return PatientOut(
        id=patient.id, external_id=patient.external_id, name=patient.name,
        birth_date=patient.birth_date, created_at=patient.created_at,
        links={"self": f"/api/v1/patients/{patient.id}",
               "images": f"/api/v1/patients/{patient.id}/images"})


@router.post("/patients", status_code=201, response_model=PatientOut,
             summary="Register a patient", responses=problems(409, 422))
def create_patient(
    body: PatientCreate, request: Request, db: DbSession,
    principal: Annotated[Principal, Depends(require_roles(*WRITERS))],
) -> PatientOut:
    """Create a patient (clinician, technician). `external_id` is unique: a second
    patient with the same one gets 409."""
    if db.scalar(select(Patient.id).where(Patient.external_id == body.external_id)):
        raise ProblemError(409, "a patient with this external_id already exists")
    patient = Patient(external_id=body.external_id, name=body.name,
                      birth_date=body.birth_date, created_by=principal.name)
    db.add(patient)
    try:
        db.flush()
    except IntegrityError:
        raise ProblemError(409, "a patient with this external_id already exists") from None
    set_audit_resource(request, patient.id)
    return patient_out(patient)


@router.get("/patients", response_model=PatientList, summary="List patients",
            responses=problems(422))
async def list_patients(
    request: Request, _: Annotated[Principal, Depends(require_roles(*READERS))],
    limit: Limit = 100, offset: Offset = 0,
    external_id: Annotated[str | None, Query(description="Exact clinic identifier.")] = None,
) -> PatientList:
    """Patients in creation order (clinician, technician, auditor); filter by
    `external_id` to find one by MRN."""
    if external_id is None:
        rows = fetch_rows(request, PATIENT_PAGE, limit=limit, offset=offset)
    else:
        rows = fetch_rows(request, PATIENT_PAGE_BY_EXTERNAL_ID, external_id=external_id,
                          limit=limit, offset=offset)
        if rows:  # the audit trail names whose record the search returned
            set_audit_resource(request, rows[0].id)
    return PatientList(items=[patient_out(p) for p in rows], limit=limit, offset=offset)


@router.get("/patients/{patient_id}", response_model=PatientOut, summary="Get a patient",
            responses=problems(404))
async def get_patient(
    patient_id: str, request: Request,
    _: Annotated[Principal, Depends(require_roles(*READERS))],
) -> PatientOut:
    """One patient (clinician, technician, auditor)."""
    return patient_out(row_or_404(request, PATIENTS, patient_id, "patient"))
