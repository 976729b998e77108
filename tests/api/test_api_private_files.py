"""Patient data on disk is private to the service's OS user, whatever the shell's umask.

The service is started from a shell with umask 022 (the usual default); every file and
folder it then writes under its data folder, and a backup, must have no group or other
permission bits.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from pathlib import Path

import pytest

from api.storage import Storage
from server_process import ServerProcess
from test_api_e2e import run_workflow


@pytest.fixture
def umask_022():
    """The process umask (inherited by the servers started here) set to 022, then restored."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _not_private(root: Path) -> list[str]:
    """``root`` and everything below it that group or others may access."""
    return [f"{stat.S_IMODE(path.lstat().st_mode):04o} {path}"
            for path in [root, *sorted(root.rglob("*"))]
            if stat.S_IMODE(path.lstat().st_mode) & 0o077]


def _levels_naming(caplog, folder: Path) -> list[int]:
    """Levels of the log records that name ``folder``."""
    return [r.levelno for r in caplog.records if str(folder.resolve()) in r.getMessage()]


def test_service_writes_only_private_files_under_umask_022(tmp_path, database_url, umask_022):
    env = {"NAVSVC_PLAN_FUNCTION": "api_test_fakes:fake_make_plan",
           "NAVSVC_JOB_POLL_INTERVAL_S": "0.2"}
    if database_url:
        env["NAVSVC_DATABASE_URL"] = database_url
    data_dir, backup_dir = tmp_path / "data", tmp_path / "backup"
    server = ServerProcess(data_dir, env).start()
    try:
        run_workflow(server)  # upload (spooled, de-identified, stored), plan job, report
        server.cli("admin", "backup", str(backup_dir))
        # while the server runs: SQLite's -wal and -shm files exist too
        written = {p.relative_to(data_dir).parts[0] for p in data_dir.rglob("*")}
        loose = _not_private(data_dir) + _not_private(backup_dir)
    finally:
        server.stop()
    assert {"images", "plans", "tmp"} <= written
    assert any(data_dir.glob("images/*/*")) and any(data_dir.glob("plans/*/plan.json"))
    assert not loose, "\n".join(loose)


def test_an_existing_open_data_folder_is_tightened(tmp_path, caplog, umask_022):
    root = tmp_path / "data"
    root.mkdir(mode=0o755)
    with caplog.at_level(logging.INFO, logger="navsvc"):
        Storage(root).ensure()
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert _levels_naming(caplog, root) == [logging.INFO]


def test_a_data_folder_that_cannot_be_tightened_is_a_warning(tmp_path, caplog, monkeypatch,
                                                             umask_022):
    root = tmp_path / "data"
    root.mkdir(mode=0o755)

    def refuse(*_args, **_kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chmod", refuse)
    with caplog.at_level(logging.INFO, logger="navsvc"):
        Storage(root).ensure()  # the service still starts
    assert _levels_naming(caplog, root) == [logging.WARNING]


def test_start_up_removes_stale_spool_entries_and_keeps_fresh_ones(tmp_path):
    # what a process killed during an upload leaves: the raw upload and a DICOM unpack folder
    storage = Storage(tmp_path / "data")
    storage.ensure()
    stale_file, fresh_file = storage.tmp_dir / "stale.nii.gz", storage.tmp_dir / "fresh.nii.gz"
    stale_dir = storage.tmp_dir / "navsvc-dicom-x"
    stale_dir.mkdir()
    (stale_dir / "IM0001.dcm").write_bytes(b"raw DICOM")
    stale_file.write_bytes(b"raw upload")
    fresh_file.write_bytes(b"an upload in flight in another process")
    outside = tmp_path / "elsewhere"  # a link in the spool: it goes, what it points at stays
    outside.mkdir()
    (outside / "keep.txt").write_text("not the spool's")
    stale_link = storage.tmp_dir / "link"
    stale_link.symlink_to(outside, target_is_directory=True)
    two_days_ago = time.time() - 2 * 24 * 3600
    for entry in (stale_file, stale_dir):
        os.utime(entry, (two_days_ago, two_days_ago))
    os.utime(stale_link, (two_days_ago, two_days_ago), follow_symlinks=False)
    storage.ensure()
    assert sorted(p.name for p in storage.tmp_dir.iterdir()) == ["fresh.nii.gz"]
    assert (outside / "keep.txt").read_text() == "not the spool's"
