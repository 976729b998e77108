"""A plan's output folder, the private scratch folders inside it, removal of those a
killed process left behind, and the move of a finished plan's files into place.

ANTs writes the registration's transforms as files. They describe the patient's anatomy,
so they live in a scratch folder inside the output folder (never in the system's temp
folder) that goes when the plan is written or refused. A process killed by SIGKILL or a
power cut cannot clean up: its folder is named after the host and the process id, and
the next plan into the same output folder removes it once that process is gone.

A plan's files (transforms, report) are written in the scratch folder too and moved into
the output folder only when the plan is complete, ``plan.json`` last: a plan refused or
failed half-way leaves an earlier plan in the same folder as it was, and a folder never
holds a ``plan.json`` beside another run's transforms.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

from navsvc.errors import InputError
from navsvc.files import write_atomically

#: name of every scratch folder: ``<prefix><host>-<pid>-<random>``
SCRATCH_PREFIX = ".registration-"


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


def remove_if_empty(folder: Path) -> None:
    """Delete ``folder`` if it is an empty folder (what a refused plan leaves of the
    output folder it created); keep it otherwise."""
    try:
        folder.rmdir()
    except OSError:
        pass


def publish_plan_files(staging: Path, out_dir: Path, names: tuple[str, ...], plan_text: str) -> None:
    """Move the finished plan's files from ``staging`` into ``out_dir`` and write ``plan.json``.

    An earlier ``plan.json`` goes first and the new one comes last, each file or folder
    moved by one rename: a stop half-way leaves no ``plan.json`` rather than one that
    describes other transforms.

    Parameters
    ----------
    staging : Path
        The plan's scratch folder (in ``out_dir``, so on the same file system).
    out_dir : Path
        The output folder.
    names : tuple of str
        Files and folders in ``staging`` that replace those of the same name in ``out_dir``.
    plan_text : str
        The content of ``plan.json``.
    """
    (out_dir / "plan.json").unlink(missing_ok=True)
    for name in names:
        target = out_dir / name
        if target.is_dir() and not target.is_symlink():
            target.rename(staging / f".replaced-{name}")  # removed with the scratch folder
        os.replace(staging / name, target)
    write_atomically(out_dir / "plan.json", plan_text)


def _own_prefix(pid: int) -> str:
    return f"{SCRATCH_PREFIX}{socket.gethostname()}-{pid}-"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


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
    host_prefix = f"{SCRATCH_PREFIX}{socket.gethostname()}-"
    removed = []
    for folder in Path(out_dir).glob(f"{host_prefix}*"):
        pid_text = folder.name[len(host_prefix):].split("-", 1)[0]
        if not folder.is_dir() or not (pid_text.isascii() and pid_text.isdigit()):
            continue
        pid = int(pid_text)
        if pid == os.getpid() or _process_alive(pid):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def registration_scratch(out_dir: Path) -> tempfile.TemporaryDirectory:
    """A new private (0700) scratch folder in ``out_dir``, after removing stale ones.

    Parameters
    ----------
    out_dir : Path
        An existing output folder.

    Returns
    -------
    tempfile.TemporaryDirectory
        Use as a context manager: the folder is deleted on leaving it.
    """
    remove_stale_scratch(out_dir)
    return tempfile.TemporaryDirectory(prefix=_own_prefix(os.getpid()), dir=out_dir)
