"""SQLite's write lock under contention: route threads take turns in order of arrival,
and a request that cannot get the lock in time is answered 503 with nothing changed."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid

import pytest
from fastapi.testclient import TestClient

import api.db
import api.deps
from api.app import create_app
from api.config import Settings
from api.tokens import create_token
from api.writer_queue import WriterQueue


def test_turns_go_in_order_of_arrival():
    queue, order = WriterQueue(), []
    assert queue.acquire(1.0)
    threads = []
    for n in range(5):
        thread = threading.Thread(target=lambda n=n: (queue.acquire(10.0), order.append(n),
                                                      queue.release()))
        thread.start()
        threads.append(thread)
        time.sleep(0.05)  # each waiter queued before the next one asks
    queue.release()
    for thread in threads:
        thread.join(10)
    assert order == [0, 1, 2, 3, 4]


def test_a_waiter_that_gives_up_leaves_the_queue():
    queue = WriterQueue()
    assert queue.acquire(1.0)
    assert not queue.acquire(0.05)
    queue.release()  # nobody waits any more: the next caller goes straight in
    assert queue.acquire(0.0)
    queue.release()


@pytest.fixture
def sqlite_app(tmp_path, monkeypatch):
    monkeypatch.setattr(api.db, "SQLITE_BUSY_TIMEOUT_S", 0.3)
    monkeypatch.setattr(api.deps, "TURN_TIMEOUT_S", 0.3)
    app = create_app(Settings(data_dir=tmp_path / "data", embedded_worker=False,
                              plan_function="api_test_fakes:fake_make_plan"))
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {create_token(app.state.db, 'technician', 'technician')}"}
        yield app, client, headers


def _create_patient(client, headers):
    return client.post("/api/v1/patients", headers=headers,
                       json={"external_id": f"MRN-{uuid.uuid4().hex[:8]}", "name": "Jane Doe"})


def _patients(client, headers) -> int:
    return len(client.get("/api/v1/patients", headers=headers).json()["items"])


def test_a_write_lock_held_by_another_process_gives_503_and_changes_nothing(sqlite_app):
    app, client, headers = sqlite_app
    assert _create_patient(client, headers).status_code == 201
    other = sqlite3.connect(api.db.sqlite_file(app.state.db.url), isolation_level=None,
                            check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # what a job process's long write does
    # Let go after the route gave up (0.3 s), so that the answer's audit event, which
    # waits for the lock too, can be written.
    release = threading.Timer(1.0, lambda: (other.execute("ROLLBACK"), other.close()))
    release.start()
    busy = _create_patient(client, headers)
    release.join()
    assert busy.status_code == 503, busy.text
    assert busy.headers["Retry-After"] == "5"
    assert "changed nothing" in busy.json()["detail"]
    assert _patients(client, headers) == 1
    assert _create_patient(client, headers).status_code == 201  # the lock is free again
    assert _patients(client, headers) == 2


def test_a_route_whose_turn_does_not_come_gives_503_and_changes_nothing(sqlite_app):
    app, client, headers = sqlite_app
    queue = app.state.db.writer_queue
    assert queue.acquire(1.0)  # a long route of this process holds the turn
    try:
        busy = _create_patient(client, headers)
    finally:
        queue.release()
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "5", busy.text
    assert _patients(client, headers) == 0
    assert _create_patient(client, headers).status_code == 201
