"""The lean read path: reads audited before the answer, no write lock, immediate revocation."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import select, update

from api.deps import lookup_principal
from api.models import AuditEvent, Patient, Token, utc_now
from api.security import hash_token


def _events(app, resource_id: str) -> list[AuditEvent]:
    # Straight from the database: no AuditWriter.flush(), as GET /audit would do.
    with app.state.db.session() as session:
        return list(session.scalars(select(AuditEvent)
                                    .where(AuditEvent.resource_id == resource_id)))


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
    if database_url is not None:
        pytest.skip("SQLite's database-wide write lock only")
    token = auth["clinician"]["Authorization"].removeprefix("Bearer ")
    writer = sqlite3.connect(app.state.db.engine.url.database, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        database = app.state.db
        assert lookup_principal(database, hash_token(token)).name == "clinician"
        with database.read_engine.connect() as connection:
            names = connection.execute(select(Patient.name)).scalars().all()
        assert names == ["Jane Doe"]
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_audit_waits_for_a_busy_write_lock_without_blocking_the_service(
        client, app, auth, patient, database_url):
    if database_url is not None:
        pytest.skip("SQLite's database-wide write lock only")
    writer = sqlite3.connect(app.state.db.engine.url.database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    answers = {}
    reader = threading.Thread(target=lambda: answers.setdefault(
        "read", client.get(f"/api/v1/patients/{patient['id']}", headers=auth["clinician"])))
    try:
        reader.start()
        reader.join(0.5)
        assert reader.is_alive()  # its audit record cannot be written yet: no answer
        assert client.get("/healthz").status_code == 200  # the event loop still serves
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    reader.join(30)
    assert answers["read"].status_code == 200
    assert [e.route for e in _events(app, patient["id"]) if e.method == "GET"] == [
        "/api/v1/patients/{patient_id}"]
