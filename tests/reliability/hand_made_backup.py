"""Backups written by hand, in the PostgreSQL form (``db/TABLE.jsonl``), to restore rows that
a live instance would not write: other time zones, a newer version's tables and columns."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from alembic.script import ScriptDirectory

from api.migrations import MIGRATIONS_DIR
from api.storage import sha256_file


def table_backup(folder: Path, rows: dict[str, list[dict]], revision: str | None = None) -> Path:
    """Write a backup in the PostgreSQL form into ``folder`` and return ``folder``.

    Parameters
    ----------
    folder : Path
        A folder that does not exist yet.
    rows : dict
        Table name -> its rows, as the backup writes them (timestamps as ``{"$t": ISO}``).
    revision : str or None
        Schema revision in the manifest; default this version's newest.
    """
    tables = folder / "db"
    tables.mkdir(parents=True)
    for table, records in rows.items():
        (tables / f"{table}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    revision = revision or ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    manifest = {"format": 1, "files": {}, "database": {
        "kind": "tables", "folder": "db", "revision": revision,
        "rows": {table: len(records) for table, records in rows.items()},
        "sha256": {path.name: sha256_file(path) for path in sorted(tables.iterdir())}}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def patient_row(created_at: str) -> dict:
    """A row of ``patients`` created at ``created_at`` (ISO 8601, with its offset)."""
    return {"id": str(uuid.uuid4()), "external_id": f"MRN-{uuid.uuid4().hex[:8]}", "name": "Jane Roe",
            "birth_date": {"$t": "1980-04-02"}, "created_at": {"$t": created_at}, "created_by": "t"}
