"""Fixtures of the API tests: settings on a temporary data folder, a client, tokens.

The database is SQLite in the temporary folder, or, when ``NAVSVC_TEST_POSTGRES_URL``
is set (``postgresql+psycopg://user:password@host/db``), both: each test runs once on
SQLite and once on a fresh schema of that PostgreSQL database, dropped afterwards.
"""

from __future__ import annotations

import os
from datetime import date
import uuid
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from fastapi.testclient import TestClient

from api.app import create_app
from api.config import Settings
from api.security import ROLES
from api.testing import postgres_schema
from api.tokens import create_token
from api_test_helpers import insert_plan

#: every API test runs on SQLite, and also on PostgreSQL when a server is given
DATABASE_BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("NAVSVC_TEST_POSTGRES_URL") else [])


@pytest.fixture(params=DATABASE_BACKENDS)
def database_url(request):
    """``None`` (SQLite in the data folder) or a PostgreSQL URL on a fresh schema."""
    if request.param == "sqlite":
        yield None
        return
    with postgres_schema(os.environ["NAVSVC_TEST_POSTGRES_URL"]) as url:
        yield url


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    """Settings on a temporary data folder, embedded worker off, fake plan function."""
    return Settings(data_dir=tmp_path / "data", database_url=database_url,
                    embedded_worker=False, job_poll_interval_s=0.1, max_upload_mb=16,
                    plan_function="api_test_fakes:fake_make_plan")


@pytest.fixture
def app(settings):
    """The application (lifespan not yet run)."""
    return create_app(settings)


@pytest.fixture
def client(app):
    """A test client with the application started."""
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def auth(client, app) -> dict[str, dict[str, str]]:
    """Authorization headers per role (one token each)."""
    return {role: {"Authorization": f"Bearer {create_token(app.state.db, role, role)}"}
            for role in ROLES}


@pytest.fixture(scope="session")
def small_head(tmp_path_factory) -> Path:
    """A small synthetic volume that passes the engine's input checks (2.5 mm, 160 mm FOV)."""
    rng = np.random.default_rng(0)
    data = (rng.random((64, 64, 64)) * 100).astype(np.int16)
    affine = np.diag([2.5, 2.5, 2.5, 1.0])
    affine[:3, 3] = -80.0
    image = nib.Nifti1Image(data, affine)
    image.header["descrip"] = b"Jane Doe 1980-04-02"
    path = tmp_path_factory.mktemp("heads") / "small.nii.gz"
    nib.save(image, path)
    return path


@pytest.fixture
def patient(client, auth) -> dict:
    """A registered patient."""
    response = client.post("/api/v1/patients", headers=auth["technician"],
                           json={"external_id": f"MRN-{uuid.uuid4().hex[:8]}",
                                 "name": "Jane Doe", "birth_date": "1980-04-02"})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def image(client, auth, patient, small_head) -> dict:
    """An uploaded image of ``patient``."""
    with open(small_head, "rb") as handle:
        response = client.post(f"/api/v1/patients/{patient['id']}/images",
                               headers=auth["technician"],
                               files={"file": ("head.nii.gz", handle, "application/gzip")})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def plan_id(app, image) -> str:
    """A finished, unapproved plan of ``image``."""
    from api_test_fakes import plan_dict

    return insert_plan(app, image["id"], plan_dict())


@pytest.fixture
def approved_plan(client, auth, plan_id) -> str:
    """``plan_id`` approved by a clinician."""
    from course_helpers import approve

    approve(client, auth, plan_id)
    return plan_id


@pytest.fixture
def course(client, auth, app, patient, approved_plan) -> dict:
    """A standard course of ``patient`` from Monday 2025-03-03 on ``approved_plan``, not
    yet screened, with the clinic's today fixed on that Monday (test modules that need
    another course define their own)."""
    from course_helpers import fix_today, new_course

    fix_today(app, date(2025, 3, 3))
    return new_course(client, auth, patient["id"], approved_plan)


@pytest.fixture
def cli_env(monkeypatch, settings):
    """Environment of `navsvc admin` run in this process: this test's data folder and database."""
    monkeypatch.setenv("NAVSVC_DATA_DIR", str(settings.data_dir))
    if settings.database_url:
        monkeypatch.setenv("NAVSVC_DATABASE_URL", settings.database_url)
    else:
        monkeypatch.delenv("NAVSVC_DATABASE_URL", raising=False)
    umask = os.umask(0o022)  # `navsvc admin` sets the service's umask in this process
    yield settings
    os.umask(umask)
