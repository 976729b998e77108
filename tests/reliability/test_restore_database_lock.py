"""With PostgreSQL, ``navsvc admin restore`` and a running service exclude each other through
the database too (:mod:`api.database_lock`), not only through the data folder.

A restore run with another data folder against the database ``navsvc serve`` uses (a second
machine, a mistyped ``NAVSVC_DATA_DIR``) passed the data-folder lock: into the service's
empty, migrated database it went through, and the restored records named files in a folder
the service does not read. Real processes and a real PostgreSQL server; the lock is per
schema, so an instance in another schema of the same database is not in the way.
"""

from __future__ import annotations

import os
import time

import pytest
import sqlalchemy as sa
from test_restore_running_service import _env, _navsvc, _start_worker, _state

from api import database_lock
from api.backup import backup
from api.config import Settings
from api.migrations import upgrade
from api.restore import restore
from api.service_lock import hold_service_lock
from api.testing import postgres_schema
from navsvc.errors import InputError

pytestmark = pytest.mark.skipif("NAVSVC_TEST_POSTGRES_URL" not in os.environ,
                                reason="needs PostgreSQL (NAVSVC_TEST_POSTGRES_URL)")

REFUSED = "stop navsvc serve and every worker, then run the restore again"


@pytest.fixture
def pg_url():
    """An empty schema of the test PostgreSQL database."""
    with postgres_schema(os.environ["NAVSVC_TEST_POSTGRES_URL"], prefix="l") as url:
        yield url


@pytest.fixture
def table_backup(tmp_path, pg_url):
    """A backup of a PostgreSQL instance holding one patient (restorable into any schema)."""
    source = Settings(data_dir=tmp_path / "source", database_url=pg_url)
    upgrade(pg_url)
    engine = sa.create_engine(pg_url)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO patients (id, external_id, created_at, created_by) "
            "VALUES ('p1', 'MRN-1', now(), 'test')"))
    engine.dispose()
    folder = tmp_path / "backup"
    backup(source, folder)
    return folder


def test_a_restore_with_another_data_folder_into_a_running_workers_database_is_refused(
        table_backup, tmp_path):
    with postgres_schema(os.environ["NAVSVC_TEST_POSTGRES_URL"], prefix="l") as live_url:
        upgrade(live_url)
        worker = _start_worker(_env(tmp_path / "live", live_url, NAVSVC_BROKER_URL="memory://"),
                               tmp_path / "worker.log")
        try:
            before = _state(tmp_path / "live", live_url)
            done = _navsvc(_env(tmp_path / "elsewhere", live_url), "admin", "restore",
                           str(table_backup))
            after = _state(tmp_path / "live", live_url)
            assert worker.poll() is None
        finally:
            worker.terminate()
            worker.wait(60)
    assert done.returncode == 2, done.stdout + done.stderr
    shown = sa.engine.make_url(live_url).render_as_string(hide_password=True)
    assert done.stderr == (f"navsvc: error: navsvc serve or a job worker is running on the "
                           f"database {shown} (or another restore is); {REFUSED}\n")
    assert after == before and not any(after[1].values())
    assert not (tmp_path / "elsewhere").exists()  # the refused restore left nothing


def test_a_service_in_another_schema_does_not_hold_up_a_restore(table_backup, tmp_path, pg_url):
    other = Settings(data_dir=tmp_path / "other", database_url=pg_url)
    upgrade(pg_url)
    held = hold_service_lock(other, "navsvc serve")
    try:
        with postgres_schema(os.environ["NAVSVC_TEST_POSTGRES_URL"], prefix="l") as target_url:
            restore(Settings(data_dir=tmp_path / "target", database_url=target_url), table_backup)
            assert _state(tmp_path / "target", target_url)[1]["patients"] == 1
    finally:
        held.release()


def test_a_service_started_while_a_restore_holds_its_database_refuses_to_start(tmp_path, pg_url):
    restoring = database_lock.hold_database_lock(pg_url, shared=False)
    try:
        with pytest.raises(InputError, match="a restore into the database .* is running; start "
                                             "navsvc worker again"):
            hold_service_lock(Settings(data_dir=tmp_path / "w", database_url=pg_url),
                              "navsvc worker")
    finally:
        restoring.release()
    hold_service_lock(Settings(data_dir=tmp_path / "w", database_url=pg_url),
                      "navsvc worker").release()


def _lock_holders(url: str) -> list[tuple[str, int]]:
    """Modes and backend process ids of navsvc's advisory locks held on the database at
    ``url``."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(
                "SELECT mode, pid FROM pg_locks WHERE locktype = 'advisory' AND classid = :c "
                "AND objid = hashtext(current_schema())::oid AND granted"),
                {"c": database_lock.LOCK_CLASS})]
    finally:
        engine.dispose()


def _wait_until_taken_again(url: str, lost_pid: int) -> None:
    """Wait up to 30 s for one shared lock held by a backend other than ``lost_pid`` alone.

    pg_terminate_backend only signals: the ending backend is listed with its lock for a
    moment, so a lock held by it does not count.
    """
    deadline = time.monotonic() + 30
    holders = _lock_holders(url)
    while not _held_by_another(holders, lost_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
        holders = _lock_holders(url)
    assert _held_by_another(holders, lost_pid), holders


def _held_by_another(holders: list[tuple[str, int]], lost_pid: int) -> bool:
    return len(holders) == 1 and holders[0][0] == "ShareLock" and holders[0][1] != lost_pid


def test_the_service_takes_its_database_lock_again_after_losing_its_connection(
        tmp_path, pg_url, monkeypatch):
    monkeypatch.setattr(database_lock, "KEEPER_INTERVAL_S", 0.2)
    held = hold_service_lock(Settings(data_dir=tmp_path / "s", database_url=pg_url), "navsvc serve")
    try:
        [(mode, lost_pid)] = _lock_holders(pg_url)
        assert mode == "ShareLock"
        engine = sa.create_engine(pg_url)
        with engine.connect() as connection:  # as a database restart would
            connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": lost_pid})
        engine.dispose()
        _wait_until_taken_again(pg_url, lost_pid)
        assert database_lock.hold_database_lock(pg_url, shared=False) is None
    finally:
        held.release()
    assert _lock_holders(pg_url) == []


def test_the_lock_keeper_outlives_a_closed_connection_and_a_failed_take(tmp_path, pg_url, monkeypatch,
                                                                        caplog):
    monkeypatch.setattr(database_lock, "KEEPER_INTERVAL_S", 0.2)
    take, failures = database_lock._take, []

    def take_failing_once(engine, function):
        if not failures:
            failures.append(function)
            raise RuntimeError("an error no check expected")
        return take(engine, function)

    held = hold_service_lock(Settings(data_dir=tmp_path / "s", database_url=pg_url), "navsvc serve")
    try:
        [(_, lost_pid)] = _lock_holders(pg_url)
        monkeypatch.setattr(database_lock, "_take", take_failing_once)
        with held.database._guard:  # SQLAlchemy refuses a closed Connection (not a DBAPIError)
            held.database.connection.close()
        _wait_until_taken_again(pg_url, lost_pid)
        assert failures == ["pg_try_advisory_lock_shared"]
        assert held.database._keeper.is_alive()
        assert "could not be checked or taken again" in caplog.text
    finally:
        held.release()
    assert _lock_holders(pg_url) == []


def test_the_lock_keeper_keeps_a_live_connection(tmp_path, pg_url, monkeypatch):
    """Each check of a connection that still answers keeps it: taking the lock again on a
    new one would leave a connection behind at every round."""
    monkeypatch.setattr(database_lock, "KEEPER_INTERVAL_S", 0.02)
    held = hold_service_lock(Settings(data_dir=tmp_path / "s", database_url=pg_url), "navsvc serve")
    try:
        holders = _lock_holders(pg_url)
        time.sleep(0.5)  # some twenty rounds of the keeper
        assert _lock_holders(pg_url) == holders and len(holders) == 1
    finally:
        held.release()
    assert _lock_holders(pg_url) == []
