"""Fixtures of the deployment tests: a fresh PostgreSQL schema, the Redis broker.

``NAVSVC_TEST_POSTGRES_URL`` (``postgresql+psycopg://user@host:port/db``) and
``NAVSVC_TEST_REDIS_URL`` (``redis://host:port/db``) name the servers; ``.ci/run``
starts both on loopback. Tests needing one are skipped, saying so, without it.
"""

from __future__ import annotations

import os
import uuid

import pytest

from api.testing import postgres_schema


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
