"""Fixtures of the reliability tests: those of ``tests/api`` plus a seeded course.

The API test folder is put on ``sys.path`` (its helpers, fakes and server process are
imported by name) and its fixtures (settings, app, client, auth, small_head, ...) are
re-exported here under the same names.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from api.testing import postgres_schema

API_TESTS = Path(__file__).resolve().parents[1] / "api"
HERE = Path(__file__).resolve().parent
for folder in (API_TESTS, HERE):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

_spec = importlib.util.spec_from_file_location("api_tests_conftest", API_TESTS / "conftest.py")
_api_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_api_conftest)

database_url = _api_conftest.database_url
settings = _api_conftest.settings
app = _api_conftest.app
auth = _api_conftest.auth
small_head = _api_conftest.small_head
patient = _api_conftest.patient
image = _api_conftest.image
cli_env = _api_conftest.cli_env


@pytest.fixture
def fresh_database_url(database_url):
    """A second, empty database of the same kind as the source: SQLite (None) or a new
    PostgreSQL schema (a SQLite backup restores into SQLite only)."""
    if database_url is None:
        yield None
        return
    with postgres_schema(os.environ["NAVSVC_TEST_POSTGRES_URL"], prefix="r") as url:
        yield url


@pytest.fixture
def client(app):
    """A test client with the application started; a 5xx is returned, not raised."""
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def seeded(client, app, auth, small_head) -> dict[str, str]:
    """Ids of a patient, image, approved plan, calendar and a due course (in-process app)."""
    from api_test_fakes import plan_dict
    from api_test_helpers import insert_plan
    from seed import seed_course

    return seed_course(client, auth, lambda image_id: insert_plan(app, image_id, plan_dict()),
                       small_head)


@pytest.fixture
def server_factory(tmp_path, database_url):
    """Start ``navsvc serve`` processes on one data folder (fake plan function by default).

    ``start(plan_function=None, **env)`` returns a started :class:`ServerProcess`;
    every server still running is stopped afterwards.
    """
    from server_process import ServerProcess

    servers = []

    def start(plan_function: str = "api_test_fakes:fake_make_plan", **env) -> ServerProcess:
        variables = {"NAVSVC_PLAN_FUNCTION": plan_function, "NAVSVC_JOB_POLL_INTERVAL_S": "0.2",
                     **{f"NAVSVC_{k.upper()}": str(v) for k, v in env.items()}}
        if database_url:
            variables["NAVSVC_DATABASE_URL"] = database_url
        server = ServerProcess(tmp_path / "data", variables)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        if server.process is not None and server.process.poll() is None:
            server.stop()
        elif server.process is not None:
            server.log.close()
