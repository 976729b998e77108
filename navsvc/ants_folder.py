"""A path to a work folder that ANTs can take.

antspyx runs ANTs' programs (antsRegistration, antsApplyTransforms) through their
command-line parser, which splits an option's value at ``,`` and reads ``[`` and ``]`` as
the brackets around its parameters (``--output [prefix,warped.nii.gz]``,
``-t [affine.mat,1]``). A path holding one of them is cut there: a plan into an output
folder such as ``Doe, Jane/plan`` failed in the registration with "Registration failed
with error code 1", a traceback and exit 1. And antspyx hands every path to C++ as UTF-8:
a folder whose name is in another encoding (``M\xfcller``, Latin-1, from an old file
share; Python keeps such bytes as surrogates) failed with a TypeError. Such a folder is
given to ANTs through a symbolic link whose own path is plain; the files stay in the
folder. A plan works in its scratch folder through that link from start to end, so the
transform files it reads after the registration are reached through it too.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from navsvc.errors import InputError
from navsvc.links import temporary_link
from navsvc.work_names import made_by_ended_process, own_work_name_prefix

#: characters ANTs' command-line parser reads as syntax inside an option's value
ANTS_SYNTAX_CHARACTERS = ",[]"
#: name of the private folders, in the system's temporary folder, that hold a link
LINK_FOLDER_PREFIX = "navsvc-ants-"
#: name of the link in such a folder
LINK_NAME = "work"


def ants_can_take(path) -> bool:
    """Whether ANTs reads ``path`` whole: it is UTF-8 text holding none of
    :data:`ANTS_SYNTAX_CHARACTERS`."""
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # bytes of another encoding, kept by Python as surrogates
        return False
    return not set(ANTS_SYNTAX_CHARACTERS) & set(text)


@contextmanager
def ants_safe_folder(folder: Path) -> Iterator[Path]:
    """``folder`` under a path that ANTs' command line can take, for the ``with`` block.

    ``folder`` itself when :func:`ants_can_take` its path. Otherwise a symbolic link to it,
    in a new private (0700) folder of the system's temporary folder that goes on leaving
    the block: what ANTs writes through the link is in ``folder``, and the temporary
    folder holds only the link. Links left by a killed process are removed by the next
    call on the same host.

    Parameters
    ----------
    folder : Path
        An existing folder.

    Yields
    ------
    Path
        The path to work in: the files ANTs returns under it stay readable through it
        until the block ends.

    Raises
    ------
    InputError
        When the system's temporary folder's own path holds one of those characters.
    """
    folder = Path(folder)
    if ants_can_take(folder):
        yield folder
        return
    temporary = Path(tempfile.gettempdir())
    if not ants_can_take(temporary):
        raise InputError(
            f"the output folder's path {str(folder)!r} and the temporary folder's {str(temporary)!r} hold one of "
            f"{' '.join(ANTS_SYNTAX_CHARACTERS)} or bytes that are not UTF-8, which the registration (ANTs) cannot "
            "take in a path: choose an output folder without them, or set TMPDIR to a folder without them")
    _remove_ended_processes_links(temporary)
    with temporary_link(folder, LINK_NAME, temporary, own_work_name_prefix(LINK_FOLDER_PREFIX)) as link:
        yield link


def _remove_ended_processes_links(temporary: Path) -> None:
    for link_folder in temporary.glob(f"{LINK_FOLDER_PREFIX}*"):
        if made_by_ended_process(link_folder.name, LINK_FOLDER_PREFIX) and link_folder.is_dir() \
                and not link_folder.is_symlink():
            shutil.rmtree(link_folder, ignore_errors=True)
