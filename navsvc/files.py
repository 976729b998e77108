"""Writing a file so that readers see the old content or the new, never part of it."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def write_atomically(path: str | Path, content: bytes | str) -> Path:
    """Write ``content`` to ``path`` through a temporary file in the same folder and one rename.

    A navigator reading an export, or a user opening a report, while it is written (or
    after a full disk stopped the write) finds the earlier file or the new one. The file
    gets the mode the process umask gives (0644 under umask 022, 0600 under 077), as an
    ordinary write would: ``mkstemp`` would make it 0600 whatever the umask.

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
    temporary = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        with open(temporary, "xb") as stream:  # exclusive creation: never another writer's file
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
