"""navsvc.files.write_atomically: old content or new, never part of it."""

from __future__ import annotations

import errno
import os
import socket
import stat
import subprocess
import sys

import pytest

from navsvc.files import write_atomically
from navsvc.work_names import work_name_prefix


def test_writes_bytes_and_text_replacing_the_file(tmp_path):
    path = tmp_path / "coil.xml"
    path.write_bytes(b"earlier")
    assert write_atomically(path, b"<new/>") == path
    assert path.read_bytes() == b"<new/>"
    write_atomically(path, "caf\u00e9")
    assert path.read_text(encoding="utf-8") == "caf\u00e9"
    assert [p.name for p in tmp_path.iterdir()] == ["coil.xml"]


def test_a_failed_write_leaves_the_earlier_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "coil.xml"
    path.write_bytes(b"earlier")

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space"):
        write_atomically(path, b"x" * 100)
    assert path.read_bytes() == b"earlier"
    assert [p.name for p in tmp_path.iterdir()] == ["coil.xml"]


def test_mode_follows_the_umask(tmp_path):
    modes = {}
    for umask in (0o022, 0o077):
        previous = os.umask(umask)
        try:
            path = write_atomically(tmp_path / f"{umask:o}.txt", b"x")
        finally:
            os.umask(previous)
        modes[umask] = stat.S_IMODE(path.stat().st_mode)
    assert modes == {0o022: 0o644, 0o077: 0o600}


def test_a_replaced_file_keeps_its_mode(tmp_path):
    path = tmp_path / "coil.xml"
    path.write_bytes(b"earlier")
    path.chmod(0o640)
    write_atomically(path, b"new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path):
    versioned = tmp_path / "coil_v1.xml"
    versioned.write_bytes(b"earlier")
    link = tmp_path / "current.xml"
    link.symlink_to(versioned.name)
    write_atomically(link, b"new")
    assert link.is_symlink() and versioned.read_bytes() == b"new"


def test_a_fifo_is_written_in_place(tmp_path):
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    write_atomically(fifo, b"through the pipe")
    reader.join(timeout=10)
    assert received == [b"through the pipe"] and stat.S_ISFIFO(fifo.stat().st_mode)


def test_the_data_and_then_the_rename_are_synced_to_disk(tmp_path, monkeypatch):
    # Without fsync a power cut soon after the write could leave the new name on an empty
    # or partial file: a navigator would read a truncated list of points.
    events, fsync, replace = [], os.fsync, os.replace

    def record_fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def record_replace(source, target):
        events.append(("replace", str(target)))
        replace(source, target)

    monkeypatch.setattr(os, "fsync", record_fsync)
    monkeypatch.setattr(os, "replace", record_replace)
    path = tmp_path / "targets.txt"
    write_atomically(path, "# Brainsight\n")
    kinds = [kind for kind, _ in events]
    assert kinds == ["fsync", "replace", "fsync"], events
    assert events[0][1].endswith(".tmp") and events[1][1] == str(path) and events[2][1] == str(tmp_path)


def test_stdout_piped_to_another_program_is_written_in_place():
    # /dev/stdout links to /proc/self/fd/1, which names "pipe:[N]" when piped: resolving
    # the link gave a path that does not exist
    done = subprocess.run([sys.executable, "-c", "from navsvc.files import write_atomically; "
                           "write_atomically('/dev/stdout', 'x,y,z\\n')"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "x,y,z\n"


def _folder_fsync_fails(monkeypatch, error_number):
    fsync = os.fsync

    def failing(fd):
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(error_number, os.strerror(error_number))
        fsync(fd)

    monkeypatch.setattr(os, "fsync", failing)


@pytest.mark.parametrize("error_number", [errno.EINVAL, errno.ENOTSUP, errno.ENOSYS])
def test_a_file_system_that_cannot_sync_folders_still_gets_the_file(tmp_path, monkeypatch, error_number):
    # CIFS before Linux 4.17, VirtualBox shared folders, some FUSE mounts: a navigator's
    # import share must not refuse every export
    _folder_fsync_fails(monkeypatch, error_number)
    write_atomically(tmp_path / "targets.txt", "new")
    assert (tmp_path / "targets.txt").read_text() == "new"


def test_a_folder_this_user_may_write_but_not_read_still_gets_the_file(tmp_path, monkeypatch):
    # a drop folder (mode 0333); simulated, as the tests may run as root, who reads anything
    opened = os.open

    def no_read(path, flags, *args):
        if os.path.isdir(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return opened(path, flags, *args)

    monkeypatch.setattr(os, "open", no_read)
    write_atomically(tmp_path / "targets.txt", "new")
    assert (tmp_path / "targets.txt").read_text() == "new"


def test_a_disk_error_while_syncing_is_raised(tmp_path, monkeypatch):
    _folder_fsync_fails(monkeypatch, errno.EIO)
    with pytest.raises(OSError, match="Input/output error"):
        write_atomically(tmp_path / "targets.txt", "new")


_KILLED_BEFORE_RENAME = """
import os, signal, sys
from navsvc import files

def die(*args):  # as a power cut or the OOM killer would, between the write and the rename
    os.kill(os.getpid(), signal.SIGKILL)

files.os.replace = die
files.write_atomically(sys.argv[1], "patient plan data")
"""


def test_a_killed_writers_temporary_file_is_removed_by_the_next_write_on_this_host(tmp_path, ended_pid):
    path = tmp_path / "targets.txt"
    done = subprocess.run([sys.executable, "-c", _KILLED_BEFORE_RENAME, str(path)], capture_output=True, text=True)
    assert done.returncode == -9, done.stderr
    [left] = tmp_path.iterdir()
    assert left.name.startswith(".targets.txt.") and left.read_text() == "patient plan data"
    host = socket.gethostname()
    live = tmp_path / f"{work_name_prefix('.targets.txt.', host, os.getppid())}abc.tmp"  # a writer still at work
    other_host = tmp_path / f"{work_name_prefix('.targets.txt.', 'not-' + host, 1)}abc.tmp"
    longer_host = tmp_path / f"{work_name_prefix('.targets.txt.', f'{host}-{ended_pid()}', ended_pid())}abc.tmp"
    other_file = tmp_path / f".plan.json.{left.name.split('.', 3)[3]}"  # the same dead writer, another file
    kept = (live, other_host, longer_host, other_file)
    for keep in kept:
        keep.write_text("x")
    write_atomically(path, "new")
    assert path.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (path, *kept)), "only the killed writer's file of targets.txt goes"


@pytest.mark.parametrize("name", ["p" * 250 + ".txt", "中" * 80 + ".txt"], ids=["ascii-254-bytes", "cjk-244-bytes"])
def test_a_temporary_name_fits_when_the_file_name_is_long(tmp_path, name):
    path = tmp_path / name
    write_atomically(path, "x")
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
