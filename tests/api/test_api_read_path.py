"""The lean read path: reads audited before the answer, no write lock, immediate revocation."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import select, text, update

from api.deps import lookup_principal
from api.models import AuditEvent, Patient, Token, utc_now
from api.security import hash_token


def _events(app, resource_id: str) -> list[AuditEvent]:
    # Straight from the database: no AuditWriter.flush(), as GET /audit would do.
    with app.state.db.session() as session:
        return list(session.scalars(select(AuditEvent)
                                    .where(AuditEvent.resource_id == resource_id)))


@contextmanager
def write_lock_held_elsewhere(app, database_url):
    """Hold SQLite's write lock on another connection, as another process would."""
    if database_url is not None:
        pytest.skip("SQLite's database-wide write lock only")
    writer = sqlite3.connect(app.state.db.engine.url.database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def read_in_a_thread(client, auth, patient) -> tuple[threading.Thread, dict]:
    """Start reading ``patient`` in a thread; its answer goes to the dict's ``read``."""
    answers = {}
    reader = threading.Thread(target=lambda: answers.setdefault(
        "read", client.get(f"/api/v1/patients/{patient['id']}", headers=auth["clinician"])))
    reader.start()
    return reader, answers


def test_a_read_is_on_record_before_it_is_answered(client, app, auth, patient, plan_id):
    for url in (f"/api/v1/patients/{patient['id']}", f"/api/v1/plans/{plan_id}"):
        assert client.get(url, headers=auth["clinician"]).status_code == 200
    reads = [e for e in _events(app, patient["id"]) if e.method == "GET"]
    assert [(e.token_name, e.route, e.outcome) for e in reads] == [
        ("clinician", "/api/v1/patients/{patient_id}", "success")]
    plan_reads = _events(app, plan_id)
    assert [(e.route, e.status_code) for e in plan_reads] == [("/api/v1/plans/{plan_id}", 200)]


def test_no_answer_without_its_audit_record(client, app, auth, patient, monkeypatch):
    def broken(events):
        raise RuntimeError("audit table unavailable")

    monkeypatch.setattr(app.state.audit, "_insert", broken)
    response = client.get(f"/api/v1/patients/{patient['id']}", headers=auth["clinician"])
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "Jane Doe" not in response.text and "audit" in response.json()["detail"]
    listing = client.get("/api/v1/patients", headers=auth["clinician"])
    assert listing.status_code == 500 and "Jane Doe" not in listing.text


def test_revocation_by_another_process_takes_effect_at_once(client, app, auth):
    # Revoked by a direct UPDATE, as `navsvc admin revoke-token` in another process
    # would: nothing in this process is told.
    assert client.get("/api/v1/patients", headers=auth["technician"]).status_code == 200
    with app.state.db.session() as session:
        session.execute(update(Token).where(Token.name == "technician")
                        .values(revoked_at=utc_now()))
    assert client.get("/api/v1/patients", headers=auth["technician"]).status_code == 401
    assert client.get("/api/v1/patients", headers=auth["clinician"]).status_code == 200


def test_reads_do_not_wait_for_the_write_lock(client, app, auth, patient, database_url):
    token = auth["clinician"]["Authorization"].removeprefix("Bearer ")
    with write_lock_held_elsewhere(app, database_url):
        database = app.state.db
        assert lookup_principal(database, hash_token(token)).name == "clinician"
        with database.read_engine.connect() as connection:
            names = connection.execute(select(Patient.name)).scalars().all()
        assert names == ["Jane Doe"]


def test_audit_waits_for_a_busy_write_lock_without_blocking_the_service(
        client, app, auth, patient, database_url):
    with write_lock_held_elsewhere(app, database_url):
        reader, answers = read_in_a_thread(client, auth, patient)
        reader.join(0.5)
        assert reader.is_alive()  # its audit record cannot be written yet: no answer
        assert client.get("/healthz").status_code == 200  # the event loop still serves
    reader.join(30)
    assert answers["read"].status_code == 200
    assert [e.route for e in _events(app, patient["id"]) if e.method == "GET"] == [
        "/api/v1/patients/{patient_id}"]


def test_an_answer_whose_record_waits_too_long_for_the_write_lock_is_withheld(
        client, app, auth, patient, database_url, monkeypatch):
    from api import audit

    monkeypatch.setattr(audit, "LOCK_TIMEOUT_S", 0.3)
    with write_lock_held_elsewhere(app, database_url):
        reader, answers = read_in_a_thread(client, auth, patient)
        reader.join(30)
        still_waiting = reader.is_alive()
    reader.join(30)
    assert not still_waiting, "the request waited for the write lock past LOCK_TIMEOUT_S"
    response = answers["read"]
    assert response.status_code == 500 and "Jane Doe" not in response.text
    assert "could not be recorded in the audit trail; nothing was returned" in response.json()["detail"]
    assert client.get(f"/api/v1/patients/{patient['id']}", headers=auth["clinician"]).status_code == 200
    assert [e.status_code for e in _events(app, patient["id"]) if e.method == "GET"] == [200]


def test_the_audit_trail_survives_the_server_dropping_its_connection(client, app, auth, patient):
    db = app.state.db
    if not db.url.startswith("postgresql"):
        pytest.skip("PostgreSQL drops connections (restart, idle timeout); SQLite has none")
    url = f"/api/v1/patients/{patient['id']}"
    assert client.get(url, headers=auth["clinician"]).status_code == 200
    pid = app.state.audit._connection.connection.driver_connection.info.backend_pid
    with db.engine.connect() as other:  # what a server restart does to the kept connection
        assert other.execute(text("SELECT pg_terminate_backend(:pid, 30000)"), {"pid": pid}).scalar()
    assert client.get(url, headers=auth["clinician"]).status_code == 200
    assert app.state.audit._connection.connection.driver_connection.info.backend_pid != pid
    assert [e.status_code for e in _events(app, patient["id"]) if e.method == "GET"] == [200, 200]


def test_a_cancelled_request_does_not_hold_up_the_others_recorded_with_it(client, app):
    """A request cancelled while its event waited (the client went away) left a settled
    future in the batch; settling it again raised, and the other requests of the batch
    were never answered."""
    import asyncio

    from api.audit import AuditWriter

    writer = AuditWriter(app.state.db)
    event = dict(method="GET", route="/api/v1/patients", status_code=200, outcome="success")

    async def two_requests() -> None:
        gone = asyncio.create_task(writer.write(**event, resource_id="gone"))
        kept = asyncio.create_task(writer.write(**event, resource_id="kept"))
        await asyncio.sleep(0)  # both events wait in one batch
        gone.cancel()
        await asyncio.wait_for(kept, timeout=10)

    try:
        asyncio.run(two_requests())
    finally:
        writer.close()
    assert [e.resource_id for e in _events(app, "kept")] == ["kept"]
