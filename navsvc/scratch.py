"""A plan's output folder, the private scratch folders inside it, removal of those a
killed process left behind, and the move of a finished plan's files into place.

A DICOM input is unpacked and converted there, and ANTs writes the registration's
transforms there as files. Both identify the patient or describe their anatomy, so they
live in a scratch folder inside the output folder (never in the system's temp folder)
that goes when the plan is written or refused. A process killed by SIGKILL or a
power cut cannot clean up: its folder is named after the host and the process id, and
the next plan into the same output folder removes it once that process is gone.

A plan's files (transforms, report, ``plan.json``) are written in the scratch folder too
and moved into the output folder only when the plan is complete, ``plan.json`` last: a
plan refused or failed half-way leaves an earlier plan in the same folder as it was, and a
folder never holds a ``plan.json`` beside another run's transforms, also when two plans
into one folder on one machine finish at once (they take turns: an exclusive ``flock`` on
the folder; on NFS or SMB, plans from two machines into one shared folder do not).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from pathlib import Path

from navsvc.errors import InputError
from navsvc.files import fsync_path, fsync_tree
from navsvc.work_names import made_by_ended_process, own_work_name_prefix

#: name of every scratch folder: ``<prefix><host>@<pid>-<random>``
SCRATCH_PREFIX = ".registration-"

#: tries to make a scratch folder in an output folder that other plans may remove
SCRATCH_ATTEMPTS = 3


def output_folder(path) -> Path:
    """Create the output folder ``path`` (and its parents) if needed and return it.

    Raises
    ------
    InputError
        When it cannot be created or is not a folder (a file of that name, no permission):
        the user's choice of ``--out``, said in one line rather than a traceback.
    """
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot use {folder} as the output folder ({exc.strerror or exc}): "
                         "give a folder you can write to") from None
    return folder


def missing_folders(path) -> list[Path]:
    """The folders of ``path`` and its parents that do not exist yet, deepest first: what
    :func:`output_folder` will create, and :func:`remove_empty_folders` removes again."""
    folders = []
    folder = Path(path)
    while not os.path.lexists(folder) and folder != folder.parent:
        folders.append(folder)
        folder = folder.parent
    return folders


def remove_empty_folders(folders: list[Path]) -> None:
    """Delete ``folders`` (deepest first) while they are empty folders; stop at the first
    that is not (what a refused plan leaves of the folders it created)."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def publish_plan_files(staging: Path, out_dir: Path, names: tuple[str, ...]) -> None:
    """Move the finished plan's files from ``staging`` into ``out_dir``, all or none.

    The earlier plan's files of these names (``plan.json`` first) are moved aside into
    ``staging``, where they go with the scratch folder; then the new ones move in, each
    file or folder by one rename, the last of ``names`` (``plan.json``) last. If a rename
    fails, the new files go back to ``staging`` and the earlier ones to their places, and
    the error is raised: an earlier plan is replaced whole or stays as it was, and a
    ``plan.json`` never sits beside another run's transforms. The files' data is synced
    to disk before the renames, and the renames before returning.

    Parameters
    ----------
    staging : Path
        The plan's scratch folder (in ``out_dir``, so on the same file system), holding
        every one of ``names``.
    out_dir : Path
        The output folder.
    names : tuple of str
        The files and folders to move, ``plan.json`` last.
    """
    for name in names:  # the data on disk before any name points at it
        (fsync_tree if (staging / name).is_dir() else fsync_path)(staging / name)
    aside = staging / ".earlier-plan"
    aside.mkdir()
    moved_aside, moved_in = [], []
    with _exclusive_lock(out_dir):  # two plans finishing at once into one folder take turns
        try:
            for name in reversed(names):
                if os.path.lexists(out_dir / name):  # a symlink is moved, not followed
                    os.rename(out_dir / name, aside / name)
                    moved_aside.append(name)
            for name in names:
                os.rename(staging / name, out_dir / name)
                moved_in.append(name)
            fsync_path(out_dir)
            fsync_path(out_dir.resolve().parent)  # the output folder's own entry, when it is new
        except BaseException:
            _move_back(moved_in, out_dir, staging)
            _move_back(moved_aside, aside, out_dir)
            raise


@contextlib.contextmanager
def _exclusive_lock(folder: Path):
    """Hold an exclusive ``flock`` on ``folder`` itself (no lock file is left in it)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _move_back(names: list[str], source: Path, target: Path) -> None:
    for name in reversed(names):
        try:
            os.rename(source / name, target / name)
        except OSError:
            pass  # the first error is the one to report


def remove_stale_scratch(out_dir: Path) -> list[Path]:
    """Delete the scratch folders in ``out_dir`` whose process on this host has ended.

    Folders of live processes, of other hosts (a shared folder) and of unknown naming
    are kept.

    Parameters
    ----------
    out_dir : Path
        A plan's output folder.

    Returns
    -------
    list of Path
        The folders deleted.
    """
    removed = []
    for folder in Path(out_dir).glob(f"{SCRATCH_PREFIX}*"):
        if folder.is_dir() and made_by_ended_process(folder.name, SCRATCH_PREFIX):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def registration_scratch(out_dir: Path) -> tempfile.TemporaryDirectory:
    """A new private (0700) scratch folder in ``out_dir``, after removing stale ones.

    Parameters
    ----------
    out_dir : Path
        An output folder: made again if it is gone (another plan into the same new folder,
        refused, removed it while it was empty); once the scratch folder is in it, it stays.

    Returns
    -------
    tempfile.TemporaryDirectory
        Use as a context manager: the folder is deleted on leaving it.
    """
    remove_stale_scratch(out_dir)
    for attempt in range(1, SCRATCH_ATTEMPTS + 1):
        try:
            return tempfile.TemporaryDirectory(prefix=own_work_name_prefix(SCRATCH_PREFIX), dir=out_dir)
        except FileNotFoundError:
            if attempt == SCRATCH_ATTEMPTS:
                raise
            # Another plan into the same new folder was refused and removed it while it
            # was still empty (remove_empty_folders): make it again.
            output_folder(out_dir)
