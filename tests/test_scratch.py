"""Registration scratch folders: private, removed when done, and stale ones of killed
processes removed by the next plan into the same folder."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys

from navsvc.scratch import SCRATCH_PREFIX, registration_scratch, remove_stale_scratch


def _ended_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _scratch_of(folder, host: str, pid: int):
    path = folder / f"{SCRATCH_PREFIX}{host}-{pid}-abc123"
    path.mkdir()
    (path / "1Warp.nii.gz").write_bytes(b"patient anatomy")
    return path


def test_scratch_folder_is_private_named_after_this_process_and_removed_on_exit(tmp_path):
    with registration_scratch(tmp_path) as scratch:
        assert os.path.basename(scratch).startswith(f"{SCRATCH_PREFIX}{socket.gethostname()}-{os.getpid()}-")
        assert stat.S_IMODE(os.stat(scratch).st_mode) == 0o700
        (tmp_path / os.path.basename(scratch) / "file").write_bytes(b"x")
    assert list(tmp_path.iterdir()) == []


def test_a_killed_process_scratch_is_removed_and_live_or_foreign_ones_are_kept(tmp_path):
    host = socket.gethostname()
    dead = _scratch_of(tmp_path, host, _ended_pid())
    live = _scratch_of(tmp_path, host, os.getppid())
    own = _scratch_of(tmp_path, host, os.getpid())
    other_host = _scratch_of(tmp_path, f"not-{host}", _ended_pid())
    legacy = tmp_path / f"{SCRATCH_PREFIX}x1y2z3"  # named before the host and pid were
    legacy.mkdir()
    assert remove_stale_scratch(tmp_path) == [dead]
    assert not dead.exists()
    assert live.exists() and own.exists() and other_host.exists() and legacy.exists()


def test_a_new_scratch_folder_first_removes_the_stale_ones(tmp_path):
    dead = _scratch_of(tmp_path, socket.gethostname(), _ended_pid())
    with registration_scratch(tmp_path):
        assert not dead.exists()
