"""Writing a file so that readers see the old content or the new, never part of it."""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import stat
import uuid
from pathlib import Path

from navsvc.work_names import made_by_ended_process, own_work_name_prefix


def write_atomically(path: str | Path, content: bytes | str) -> Path:
    """Write ``content`` to ``path`` through a temporary file in the same folder and one rename.

    A navigator reading an export, or a user opening a report, while it is written (or
    after a full disk, a killed process or a power cut stopped the write) finds the
    earlier file or the new one: the new data is synced to disk before the rename, and
    the rename before returning. A new
    file gets the mode the process umask gives (0644 under umask 022, 0600 under 077), as
    an ordinary write would (``mkstemp`` would make it 0600 whatever the umask); a
    replaced file keeps its mode. A symbolic link is written through (the file it names
    is replaced, the link stays); a path that is not a regular file (a FIFO,
    ``/dev/stdout``) is written in place, as it cannot be replaced. The temporary file
    names its host and process: a writer of the same file killed before its rename
    leaves one behind, and the next write on that host removes it.

    Parameters
    ----------
    path : str or Path
        The file to write; its folder must exist.
    content : bytes or str
        What to write (a str is encoded as UTF-8).

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    if path.exists() and not path.is_file():  # FIFO, device, /dev/stdout (a pipe when piped)
        with open(path, "wb") as stream:
            stream.write(data)
        return path
    target = path.resolve() if path.is_symlink() else path
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else None
    # at most 100 bytes of the name (a name holds 255), so that the host and pid still fit
    work_prefix = f".{os.fsdecode(os.fsencode(target.name)[:100])}."
    temporary = target.parent / f"{own_work_name_prefix(work_prefix)}{uuid.uuid4().hex[:12]}.tmp"
    try:
        with open(temporary, "xb") as stream:  # exclusive creation: never another writer's file
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())  # the data is on disk before the name points at it
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_path(target.parent)
    _remove_ended_writers_files(target.parent, work_prefix)
    return path


def _remove_ended_writers_files(folder: Path, work_prefix: str) -> None:
    """Delete the temporary files that writers of the same file on this host, killed
    before their rename, left in ``folder`` (they hold a patient's plan data)."""
    for leftover in folder.glob(f"{glob.escape(work_prefix)}*.tmp"):
        if made_by_ended_process(leftover.name, work_prefix) and leftover.is_file():
            with contextlib.suppress(OSError):  # another writer removed it, or a read-only folder
                leftover.unlink()


#: errors of fsync on a folder that mean the file system cannot sync folders, not that it failed
_FOLDER_SYNC_UNSUPPORTED = {errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EBADF}


def fsync_path(path: str | Path) -> None:
    """Flush a file, or a folder's entries, to the disk (``os.fsync``).

    A folder on a file system that cannot sync folders (CIFS before Linux 4.17, some FUSE
    and shared-folder mounts: EINVAL, ENOTSUP, ENOSYS) or that this user may write but not
    read (a navigator's drop folder) is left as it is, as SQLite does: its files' data is
    still synced, and the file system keeps renames in order or not at all. Any other
    error (EIO: the disk failed) is raised.

    Parameters
    ----------
    path : str or Path
        A file or a folder (not a symbolic link).
    """
    is_folder = os.path.isdir(path)
    try:
        fd = os.open(path, os.O_RDONLY)
    except PermissionError:
        if is_folder:
            return
        raise
    try:
        os.fsync(fd)
    except OSError as exc:
        if not (is_folder and exc.errno in _FOLDER_SYNC_UNSUPPORTED):
            raise
    finally:
        os.close(fd)


def fsync_tree(root: str | Path) -> None:
    """Flush every file below ``root`` to the disk, then every folder, deepest first and
    ``root`` last, so that what a later step writes (a backup's manifest, a rename into
    place) cannot survive a power loss that the files below ``root`` do not.

    Parameters
    ----------
    root : str or Path
        A folder; symbolic links in it are left alone.
    """
    for folder, _subfolders, names in os.walk(root, topdown=False):
        for name in names:
            path = Path(folder, name)
            if not path.is_symlink():
                fsync_path(path)
        fsync_path(Path(folder))
