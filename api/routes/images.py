"""T1 image upload (streamed, validated, de-identified, content-addressed) and lookup."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.deps import DbSession, SessionRoute, require_roles, set_audit_resource
from api.models import Image, Patient
from api.problems import ProblemError
from api.routes.common import Limit, Offset, get_or_404, problems
from api.schemas import ImageList, ImageOut
from api.security import Principal
from api.storage import Storage, sha256_file
from api.upload import UploadedFile, receive_file
from navsvc.io import validate_t1_file
from navsvc.errors import InputError
from navsvc.io.deidentify import deidentify_file

log = logging.getLogger("navsvc.api")
router = APIRouter(tags=["images"], route_class=SessionRoute)

WRITERS = ("clinician", "technician")
READERS = ("clinician", "technician", "auditor")

_UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "required": ["file"], "properties": {"file": {
        "type": "string", "format": "binary",
        "description": "A .nii / .nii.gz T1 image, or a .zip of its DICOM series (of a whole study with `series`)."}}}}}}}


def image_out(image: Image) -> ImageOut:
    """Render an image record with its links."""
    orientation = image.info.get("orientation", "")
    return ImageOut(
        id=image.id, patient_id=image.patient_id, format=image.format, sha256=image.sha256,
        size_bytes=image.size_bytes, shape=image.info.get("shape", []),
        voxel_size_mm=image.info.get("voxel_size_mm", []),
        orientation="".join(orientation) if isinstance(orientation, list) else orientation,
        created_at=image.created_at,
        links={"self": f"/api/v1/images/{image.id}",
               "plans": f"/api/v1/plans?image_id={image.id}",
               "patient": f"/api/v1/patients/{image.patient_id}"})


def _validate_and_store(storage: Storage, upload: UploadedFile,
                        series: str | None) -> tuple[dict, str, str, int]:
    """Validate, de-identify and store an upload (of a DICOM zip, only the series
    validated); return (info, sha256, path, size)."""
    cleaned = storage.temp_path(upload.suffix)
    try:
        try:
            info = validate_t1_file(upload.path, series=series, work_dir=storage.tmp_dir)
            deidentify_file(upload.path, cleaned, info["series_uid"])
        except InputError as exc:  # it names the spool file; the user knows the file they sent
            raise InputError(str(exc).replace(upload.path.name, repr(upload.filename))) from None
        sha256 = sha256_file(cleaned)
        size_bytes = cleaned.stat().st_size
        stored_path = storage.store_image(cleaned, sha256, upload.suffix)
    finally:
        cleaned.unlink(missing_ok=True)
    info = {key: info[key] for key in ("shape", "voxel_size_mm", "orientation", "affine") if key in info}
    return info, sha256, stored_path, size_bytes


def _stored_before(request: Request, response: Response, image: Image) -> ImageOut:
    """Answer an upload of an image the patient has with its record (200)."""
    set_audit_resource(request, image.id)
    response.status_code = 200
    return image_out(image)


def _upload_key(upload_sha256: str, series: str | None) -> str:
    """What makes an upload the same as an earlier one: its bytes, and the series asked for."""
    if series is None:
        return upload_sha256
    return hashlib.sha256(f"{upload_sha256}\nseries={series}".encode()).hexdigest()


@router.post(
    "/patients/{patient_id}/images", status_code=201, response_model=ImageOut,
    summary="Upload a T1 image", openapi_extra=_UPLOAD_BODY,
    responses={200: {"model": ImageOut, "description": "This file was uploaded before."},
               **problems(404, 413, 415, 422)})
async def upload_image(
    patient_id: str, request: Request, response: Response, db: DbSession,
    principal: Annotated[Principal, Depends(require_roles(*WRITERS))],
    series: Annotated[str | None, Query(
        min_length=1, max_length=64,
        description="Of a DICOM .zip holding several image series (a whole study): the T1's "
                    "SeriesNumber or SeriesInstanceUID; only that series is stored.")] = None,
) -> ImageOut:
    """Upload a patient's T1 (clinician, technician) as multipart form field `file`.

    The file is streamed to disk (limit `NAVSVC_MAX_UPLOAD_MB`), checked by the
    engine (readable, 3-D, finite, plausible voxel size and field of view),
    de-identified (NIfTI header text; for DICOM: patient module, names, institution,
    descriptions, dates and private attributes removed, instance UIDs replaced) and
    stored by the SHA-256 of the stored bytes. A DICOM .zip of several image series is
    refused naming them, unless `series` says which one is the T1: then only that
    series is stored.
    Uploading the same image again for the same patient (the same file, or one that stores
    the same de-identified bytes) answers 200 with the existing record.
    """
    await run_in_threadpool(get_or_404, db, Patient, patient_id, "patient")
    # Streaming and checking an upload take seconds to minutes: hold no transaction (on
    # SQLite one holds the write lock from its BEGIN, see api.db) until the insert.
    await run_in_threadpool(db.rollback)
    storage: Storage = request.app.state.storage
    spool = storage.temp_path()
    upload = None
    try:
        upload = await receive_file(request, spool, request.app.state.settings.max_upload_bytes)
        upload_key = _upload_key(upload.sha256, series)
        existing = await run_in_threadpool(db.scalar, select(Image).where(
            Image.patient_id == patient_id, Image.upload_sha256 == upload_key))
        if existing is not None:
            return _stored_before(request, response, existing)
        await run_in_threadpool(db.rollback)
        named = spool.with_name(spool.name + upload.suffix)
        spool.rename(named)
        upload = replace(upload, path=named)
        info, sha256, stored_path, size_bytes = await run_in_threadpool(
            _validate_and_store, storage, upload, series)
        # the same image sent another way (its series named by UID instead of number, or a
        # header whose text de-identification blanks): the record it already has
        same = await run_in_threadpool(db.scalar, select(Image).where(
            Image.patient_id == patient_id, Image.sha256 == sha256))
        if same is not None:
            return _stored_before(request, response, same)
        image = Image(patient_id=patient_id, upload_sha256=upload_key, sha256=sha256,
                      format="dicom" if upload.suffix == ".zip" else "nifti",
                      stored_path=stored_path, size_bytes=size_bytes, info=info,
                      created_by=principal.name)
        db.add(image)
        try:
            await run_in_threadpool(db.flush)
        except IntegrityError:  # the same file arrived twice at the same moment
            await run_in_threadpool(db.rollback)
            raise ProblemError(409, "this file is being uploaded for this patient "
                                    "concurrently; retry to get the record") from None
        set_audit_resource(request, image.id)
        log.info("image %s stored (%s, %d bytes)", image.id, image.format, size_bytes)
        return image_out(image)
    finally:
        spool.unlink(missing_ok=True)
        if upload is not None:
            upload.path.unlink(missing_ok=True)


@router.get("/patients/{patient_id}/images", response_model=ImageList,
            summary="List a patient's images", responses=problems(404, 422))
def list_images(
    patient_id: str, db: DbSession,
    _: Annotated[Principal, Depends(require_roles(*READERS))],
    limit: Limit = 100, offset: Offset = 0,
) -> ImageList:
    """A page of the patient's images, oldest first (clinician, technician, auditor)."""
    get_or_404(db, Patient, patient_id, "patient")
    rows = db.scalars(select(Image).where(Image.patient_id == patient_id)
                      .order_by(Image.created_at, Image.id).limit(limit).offset(offset)).all()
    return ImageList(items=[image_out(image) for image in rows], limit=limit, offset=offset)


@router.get("/images/{image_id}", response_model=ImageOut, summary="Get an image record",
            responses=problems(404))
def get_image(
    image_id: str, db: DbSession,
    _: Annotated[Principal, Depends(require_roles(*READERS))],
) -> ImageOut:
    """One image record (clinician, technician, auditor)."""
    return image_out(get_or_404(db, Image, image_id, "image"))

