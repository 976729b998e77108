"""Registration scratch folders: private, removed when done, and stale ones of killed
processes removed by the next plan into the same folder."""

from __future__ import annotations

import errno
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from navsvc.errors import InputError
from navsvc.scratch import (SCRATCH_PREFIX, missing_folders, output_folder, publish_plan_files,
                            registration_scratch, remove_empty_folders, remove_stale_scratch)
from navsvc.work_names import made_by_ended_process, work_name_prefix


def _scratch_of(folder, host: str, pid: int):
    path = folder / f"{work_name_prefix(SCRATCH_PREFIX, host, pid)}abc123"
    path.mkdir()
    (path / "1Warp.nii.gz").write_bytes(b"patient anatomy")
    return path


def test_scratch_folder_is_private_named_after_this_process_and_removed_on_exit(tmp_path):
    with registration_scratch(tmp_path) as scratch:
        assert os.path.basename(scratch).startswith(work_name_prefix(SCRATCH_PREFIX, socket.gethostname(), os.getpid()))
        assert stat.S_IMODE(os.stat(scratch).st_mode) == 0o700
        (tmp_path / os.path.basename(scratch) / "file").write_bytes(b"x")
    assert list(tmp_path.iterdir()) == []


def test_a_killed_process_scratch_is_removed_and_live_or_foreign_ones_are_kept(tmp_path, ended_pid):
    host = socket.gethostname()
    dead = _scratch_of(tmp_path, host, ended_pid())
    live = _scratch_of(tmp_path, host, os.getppid())
    own = _scratch_of(tmp_path, host, os.getpid())
    other_host = _scratch_of(tmp_path, f"not-{host}", ended_pid())
    # host "<host>-<n>" is another host, not process n of this one: a dash cannot tell them apart
    longer_host = _scratch_of(tmp_path, f"{host}-{ended_pid()}", ended_pid())
    legacy = tmp_path / f"{SCRATCH_PREFIX}x1y2z3"  # named before the host and pid were
    legacy.mkdir()
    assert remove_stale_scratch(tmp_path) == [dead]
    assert not dead.exists()
    assert all(kept.exists() for kept in (live, own, other_host, longer_host, legacy))


def test_a_new_scratch_folder_first_removes_the_stale_ones(tmp_path, ended_pid):
    dead = _scratch_of(tmp_path, socket.gethostname(), ended_pid())
    with registration_scratch(tmp_path):
        assert not dead.exists()


_KILLED_AFTER_DICOM_CONVERSION = """
import os, signal, sys
from navsvc.io import loader
from navsvc.cli import main

convert = loader.dicom_to_nifti

def convert_then_die(*args, **kwargs):
    result = convert(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)  # as a power cut or the OOM killer would
    return result

loader.dicom_to_nifti = convert_then_die
main(["plan", sys.argv[1], "--out", sys.argv[2]])
"""


def test_a_plan_killed_while_reading_dicom_leaves_the_raw_files_only_in_its_stale_scratch(tmp_path):
    # The series used to be unpacked straight into the output folder: a killed process left
    # the patient's DICOM files there, under a name no cleanup knew.
    from corpus.dicom_series import write_dicom_series
    from corpus.make_bad_images import colin27

    series, out = tmp_path / "series", tmp_path / "out"
    write_dicom_series(colin27(2), series)
    done = subprocess.run([sys.executable, "-c", _KILLED_AFTER_DICOM_CONVERSION, str(series), str(out)],
                          capture_output=True, text=True)
    assert done.returncode == -9, done.stderr
    left = list(out.iterdir())
    assert len(left) == 1 and left[0].name.startswith(f"{SCRATCH_PREFIX}{socket.gethostname()}@"), left
    assert any(p.is_file() for p in left[0].rglob("*")), "the conversion wrote nothing: the test shows nothing"
    assert remove_stale_scratch(out) == left
    assert list(out.iterdir()) == []


NAMES = ("transforms", "report.html", "plan.json")


def _plan_files(folder, tag):
    (folder / "transforms").mkdir(parents=True, exist_ok=True)
    (folder / "transforms" / f"{tag}.mat").write_text(tag)
    (folder / "report.html").write_text(f"{tag} report")
    (folder / "plan.json").write_text(f"{tag} plan")


def _contents(folder, everything=False):
    """The files of ``folder`` (outside scratch folders unless ``everything``) by relative path."""
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*"))
            if p.is_file() and (everything or SCRATCH_PREFIX not in str(p.relative_to(folder)))}


def _whole_plan(tag):
    return {f"transforms/{tag}.mat": tag, "report.html": f"{tag} report", "plan.json": f"{tag} plan"}


def test_publishing_replaces_an_earlier_plan_and_keeps_other_files(tmp_path):
    out = tmp_path / "out"
    _plan_files(out, "old")
    (out / "notes.txt").write_text("kept")
    with registration_scratch(out) as scratch_name:
        scratch = out / os.path.basename(scratch_name)
        _plan_files(scratch, "new")
        publish_plan_files(scratch, out, NAMES)
    assert _contents(out) == {"notes.txt": "kept", "plan.json": "new plan", "report.html": "new report",
                              "transforms/new.mat": "new"}
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "plan.json", "report.html", "transforms"]


def test_two_plans_finishing_at_once_into_one_folder_leave_one_whole_plan(tmp_path, monkeypatch):
    # Each rename is slowed so that the two publications would interleave: without taking
    # turns, one plan's plan.json ended beside the other's transforms.
    out = tmp_path / "out"
    _plan_files(out, "old")
    stagings = []
    for tag in ("first", "second"):
        staging = out / f"{SCRATCH_PREFIX}{tag}"
        _plan_files(staging, tag)
        stagings.append(staging)
    rename, start = os.rename, threading.Barrier(2)

    def slow_rename(source, target):
        rename(source, target)
        time.sleep(0.05)

    monkeypatch.setattr(os, "rename", slow_rename)

    errors = []

    def publish(staging):
        try:
            start.wait(timeout=10)
            publish_plan_files(staging, out, NAMES)
        except BaseException as exc:  # a thread's error is otherwise only a warning
            errors.append(exc)

    workers = [threading.Thread(target=publish, args=(staging,)) for staging in stagings]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert not any(worker.is_alive() for worker in workers), "a publication never finished: lock not released?"
    assert errors == []
    published = _contents(out)
    last = published["plan.json"].split()[0]
    first = "first" if last == "second" else "second"
    assert published == _whole_plan(last)
    # each replaced plan was moved aside whole: the old one by the first, the first by the last
    assert _contents(out / f"{SCRATCH_PREFIX}{first}" / ".earlier-plan", everything=True) == _whole_plan("old")
    assert _contents(out / f"{SCRATCH_PREFIX}{last}" / ".earlier-plan", everything=True) == _whole_plan(first)


@pytest.mark.parametrize("failing", NAMES)
def test_a_move_that_fails_puts_the_earlier_plan_back_whole(tmp_path, monkeypatch, failing):
    # plan.json was deleted first, the report overwritten and the old transforms dropped
    # before the new plan.json was written: a full disk then left a folder without its plan
    out = tmp_path / "out"
    _plan_files(out, "old")
    before = _contents(out)
    rename = os.rename

    with registration_scratch(out) as scratch_name:
        scratch = out / os.path.basename(scratch_name)

        def fails_for_one_new_file(source, target):
            if os.path.basename(target) == failing and os.path.dirname(source) == str(scratch):
                raise OSError(28, "No space left on device")
            rename(source, target)

        _plan_files(scratch, "new")
        monkeypatch.setattr(os, "rename", fails_for_one_new_file)
        with pytest.raises(OSError, match="No space"):
            publish_plan_files(scratch, out, NAMES)
        monkeypatch.undo()
    assert _contents(out) == before
    assert sorted(p.name for p in out.iterdir()) == ["plan.json", "report.html", "transforms"]


def test_a_disk_error_syncing_the_moved_plan_puts_the_earlier_plan_back(tmp_path, monkeypatch):
    # the sync ran after the rollback's reach: the command failed, the new plan stayed and
    # the earlier one went with the scratch folder
    from navsvc import scratch as scratch_module

    out = tmp_path / "out"
    _plan_files(out, "old")
    before = _contents(out)
    sync = scratch_module.fsync_path

    def disk_fails_on_the_output_folder(path):
        if Path(path) == out:
            raise OSError(errno.EIO, "Input/output error")
        sync(path)

    monkeypatch.setattr(scratch_module, "fsync_path", disk_fails_on_the_output_folder)
    with registration_scratch(out) as scratch_name:
        staging = out / os.path.basename(scratch_name)
        _plan_files(staging, "new")
        with pytest.raises(OSError, match="Input/output"):
            publish_plan_files(staging, out, NAMES)
    assert _contents(out) == before


def test_the_plans_files_are_synced_before_they_move_in(tmp_path, monkeypatch):
    # ANTs' transforms were copied and never synced: after a power cut a plan.json could
    # sit beside empty transform files
    from navsvc import files
    from navsvc import scratch as scratch_module

    out = tmp_path / "out"
    out.mkdir()
    events = []
    fsync, rename = files.fsync_path, os.rename

    def recorded_fsync(path):
        events.append(("sync", Path(path).name))
        fsync(path)

    for module in (files, scratch_module):
        monkeypatch.setattr(module, "fsync_path", recorded_fsync)
    monkeypatch.setattr(os, "rename", lambda a, b: (events.append(("rename", Path(b).name)), rename(a, b)))
    with registration_scratch(out) as scratch_name:
        staging = out / os.path.basename(scratch_name)
        _plan_files(staging, "new")
        publish_plan_files(staging, out, NAMES)
    first_rename = events.index(("rename", "transforms"))
    synced_before = {name for kind, name in events[:first_rename] if kind == "sync"}
    assert {"new.mat", "transforms", "report.html", "plan.json"} <= synced_before, events
    # the renames, then the output folder's own entry in its parent (a new folder's)
    assert events[-2:] == [("sync", "out"), ("sync", tmp_path.name)]


def test_a_symlinked_earlier_folder_is_moved_aside_not_followed(tmp_path):
    # a transforms symlink made the final move fail after the whole registration
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "kept.mat").write_text("not the plan's to delete")
    out = tmp_path / "out"
    out.mkdir()
    (out / "transforms").symlink_to(elsewhere, target_is_directory=True)
    with registration_scratch(out) as scratch_name:
        scratch = out / os.path.basename(scratch_name)
        _plan_files(scratch, "new")
        publish_plan_files(scratch, out, NAMES)
    assert not (out / "transforms").is_symlink() and (out / "transforms" / "new.mat").read_text() == "new"
    assert (elsewhere / "kept.mat").read_text() == "not the plan's to delete"


def test_the_folders_a_refused_plan_made_are_removed_and_no_others(tmp_path):
    (tmp_path / "existing").mkdir()
    path = tmp_path / "existing" / "p1" / "p2" / "p3"
    made = missing_folders(path)
    assert made == [path, path.parent, path.parent.parent]
    path.mkdir(parents=True)
    remove_empty_folders(made)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing"]
    assert list((tmp_path / "existing").iterdir()) == []


def test_a_folder_with_content_is_kept_with_its_parents(tmp_path):
    path = tmp_path / "p1" / "p2"
    made = missing_folders(path)
    path.mkdir(parents=True)
    (path / "plan.json").write_text("{}")
    remove_empty_folders(made)
    assert (path / "plan.json").exists()


def test_a_scratch_folder_is_made_in_a_new_output_folder_that_another_refused_plan_removed(tmp_path):
    out = tmp_path / "new"
    made = missing_folders(out)
    out.mkdir()
    remove_empty_folders(made)  # the other plan, refused, between our mkdir and our scratch folder
    with registration_scratch(out) as scratch_name:
        assert Path(scratch_name).parent == out and Path(scratch_name).is_dir()
        remove_empty_folders(made)  # a refusal now keeps the folder that holds our scratch
        assert Path(scratch_name).is_dir()


def test_the_output_folder_is_made_with_its_parents_kept_when_there_and_a_file_refused(tmp_path):
    nested = tmp_path / "patients" / "P-0001" / "plan"
    assert output_folder(nested) == nested and nested.is_dir()
    (nested / "plan.json").write_text("{}")
    assert output_folder(nested) == nested and (nested / "plan.json").read_text() == "{}"  # an earlier plan's folder
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    with pytest.raises(InputError) as err:
        output_folder(taken)
    assert str(err.value) == f"cannot use {taken} as the output folder (File exists): give a folder you can write to"


def test_only_a_whole_work_name_of_an_ended_process_on_this_host_counts_as_left_behind(ended_pid):
    # stale-scratch removal deletes what this answers True for: a name that only looks like
    # a work name (no random part, a pid that is not plain digits, another host's) is kept
    pid, host = ended_pid(), socket.gethostname()
    start = f"{SCRATCH_PREFIX}{host}@"
    # int() reads Arabic-Indic digits too: the ended process's id written in them is not ours
    pid_in_other_digits = str(pid).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert made_by_ended_process(f"{start}{pid}-abc123", SCRATCH_PREFIX)
    for name in (f"{start}{pid}", f"{start}{pid}x-abc", f"{start}-abc", f"{start}{pid_in_other_digits}-abc",
                 f"{start}+{pid}-abc", f"{SCRATCH_PREFIX}other-host@{pid}-abc", f"{start}{os.getpid()}-abc"):
        assert not made_by_ended_process(name, SCRATCH_PREFIX), name
