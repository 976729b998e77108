"""Helpers shared by the API tests (importable by name: this folder is on sys.path)."""

from __future__ import annotations

import gzip
import json
import uuid
from pathlib import Path

from api.db import Database
from api.models import Job, Plan, utc_now
from navsvc import templates

#: the shipped copy of Debian mricron-data's ch2.nii.gz (atlases/README.md): no system package needed
COLIN27 = templates.COLIN_HEAD


def insert_plan(app, image_id: str, plan: dict) -> str:
    """Store a finished job and its plan directly (as a succeeded job would)."""
    database: Database = app.state.db
    job_id = str(uuid.uuid4())
    out_dir = app.state.storage.run_dir(job_id, 1)
    (out_dir / "plan.json").write_text(json.dumps(plan))
    (out_dir / "report.html").write_text("<html><body>QC report</body></html>")
    with database.session() as session:
        session.add(Job(id=job_id, image_id=image_id, options={}, state="succeeded",
                        attempts=1, plan_id=plan["plan_id"], created_by="test",
                        started_at=utc_now(), finished_at=utc_now()))
        session.flush()
        session.add(Plan(id=plan["plan_id"], image_id=image_id, job_id=job_id, data=plan,
                         result_dir=app.state.storage.relative(out_dir)))
    return plan["plan_id"]


def plan_folder(app, plan_id: str) -> Path:
    """The absolute result folder of the stored plan ``plan_id``."""
    with app.state.db.session() as session:
        return app.state.storage.absolute(session.get(Plan, plan_id).result_dir)


def gunzip_bytes(path: Path) -> bytes:
    """Return the decompressed bytes of a .gz file."""
    with gzip.open(path, "rb") as handle:
        return handle.read()


def upload_file(client, auth, patient, path: Path, name: str):
    """POST ``path`` as the technician's upload named ``name`` for ``patient``."""
    with open(path, "rb") as handle:
        return client.post(f"/api/v1/patients/{patient['id']}/images", headers=auth["technician"],
                           files={"file": (name, handle)})


def another_patients_image(client, auth, head_path: Path, external_id: str) -> dict:
    """Register patient ``external_id`` and upload ``head_path`` as their T1; return the
    image record (its ``patient_id`` names the new patient)."""
    patient = client.post("/api/v1/patients", headers=auth["technician"], json={"external_id": external_id}).json()
    response = upload_file(client, auth, patient, head_path, "head.nii.gz")
    assert response.status_code == 201, response.text
    return response.json()


def assert_nothing_stored(client, app, auth, patient) -> None:
    """No image record, no stored file and an empty spool."""
    url = f"/api/v1/patients/{patient['id']}/images"
    assert client.get(url, headers=auth["technician"]).json()["items"] == []
    assert not any(app.state.storage.images_dir.rglob("*"))
    assert not any(app.state.storage.tmp_dir.iterdir())
