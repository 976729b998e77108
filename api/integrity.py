"""Check that the stored files and the database agree (``navsvc admin check-storage``).

Every image record must have its file, with the bytes its SHA-256 says; every plan
record must have its result folder. A file under ``images/`` that no record names is
reported as unreferenced: an upload whose database write failed after its file was
stored leaves one. Nothing is changed: a file is content-addressed and may be claimed
by an upload in flight, so deleting is left to the administrator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from sqlalchemy import select

from api.db import Database
from api.models import Image, Plan
from api.storage import Storage, sha256_file


@dataclass
class StorageReport:
    """What :func:`check_storage` found (ids of records, paths relative to the data folder)."""

    images_checked: int = 0
    plans_checked: int = 0
    missing_image_files: list[str] = field(default_factory=list)
    damaged_image_files: list[str] = field(default_factory=list)
    missing_plan_folders: list[str] = field(default_factory=list)
    unreferenced_files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every record has its data intact (unreferenced files do not count)."""
        return not (self.missing_image_files or self.damaged_image_files or self.missing_plan_folders)

    def lines(self) -> list[str]:
        """A human summary, one finding per line."""
        out = [f"checked {self.images_checked} images and {self.plans_checked} plans"]
        out += [f"MISSING image file of image {i}" for i in self.missing_image_files]
        out += [f"DAMAGED image file of image {i} (its SHA-256 differs from the record's)"
                for i in self.damaged_image_files]
        out += [f"MISSING result folder of plan {p}" for p in self.missing_plan_folders]
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
        images = session.execute(select(Image.id, Image.stored_path, Image.sha256)).all()
        plans = session.execute(select(Plan.id, Plan.result_dir)).all()
    referenced: set[Path] = set()
    digest = cache(sha256_file)  # one file can back several records (the same upload for two patients)
    for image_id, stored_path, sha256 in images:
        report.images_checked += 1
        path = storage.absolute(stored_path).resolve()
        referenced.add(path)
        if not path.is_file():
            report.missing_image_files.append(image_id)
        elif verify_checksums and digest(path) != sha256:
            report.damaged_image_files.append(image_id)
    for plan_id, result_dir in plans:
        report.plans_checked += 1
        if not storage.absolute(result_dir).is_dir():
            report.missing_plan_folders.append(plan_id)
    if storage.images_dir.is_dir():
        report.unreferenced_files = sorted(
            storage.relative(path) for path in storage.images_dir.rglob("*")
            if path.is_file() and path.resolve() not in referenced)
    return report
