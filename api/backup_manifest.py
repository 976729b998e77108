"""The manifest of a backup (:mod:`api.backup`): its shape, the names it may hold, and the
check of a backup folder against it (:func:`verify`), which :mod:`api.restore` runs first."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter, ValidationError
from typing_extensions import NotRequired, TypedDict

from api.storage import sha256_file
from navsvc.errors import InputError

MANIFEST = "manifest.json"
#: data-folder subfolders that are backed up (tmp/ is the upload spool)
FILE_FOLDERS = ("images", "plans")
FORMAT_VERSION = 1


def member_name(name: str) -> PurePosixPath:
    """Check the name of a stored file or folder as the database and a manifest give it.

    Parameters
    ----------
    name : str
        A path relative to the data folder.

    Returns
    -------
    PurePosixPath
        The name, when it is a relative POSIX path below ``images/`` or ``plans/``
        without ``..`` (so it cannot lead out of the data folder or the backup).

    Raises
    ------
    InputError
        Naming the entry.
    """
    path = PurePosixPath(name)
    if (path.as_posix() != name or path.is_absolute() or len(path.parts) < 2
            or path.parts[0] not in FILE_FOLDERS or ".." in path.parts or "\\" in name):
        raise InputError(f"{name!r} is not a stored file's name (a relative path below "
                         f"{' or '.join(f + '/' for f in FILE_FOLDERS)} without '..')")
    return path


def missing_data_warning(manifest: dict, most: int = 10) -> str | None:
    """Say which records a backup lacks the data of, or None if it lacks none.

    Parameters
    ----------
    manifest : dict
        A backup's manifest (its ``missing`` list).
    most : int
        Records named at the most; the rest are counted.

    Returns
    -------
    str or None
        One line for the administrator.
    """
    missing = manifest.get("missing") or []
    if not missing:
        return None
    named = ", ".join(f"{m['record']} {m['id']} ({m['path']}: {m['problem']})"
                      for m in missing[:most])
    more = f" and {len(missing) - most} more (see {MANIFEST})" if len(missing) > most else ""
    return (f"the backup lacks the data of {len(missing)} record(s): {named}{more}; run "
            "'navsvc admin check-storage' on the instance it was made from")


class _FileEntry(TypedDict):
    sha256: str
    size: int


class _SQLiteCopy(TypedDict):
    kind: Literal["sqlite"]
    file: str
    sha256: str
    revision: str | None
    rows: dict[str, int]


class _TableCopy(TypedDict):
    kind: Literal["tables"]
    folder: str
    sha256: dict[str, str]
    revision: str | None
    rows: dict[str, int]


class _MissingEntry(TypedDict):
    record: str
    id: str
    path: str
    problem: str


class _Manifest(TypedDict):
    format: Literal[1]  # FORMAT_VERSION
    database: Annotated[_SQLiteCopy | _TableCopy, Field(discriminator="kind")]
    files: dict[str, _FileEntry]
    missing: NotRequired[list[_MissingEntry]]  # absent in backups written before it was added


_MANIFEST_SHAPE = TypeAdapter(_Manifest)


def _read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{folder} is not a navsvc backup (no readable {MANIFEST}: "
                         f"{exc})") from None
    try:
        _MANIFEST_SHAPE.validate_python(manifest, strict=True)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, error['loc'])) or 'the whole'}: {error['msg']}"
                             for error in exc.errors()[:3])
        raise InputError(f"{folder / MANIFEST} is not the manifest of a navsvc backup "
                         f"({problems})") from None
    return manifest


def _plain_name(name: str, what: str) -> str:
    if name in ("", ".", "..") or "/" in name or "\\" in name:
        raise InputError(f"{what} {name!r} in the manifest is not a plain file name")
    return name


def _backup_members(manifest: dict) -> dict[str, str]:
    """Map every file the manifest names, relative to the backup folder, to its SHA-256;
    refuse names that could lead out of the backup or the data folder."""
    database = manifest["database"]
    if database["kind"] == "sqlite":
        members = {_plain_name(database["file"], "database.file"): database["sha256"]}
    else:
        folder = _plain_name(database["folder"], "database.folder")
        members = {f"{folder}/{_plain_name(name, 'database table file')}": digest
                   for name, digest in database["sha256"].items()}
    members.update({f"files/{member_name(name)}": entry["sha256"]
                    for name, entry in manifest["files"].items()})
    return members


def _check_member(folder: Path, name: str, digest: str) -> None:
    path = folder
    for part in PurePosixPath(name).parts:
        path = path / part
        if path.is_symlink():
            raise InputError(f"{name} in the backup is (or lies in) a symbolic link; a backup "
                             "holds plain files only")
    if not path.is_file():
        raise InputError(f"the backup lacks {name}")
    try:
        matches = sha256_file(path) == digest
    except OSError as exc:
        raise InputError(f"cannot read {name} in the backup ({exc.strerror})") from None
    if not matches:
        raise InputError(f"{name} in the backup does not match its checksum")


def verify(in_dir: Path) -> dict:
    """Check a backup against its manifest and return the manifest.

    Parameters
    ----------
    in_dir : Path
        A folder written by :func:`backup`.

    Returns
    -------
    dict
        The manifest.

    Raises
    ------
    InputError
        Missing or malformed manifest, a name in it that is not a relative path below
        ``images/`` or ``plans/`` (or, for the database, a plain file name), a symbolic
        link, a missing file or a checksum mismatch (each named).
    """
    folder = Path(in_dir)
    manifest = _read_manifest(folder)
    for name, digest in _backup_members(manifest).items():
        _check_member(folder, name, digest)
    return manifest
