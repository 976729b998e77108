"""A file or folder under another path, for a library that judges a file by its path.

nibabel decompresses by the file's name and ANTs' command line cannot take some
characters: a symbolic link, named and placed as the library needs, gives it the same
file or folder. Only the link is made; what it points to is never copied or removed.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def temporary_link(target: Path, name: str, folder: Path | None = None, prefix: str = "navsvc-link-") -> Iterator[Path]:
    """A symbolic link ``name`` to ``target`` for the ``with`` block.

    The link lies in a new private (0700) folder made in ``folder`` and removed, with the
    link, on leaving the block; ``target`` is left as it is.

    Parameters
    ----------
    target : Path
        An existing file or folder.
    name : str
        The link's file name.
    folder : Path, optional
        Where the link's own folder is made (default: the system's temporary folder).
    prefix : str
        The start of that folder's name.

    Yields
    ------
    Path
        The link.
    """
    target = Path(target)
    link_folder = Path(tempfile.mkdtemp(prefix=prefix, dir=folder))
    try:
        link = link_folder / name
        link.symlink_to(target.resolve(), target_is_directory=target.is_dir())
        yield link
    finally:
        shutil.rmtree(link_folder, ignore_errors=True)  # removes the link, never what it points to
