"""``navsvc admin restore`` and a running service exclude each other (the lock of
:mod:`api.service_lock` in the data folder): a restore into a data folder that
``navsvc serve`` or ``navsvc worker`` runs on is refused with one error line and
changes nothing, and a service started while a restore runs refuses to start.

Real processes throughout. With PostgreSQL the service runs on the empty (migrated)
database a restore would fill, as in the review's report: the restore used to go
through, and the service's worker failed the restored job for good because its image
file was not yet in place."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from api_test_fakes import plan_dict
from api_test_helpers import insert_plan
from server_process import REPO, ServerProcess, free_port

import api.restore
import api.service_lock as service_lock
from api.backup import backup, reflected_tables, row_counts
from api.config import Settings
from api.migrations import upgrade
from api.restore import restore
from api.storage import sha256_file

#: seconds a refusing service may take to exit (it does so at once; a started one never exits)
REFUSAL_TIMEOUT_S = 30

REFUSED = "stop navsvc serve and every worker, then run the restore again"


@pytest.fixture
def made_backup(app, client, image, settings, tmp_path) -> Path:
    """A backup of an instance with an image and a plan."""
    insert_plan(app, image["id"], plan_dict())
    folder = tmp_path / "backup"
    backup(settings, folder)
    return folder


def _env(data_dir: Path, database_url: str | None, **extra: str) -> dict[str, str]:
    env = {**os.environ, "NAVSVC_DATA_DIR": str(data_dir), **extra,
           "PYTHONPATH": os.pathsep.join([str(REPO), str(Path(__file__).parents[1] / "api")])}
    env.pop("NAVSVC_DATABASE_URL", None)
    if database_url:
        env["NAVSVC_DATABASE_URL"] = database_url
    return env


def _navsvc(env: dict[str, str], *args: str,
            timeout: float = 120) -> subprocess.CompletedProcess | None:
    """Run ``navsvc ARGS``; None if it was still running after ``timeout`` (then killed)."""
    try:
        return subprocess.run([sys.executable, "-m", "navsvc.cli", *args], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def _state(data_dir: Path, url: str) -> tuple[dict[str, str], dict[str, int]]:
    """Every file of the data folder with its SHA-256, and the database's row counts."""
    files = {p.relative_to(data_dir).as_posix(): sha256_file(p)
             for p in sorted(data_dir.rglob("*")) if p.is_file()}
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return files, row_counts(connection, reflected_tables(engine))
    finally:
        engine.dispose()


def _assert_refused(done: subprocess.CompletedProcess, data_dir: Path) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == (f"navsvc: error: navsvc serve or a job worker is running on "
                           f"{data_dir.resolve()} (or another restore is); {REFUSED}\n")
    assert done.stdout == ""


def test_restore_into_the_data_folder_of_a_running_navsvc_serve_is_refused(
        made_backup, tmp_path, fresh_database_url):
    data_dir = tmp_path / "srv" / "data"
    data_dir.parent.mkdir()  # for the server's log
    server = ServerProcess(data_dir, {"NAVSVC_PLAN_FUNCTION": "api_test_fakes:fake_make_plan"})
    server.env.pop("NAVSVC_DATABASE_URL", None)
    if fresh_database_url:
        server.env["NAVSVC_DATABASE_URL"] = fresh_database_url
    server.start()
    try:
        url = fresh_database_url or f"sqlite:///{data_dir / 'navsvc.sqlite3'}"
        before = _state(data_dir, url)
        done = _navsvc(server.env, "admin", "restore", str(made_backup))
        after = _state(data_dir, url)
        assert server.process.poll() is None
    finally:
        server.stop()
    _assert_refused(done, data_dir)
    assert after == before and not any(after[1].values())


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    """``navsvc worker`` (an in-memory broker: no jobs come), once it is ready."""
    process = subprocess.Popen([sys.executable, "-m", "navsvc.cli", "worker"], env=env, cwd=REPO,
                               stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while " ready." not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"worker did not start: {log.read_text(errors='replace')}")
        time.sleep(0.2)
    return process


def test_restore_into_the_data_folder_of_a_running_navsvc_worker_is_refused(
        made_backup, tmp_path, fresh_database_url):
    # the worker's database: the empty one restored into (PostgreSQL, as in docker-compose),
    # or, as a SQLite target must not exist yet, one of its own beside the data folder
    worker_url = fresh_database_url or f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    upgrade(worker_url)
    data_dir = tmp_path / "srv" / "data"
    worker = _start_worker(_env(data_dir, worker_url, NAVSVC_BROKER_URL="memory://"),
                           tmp_path / "worker.log")
    try:
        before = _state(data_dir, worker_url)
        done = _navsvc(_env(data_dir, fresh_database_url), "admin", "restore", str(made_backup))
        after = _state(data_dir, worker_url)
        assert worker.poll() is None
    finally:
        worker.terminate()
        worker.wait(60)
    _assert_refused(done, data_dir)
    assert after == before and list(after[0]) == [".navsvc.lock"] and not any(after[1].values())
    assert not (data_dir / "navsvc.sqlite3").exists()


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_a_service_started_while_a_restore_runs_refuses_to_start(
        made_backup, tmp_path, fresh_database_url, monkeypatch, command):
    target = Settings(data_dir=tmp_path / "srv" / "data", database_url=fresh_database_url)
    env = _env(target.data_dir, fresh_database_url, NAVSVC_BROKER_URL="memory://")
    if command == "serve":
        env.pop("NAVSVC_BROKER_URL")
    args = ["serve", "--port", str(free_port())] if command == "serve" else ["worker"]
    started: list[subprocess.CompletedProcess | None] = []
    stage = api.restore._stage_files

    def stage_then_start_the_service(*stage_args) -> None:
        stage(*stage_args)  # the restore holds its lock: midway
        started.append(_navsvc(env, *args, timeout=REFUSAL_TIMEOUT_S))

    monkeypatch.setattr(api.restore, "_stage_files", stage_then_start_the_service)
    restore(target, made_backup)
    [done] = started
    assert done is not None, f"navsvc {command} started during the restore"
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[-1] == (
        f"navsvc: error: a restore into {target.data_dir.resolve()} is running; start "
        f"navsvc {command} again when 'navsvc admin restore' has finished")


@pytest.mark.parametrize("replaced", [False, True])
def test_a_lock_file_removed_while_it_was_being_locked_is_not_the_one_held(tmp_path, monkeypatch,
                                                                           replaced):
    """A service opens the lock file as a finishing restore removes it (its own, created
    file), and another process may make it anew: the service's shared lock must be on the
    file now in the folder, or the next restore would create a new file, lock it alone
    and run beside the service."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    opened = service_lock._open_lock_file
    calls = []

    def open_as_the_restore_removes_it(path):
        fd, created = opened(path)
        if not calls:
            path.unlink()
            if replaced:
                path.touch()  # another process starting made the file anew
        calls.append(path)
        return fd, created

    monkeypatch.setattr(service_lock, "_open_lock_file", open_as_the_restore_removes_it)
    held = service_lock._try_lock(data_dir, service_lock.fcntl.LOCK_SH)
    try:
        assert len(calls) == 2, "the removed file was locked and kept"
        path = data_dir / service_lock.LOCK_FILE_NAME
        assert os.fstat(held.fd).st_ino == path.stat().st_ino
        assert service_lock._try_lock(data_dir, service_lock.fcntl.LOCK_EX) is None, \
            "a restore could run beside the service"
    finally:
        held.release()
