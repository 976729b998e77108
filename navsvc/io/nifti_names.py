"""The name a NIfTI file is read under: nibabel decompresses by the name, not the bytes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from navsvc.links import temporary_link

#: the first two bytes of every gzip stream (RFC 1952, 2.3.1)
GZIP_MAGIC = b"\x1f\x8b"
#: the file name endings nibabel reads a single-file NIfTI under: gzip stream, plain bytes
NIFTI_GZ, NIFTI = ".nii.gz", ".nii"


def is_gzip_file(path: Path) -> bool:
    """Whether the file's bytes are a gzip stream (its first two bytes), whatever its name."""
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def name_for_content(name: str, gzip_stream: bool) -> str:
    """``name`` ending as nibabel needs for such bytes (``.nii.gz`` for a gzip stream,
    ``.nii`` otherwise): unchanged when it does, else with its ``.nii``/``.gz`` ending
    replaced (``t1.nii`` holding a gzip stream: ``t1.nii.gz``).

    Parameters
    ----------
    name : str
        The file's name (case of its ending ignored).
    gzip_stream : bool
        Whether the file's bytes are a gzip stream (:func:`is_gzip_file`).

    Returns
    -------
    str
        The name to read the file under; a name without a ``.nii``/``.gz`` ending gets the
        ending appended.
    """
    lower = name.lower()
    ending = NIFTI_GZ if gzip_stream else NIFTI
    if lower.endswith(ending):
        return name
    for known in (NIFTI_GZ, NIFTI, ".gz"):
        if lower.endswith(known):
            return name[: -len(known)] + ending
    return name + ending


@contextmanager
def named_for_its_content(path: Path, work_dir: Path | None = None) -> Iterator[Path]:
    """``path`` under a name whose ending says how its bytes are stored, for the ``with``
    block.

    nibabel decompresses a file by its name: a gzip-compressed NIfTI named ``.nii``, or a
    plain one named ``.nii.gz`` (renamed by hand to fit an upload form, or written so by a
    tool), was refused as "not a readable NIfTI image" although it is one. Such a file is
    read through a symbolic link named for its content (:func:`name_for_content`), in a
    new private folder in ``work_dir`` that goes on leaving the block; a file whose name
    fits is given as it is.

    Parameters
    ----------
    path : Path
        An existing file.
    work_dir : Path, optional
        Where the link's folder is made (default: the system's temporary folder).

    Yields
    ------
    Path
        The path to read; keep the block open until the data are read (nibabel opens
        the file on the first read).
    """
    wanted = name_for_content(path.name, is_gzip_file(path))
    if wanted == path.name:
        yield path
        return
    with temporary_link(path, wanted, work_dir, "navsvc-nifti-") as link:
        yield link
