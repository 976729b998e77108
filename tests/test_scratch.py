"""Registration scratch folders: private, removed when done, and stale ones of killed
processes removed by the next plan into the same folder."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys

from navsvc.scratch import (SCRATCH_PREFIX, publish_plan_files, registration_scratch, remove_if_empty,
                            remove_stale_scratch)


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


def test_publishing_replaces_an_earlier_plan_and_keeps_other_files(tmp_path):
    out = tmp_path / "out"
    (out / "transforms").mkdir(parents=True)
    (out / "transforms" / "old_only.mat").write_bytes(b"old")
    (out / "report.html").write_text("old report")
    (out / "plan.json").write_text("old plan")
    (out / "notes.txt").write_text("kept")
    with registration_scratch(out) as scratch_name:
        scratch = out / os.path.basename(scratch_name)
        (scratch / "transforms").mkdir()
        (scratch / "transforms" / "new.mat").write_bytes(b"new")
        (scratch / "report.html").write_text("new report")
        publish_plan_files(scratch, out, ("report.html", "transforms"), "new plan")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "plan.json", "report.html", "transforms"]
    assert [p.name for p in (out / "transforms").iterdir()] == ["new.mat"]
    assert (out / "report.html").read_text() == "new report"
    assert (out / "plan.json").read_text() == "new plan"
    assert (out / "notes.txt").read_text() == "kept"


def test_publishing_removes_the_earlier_plan_json_before_anything_else_moves(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "plan.json").write_text("old plan")
    staging = out / "staging"
    staging.mkdir()  # no report.html in it: the move fails half-way
    try:
        publish_plan_files(staging, out, ("report.html",), "new plan")
    except FileNotFoundError:
        pass
    else:
        raise AssertionError("the move of a missing file did not fail")
    assert not (out / "plan.json").exists(), "a plan.json was left beside files of another run"


def test_only_an_empty_output_folder_is_removed(tmp_path):
    empty, used = tmp_path / "empty", tmp_path / "used"
    empty.mkdir()
    used.mkdir()
    (used / "plan.json").write_text("{}")
    remove_if_empty(empty)
    remove_if_empty(used)
    remove_if_empty(tmp_path / "absent")
    assert not empty.exists() and (used / "plan.json").exists()
