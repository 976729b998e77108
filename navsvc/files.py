"""Writing a file so that readers see the old content or the new, never part of it."""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path


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
    ``/dev/stdout``) is written in place, as it cannot be replaced.

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
    target = path.resolve() if path.is_symlink() else path
    if target.exists() and not target.is_file():
        with open(target, "wb") as stream:
            stream.write(data)
        return path
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else None
    temporary = target.parent / f".{target.name}.{uuid.uuid4().hex[:12]}.tmp"
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
    sync_folder(target.parent)
    return path


def sync_folder(folder: str | Path) -> None:
    """Make the renames done in ``folder`` survive a power cut (fsync of the folder itself).

    Parameters
    ----------
    folder : str or Path
        An existing folder.
    """
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
