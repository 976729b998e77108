"""Fixtures of the deployment tests: a fresh PostgreSQL schema, the Redis broker, and a
queued job on a SQLite data folder (the claim and run tests).

``NAVSVC_TEST_POSTGRES_URL`` (``postgresql+psycopg://user@host:port/db``) and
``NAVSVC_TEST_REDIS_URL`` (``redis://host:port/db``) name the servers; ``.ci/run``
starts both on loopback. Tests needing one are skipped, saying so, without it.
"""

from __future__ import annotations

import os
import uuid

import pytest

from api.config import Settings
from api.db import Database
from api.migrations import upgrade
from api.models import Image, Job, Patient
from api.testing import postgres_schema
from job_helpers import LEASE_S


@pytest.fixture
def redis_url() -> str:
    """The test broker, or skip."""
    url = os.environ.get("NAVSVC_TEST_REDIS_URL")
    if not url:
        pytest.skip("needs a Redis broker: set NAVSVC_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0; "
                    ".ci/run starts one on a free port)")
    return url


@pytest.fixture
def queue_name() -> str:
    """A queue of this test only, so concurrent runs on one Redis do not mix."""
    return f"navsvc-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def postgres_url() -> str:
    """A PostgreSQL URL on a fresh schema (dropped afterwards), or skip."""
    base = os.environ.get("NAVSVC_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("needs PostgreSQL: set NAVSVC_TEST_POSTGRES_URL "
                    "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres; .ci/run starts one on a free port)")
    with postgres_schema(base) as url:
        yield url


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Settings of a worker on a temporary data folder, Celery's in-memory broker and the
    quick fake plan function."""
    return Settings(data_dir=tmp_path / "data", broker_url="memory://",
                    plan_function="deploy_fakes:quick_plan", job_lease_s=LEASE_S,
                    broker_visibility_timeout_s=60)


@pytest.fixture
def database(settings):
    """The data folder's SQLite database, migrated."""
    settings.data_dir.mkdir(parents=True)
    upgrade(settings.resolved_database_url)
    database = Database(settings.resolved_database_url)
    yield database
    database.dispose()


@pytest.fixture
def job_id(database, settings) -> str:
    """A queued job of one patient's image (a placeholder file the fakes do not read)."""
    head = settings.data_dir / "images" / "head.nii.gz"
    head.parent.mkdir(parents=True)
    head.write_bytes(b"not read by the fake plan function")
    with database.session() as session:
        patient = Patient(external_id="MRN-1", created_by="test")
        session.add(patient)
        session.flush()
        image = Image(patient_id=patient.id, stored_path="images/head.nii.gz",
                      upload_sha256="0" * 64, sha256="0" * 64, size_bytes=1,
                      format="nifti", info={}, created_by="test")
        session.add(image)
        session.flush()
        job = Job(image_id=image.id, options={"strategy": "fox2012"}, state="queued",
                  attempts=0, created_by="test")
        session.add(job)
        session.flush()
        return job.id
