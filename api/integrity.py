"""Check that the stored files and the database agree (``navsvc admin check-storage``).

What each record needs is said here once, and ``navsvc admin backup`` checks its copies
with the same functions: an image record needs its file, with the bytes its SHA-256
says (:func:`image_file_problem`); a plan record needs its result folder, holding files,
with a ``plan.json`` that reads as JSON when there is one (:func:`plan_folder_problem`).
A file under ``images/`` that no record names is reported as unreferenced: an upload
whose database write failed after its file was stored leaves one. Nothing is changed,
and nothing is created: a file is content-addressed and may be claimed by an upload in
flight, so deleting is left to the administrator, and a data folder or database that
does not exist (a mistyped ``NAVSVC_DATA_DIR``) is an error, not an empty instance.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import select

from api.config import Settings
from api.db import Database, require_database
from api.models import Image, Plan
from api.storage import Storage, sha256_file
from navsvc.errors import InputError
from navsvc.plan_files import PLAN_FILENAME

#: a record's data is absent: no image file, no result folder
MISSING = "missing"
#: an image file whose bytes differ from its record's SHA-256
DAMAGED = "damaged"


class ImageRecord(NamedTuple):
    """An image record's id, its file (relative to the data folder) and that file's SHA-256."""

    id: str
    stored_path: str
    sha256: str


class PlanRecord(NamedTuple):
    """A plan record's id and its result folder (relative to the data folder)."""

    id: str
    result_dir: str


def stored_records(connection) -> tuple[list[ImageRecord], list[PlanRecord]]:
    """Return the records that need data under the data folder.

    Parameters
    ----------
    connection : sqlalchemy.orm.Session or sqlalchemy.Connection
        Read inside its transaction, so a backup sees the records of its own snapshot.

    Returns
    -------
    tuple of (list of ImageRecord, list of PlanRecord)
    """
    images = [ImageRecord(*row) for row in
              connection.execute(select(Image.id, Image.stored_path, Image.sha256))]
    plans = [PlanRecord(*row) for row in connection.execute(select(Plan.id, Plan.result_dir))]
    return images, plans


def image_file_problem(path: Path, sha256: str | None,
                       digest: Callable[[Path], str] = sha256_file) -> str | None:
    """Say what is wrong with the file of an image record, if anything.

    Parameters
    ----------
    path : Path
        Where the file should be.
    sha256 : str or None
        The record's SHA-256; None only checks that the file exists.
    digest : callable
        Hashes a file (a cached one avoids reading a file twice).

    Returns
    -------
    str or None
        :data:`MISSING`, :data:`DAMAGED` or None when the file is intact.
    """
    if not path.is_file():
        return MISSING
    if sha256 is not None and digest(path) != sha256:
        return DAMAGED
    return None


def plan_folder_problem(folder: Path) -> str | None:
    """Say what is wrong with the result folder of a plan record, if anything.

    Parameters
    ----------
    folder : Path
        Where the folder should be.

    Returns
    -------
    str or None
        :data:`MISSING`, ``"empty"`` (no file in it), a sentence naming an unreadable
        ``plan.json``, or None.
    """
    if not folder.is_dir():
        return MISSING
    if not any(path.is_file() for path in folder.rglob("*")):
        return "empty"
    plan_file = folder / PLAN_FILENAME
    if plan_file.exists() and not _is_json_object(plan_file):
        return f"{PLAN_FILENAME} is empty or not readable JSON"
    return None


def _is_json_object(path: Path) -> bool:
    try:
        return isinstance(json.loads(path.read_bytes()), dict)
    except (OSError, ValueError):
        return False


def require_instance(settings: Settings) -> None:
    """Check that the data folder and the database of ``settings`` exist, creating neither.

    Raises
    ------
    InputError
        No data folder, no database, a database that cannot be reached, or one not at
        this version's schema (``navsvc admin migrate`` would bring it there).
    """
    from api.migrations import schema_is_current

    data_dir = Path(settings.data_dir).resolve()
    if not data_dir.is_dir():
        raise InputError(f"no data folder at {data_dir}; check NAVSVC_DATA_DIR")
    url = settings.resolved_database_url
    require_database(url)
    if not schema_is_current(url):
        raise InputError("the database is not at this navsvc version's schema; if it is this "
                         "service's database, run 'navsvc admin migrate' first")


@dataclass
class StorageReport:
    """What :func:`check_storage` found (ids of records, paths relative to the data folder)."""

    images_checked: int = 0
    plans_checked: int = 0
    missing_image_files: list[str] = field(default_factory=list)
    damaged_image_files: list[str] = field(default_factory=list)
    missing_plan_folders: list[str] = field(default_factory=list)
    #: plan id -> what is wrong with its result folder (empty, unreadable plan.json)
    damaged_plan_folders: dict[str, str] = field(default_factory=dict)
    unreferenced_files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every record has its data intact (unreferenced files do not count)."""
        return not (self.missing_image_files or self.damaged_image_files
                    or self.missing_plan_folders or self.damaged_plan_folders)

    def lines(self) -> list[str]:
        """A human summary, one finding per line."""
        out = [f"checked {self.images_checked} images and {self.plans_checked} plans"]
        out += [f"MISSING image file of image {i}" for i in self.missing_image_files]
        out += [f"DAMAGED image file of image {i} (its SHA-256 differs from the record's)"
                for i in self.damaged_image_files]
        out += [f"MISSING result folder of plan {p}" for p in self.missing_plan_folders]
        out += [f"DAMAGED result folder of plan {p} ({problem})"
                for p, problem in self.damaged_plan_folders.items()]
        out += [f"unreferenced file {f} (no image record names it)" for f in self.unreferenced_files]
        out.append("all records have their data" if self.ok else
                   "some records have lost data: restore them from the last backup (navsvc admin restore)")
        return out


def check_storage(database: Database, storage: Storage, verify_checksums: bool = True) -> StorageReport:
    """Compare the image and plan records with the files under the data folder.

    Parameters
    ----------
    database : Database
    storage : Storage
    verify_checksums : bool
        Re-hash every image file (reads all of them) and compare with its record.

    Returns
    -------
    StorageReport
    """
    report = StorageReport()
    with database.session() as session:
        images, plans = stored_records(session)
    referenced: set[Path] = set()
    digest = cache(sha256_file)  # one file can back several records (the same upload for two patients)
    for image in images:
        report.images_checked += 1
        path = storage.absolute(image.stored_path).resolve()
        referenced.add(path)
        problem = image_file_problem(path, image.sha256 if verify_checksums else None, digest)
        if problem == MISSING:
            report.missing_image_files.append(image.id)
        elif problem:
            report.damaged_image_files.append(image.id)
    for plan in plans:
        report.plans_checked += 1
        problem = plan_folder_problem(storage.absolute(plan.result_dir))
        if problem == MISSING:
            report.missing_plan_folders.append(plan.id)
        elif problem:
            report.damaged_plan_folders[plan.id] = problem
    if storage.images_dir.is_dir():
        report.unreferenced_files = sorted(
            storage.relative(path) for path in storage.images_dir.rglob("*")
            if path.is_file() and path.resolve() not in referenced)
    return report
