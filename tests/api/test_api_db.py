"""The database layer: errors never carry patient values; the event loop's reads stay
correct on their kept connection."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import IntegrityError

from api.models import Job, Patient

_PATIENTS = Patient.__table__
_PATIENT_BY_MRN = select(_PATIENTS.c.external_id).where(_PATIENTS.c.external_id == bindparam("mrn"))


def test_a_failed_insert_does_not_print_the_patients_name(client, app):
    # The unhandled-error handler logs the exception: its text must not hold PHI.
    with app.state.db.session() as session:
        session.add(Patient(external_id="MRN-1", name="Jane Q. Example", created_by="t"))
    with pytest.raises(IntegrityError) as failure, app.state.db.session() as session:
        session.add(Patient(external_id="MRN-1", name="Jane Q. Example", created_by="t"))
    assert "Jane Q. Example" not in str(failure.value)
    assert "parameters hidden" in str(failure.value)
    # (PostgreSQL's own message names the duplicate key's value; the API answers that
    # conflict with a 409 and does not log it)


def test_sqlite_commits_are_synced_to_disk_before_they_are_answered(client, app):
    db = app.state.db
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's commits are durable by its own default (synchronous_commit on)")
    for engine in (db.engine, db.loop_engine, db.read_engine):
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL


def test_a_row_naming_a_missing_record_is_refused(client, app):
    """Foreign keys hold on both databases (SQLite checks them only when asked): a job
    cannot name an image that does not exist."""
    with pytest.raises(IntegrityError), app.state.db.session() as session:
        session.add(Job(image_id="no-such-image", options={}, created_by="t"))
    with app.state.db.session() as session:
        assert session.scalars(select(Job)).all() == []


def test_sqlite_read_then_write_transactions_wait_for_the_writer_before_them(client, app):
    """A session that reads, then writes, while another holds the write lock waits its turn
    and then succeeds; begun as a plain (deferred) SQLite transaction, its read snapshot
    would be stale once the other commits, and its write would fail as "database is
    locked" at once."""
    db = app.state.db
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's writers take row locks; this is SQLite's database lock")
    writing, read_done = threading.Event(), threading.Event()

    def first_writer() -> None:
        with db.session() as session:
            session.add(Patient(external_id="MRN-A", created_by="t"))
            session.flush()
            writing.set()
            read_done.wait(5)  # the other session has begun before this one commits
            time.sleep(0.2)

    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(first_writer)
        assert writing.wait(5)
        with db.session() as session:
            read_done.set()
            count = len(session.scalars(select(Patient)).all())
            session.add(Patient(external_id=f"MRN-B-{count}", created_by="t"))
        first.result()
    with db.session() as session:
        assert sorted(session.scalars(select(Patient.external_id)).all()) == ["MRN-A", "MRN-B-1"]


def test_loop_reads_see_rows_committed_after_their_connection_was_opened(client, app):
    db = app.state.db
    assert db.loop_reads.fetch(_PATIENT_BY_MRN, mrn="MRN-2") == []
    with db.session() as session:  # another connection commits
        session.add(Patient(external_id="MRN-2", created_by="t"))
    assert [row.external_id for row in db.loop_reads.fetch(_PATIENT_BY_MRN, mrn="MRN-2")] == ["MRN-2"]


def test_loop_reads_from_another_thread_take_the_pooled_path(client, app):
    db = app.state.db
    db.loop_reads.fetch(_PATIENT_BY_MRN, mrn="x")  # this thread owns the kept connection
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(db.loop_reads.fetch, _PATIENT_BY_MRN, mrn="x").result() == []


def test_loop_reads_survive_the_server_dropping_their_connection(client, app):
    db = app.state.db
    if not db.url.startswith("postgresql"):
        pytest.skip("PostgreSQL drops connections (restart, idle timeout); SQLite has none")
    db.loop_reads.fetch(_PATIENT_BY_MRN, mrn="x")
    pid = db.loop_reads._connect().driver_connection.info.backend_pid
    with db.engine.connect() as other:  # what a server restart does to the kept connection
        # the timeout waits for the backend to end (it only signals without one)
        assert other.execute(text("SELECT pg_terminate_backend(:pid, 30000)"),
                             {"pid": pid}).scalar()
    assert db.loop_reads.fetch(_PATIENT_BY_MRN, mrn="x") == []
    assert db.loop_reads._connect().driver_connection.info.backend_pid != pid


def test_the_migrations_build_the_tables_the_models_describe(client, app):
    # a column added to a model without its migration (or the other way round) fails here,
    # not on the first deployment that upgrades
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from api.models import Base

    with app.state.db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
