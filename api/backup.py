"""Backup of a service instance: database and stored files, with a manifest.

A backup is a folder::

    manifest.json     what is in it: database kind and revision, row counts, files
                      with their SHA-256 and size, records whose data it lacks
    navsvc.sqlite3    SQLite: a consistent copy made by ``VACUUM INTO``
    db/TABLE.jsonl    PostgreSQL: every table, one JSON row a line, read in one
                      REPEATABLE READ transaction (a consistent snapshot); timestamps
                      in UTC
    files/...         what the snapshot's records name: image files under images/,
                      plan result folders under plans/

Both are safe while the service runs: the database copy is one snapshot, and the
files it names exist before their rows are committed (images are stored before their
record, plan folders are written before the plan row) and never change afterwards.
Nothing else is copied: not the folder of a job still running, nor the hidden working
folders of a pipeline step (``.registration-*``, the patient's warp fields), which come
and go during the copy. Each record is then checked against the copy as ``navsvc admin
check-storage`` checks it (:mod:`api.integrity`); those whose data the backup lacks are
listed under ``missing`` in the manifest, and ``navsvc admin backup`` exits with 1.
Everything is flushed to the disk (``fsync``) before the manifest is written, and the
manifest last, so that a backup with a manifest is whole after a power loss.
:func:`api.backup_manifest.verify` checks a backup against its manifest (shape, names,
symbolic links, checksums); :mod:`api.restore` restores one.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
from datetime import UTC, date, datetime
from functools import cache, partial
from pathlib import Path

import sqlalchemy as sa

from api.backup_manifest import FORMAT_VERSION, MANIFEST, member_name
from api.config import Settings
from api.db import reported_database_errors, shown_url, sqlite_file
from api.integrity import (
    ImageRecord,
    PlanRecord,
    image_file_problem,
    plan_folder_problem,
    stored_records,
)
from api.models import utc_now
from api.storage import ensure_private_dir, sha256_file
from navsvc import __version__
from navsvc.errors import InputError
from navsvc.files import fsync_path, fsync_tree


#: the image and plan records of a database snapshot
_Records = tuple[list[ImageRecord], list[PlanRecord]]


def schema_revision(connection) -> str | None:
    """Return the database's alembic revision, or None when it has none."""
    try:
        return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.DBAPIError:
        return None


def reflected_tables(engine: sa.Engine) -> list[sa.Table]:
    """Return the tables the database holds (not alembic's), parents before children."""
    metadata = sa.MetaData()
    metadata.reflect(engine)
    return [t for t in metadata.sorted_tables if t.name != "alembic_version"]


def _to_json(value):
    if isinstance(value, datetime) and value.tzinfo is not None:
        # in the PostgreSQL session's zone when read: UTC makes the backup the same
        # whichever zone the server is set to
        return {"$t": value.astimezone(UTC).isoformat()}
    if isinstance(value, (datetime, date)):
        return {"$t": value.isoformat()}
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode("ascii")}
    return value


def from_json(value, column: sa.Column):
    """Return the value of ``column`` that a backup's JSON line holds (the inverse of the
    encoding the backup writes: ``{"$t": ISO}`` timestamps, ``{"$b": base64}`` bytes).

    Parameters
    ----------
    value
        The column's value as decoded from the JSON line.
    column : sqlalchemy.Column
        The column it belongs to; a JSON column's value is the document itself and is
        returned as it is.

    Returns
    -------
    object
        A ``datetime.date`` (ISO text of 10 characters) or ``datetime.datetime`` for
        ``{"$t": ...}``, ``bytes`` for ``{"$b": ...}``, otherwise ``value`` unchanged.
    """
    if isinstance(column.type, sa.JSON):  # its value is the document itself, whatever keys it has
        return value
    if isinstance(value, dict) and set(value) == {"$t"}:
        text = value["$t"]
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    if isinstance(value, dict) and set(value) == {"$b"}:
        return base64.b64decode(value["$b"])
    return value


def _json_value(value, column: sa.Column):
    # JSON columns come back as Python objects from PostgreSQL; keep them as they are.
    if isinstance(value, (dict, list)) and not isinstance(column.type, sa.JSON):
        return json.dumps(value)
    return _to_json(value)


def row_counts(connection, tables: list[sa.Table]) -> dict[str, int]:
    """Return the number of rows of each table, by name.

    Parameters
    ----------
    connection : sqlalchemy.Connection
        Connection to the database; the tables are counted inside its transaction.
    tables : list of sqlalchemy.Table
        The tables to count (:func:`reflected_tables`).

    Returns
    -------
    dict of str to int
        Number of rows of each table, by table name.
    """
    return {t.name: connection.execute(sa.select(sa.func.count()).select_from(t)).scalar()
            for t in tables}


def _require_revision(revision: str | None, url: str) -> str:
    if revision is None:
        raise InputError(f"the database {shown_url(url)} holds no navsvc schema (no alembic_version); "
                         "check NAVSVC_DATABASE_URL")
    return revision


def _backup_database(url: str, out: Path) -> tuple[dict, _Records]:
    """Copy the database into ``out``; return its manifest entry and the image and plan
    records of the copy (the files the backup must hold)."""
    source = sqlite_file(url)
    if source is not None:
        return _backup_sqlite(source, out)
    return _backup_tables(url, out)


def _backup_sqlite(source: Path, out: Path) -> tuple[dict, _Records]:
    if not source.is_file():
        raise InputError(f"no database at {source}; nothing to back up (check NAVSVC_DATA_DIR)")
    target = out / "navsvc.sqlite3"
    with sqlite3.connect(source, timeout=60) as connection:
        connection.execute("VACUUM INTO ?", (str(target),))
    connection.close()
    url = f"sqlite:///{target}"
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            revision = _require_revision(schema_revision(connection), url)
            counts = row_counts(connection, reflected_tables(engine))
            records = stored_records(connection)
    finally:
        engine.dispose()
    return ({"kind": "sqlite", "file": target.name, "sha256": sha256_file(target),
             "revision": revision, "rows": counts}, records)


def _backup_tables(url: str, out: Path) -> tuple[dict, _Records]:
    engine = sa.create_engine(url, isolation_level="REPEATABLE READ")
    folder = out / "db"
    folder.mkdir()
    counts = {}
    try:
        tables = reflected_tables(engine)
        with engine.connect() as connection, connection.begin():
            revision = _require_revision(schema_revision(connection), url)
            records = stored_records(connection)  # the same snapshot as the rows
            for table in tables:
                path, n = folder / f"{table.name}.jsonl", 0
                with open(path, "w", encoding="utf-8") as handle:
                    order = list(table.primary_key.columns) or list(table.columns)
                    for row in connection.execute(sa.select(table).order_by(*order)):
                        record = {c.name: _json_value(row._mapping[c.name], c)
                                  for c in table.columns}
                        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                        n += 1
                counts[table.name] = n
    finally:
        engine.dispose()
    return ({"kind": "tables", "folder": "db", "revision": revision, "rows": counts,
             "sha256": {p.name: sha256_file(p) for p in sorted(folder.iterdir())}}, records)


def _copy_file(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copyfile(source, target)  # not copy2: the copy gets the umask's mode
    except FileNotFoundError:  # gone since it was listed (the check of its record tells)
        target.unlink(missing_ok=True)


def _copy_plan_folder(source: Path, target: Path) -> None:
    # Hidden entries are a running step's working files (a registration's scratch folder
    # with the patient's warp fields): they come and go during the copy and are no part
    # of the plan. A folder that vanishes while it is walked is skipped (os.walk).
    if not source.is_dir():
        return
    target.mkdir(parents=True, exist_ok=True)
    for folder, subfolders, names in os.walk(source):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        for name in names:
            if not name.startswith("."):
                file = Path(folder, name)
                _copy_file(file, target / file.relative_to(source))


def _copy_image(data_dir: Path, files_dir: Path, sha256: str, digest, name: str) -> str | None:
    if not (files_dir / name).exists():  # several records may share one file
        _copy_file(data_dir / name, files_dir / name)
    return image_file_problem(files_dir / name, sha256, digest)


def _copy_plan(data_dir: Path, files_dir: Path, name: str) -> str | None:
    _copy_plan_folder(data_dir / name, files_dir / name)
    return plan_folder_problem(files_dir / name)


def _copy_record_files(data_dir: Path, files_dir: Path, images: list[ImageRecord],
                       plans: list[PlanRecord]) -> list[dict]:
    """Copy what the records name into ``files_dir``; return the records whose data the
    copy lacks (or holds damaged), checked as ``navsvc admin check-storage`` checks."""
    digest = cache(sha256_file)
    copies = ([("image", image.id, image.stored_path,
                partial(_copy_image, data_dir, files_dir, image.sha256, digest))
               for image in images]
              + [("plan", plan.id, plan.result_dir, partial(_copy_plan, data_dir, files_dir))
                 for plan in plans])
    missing = []
    for kind, record_id, stored, copy in copies:
        try:
            name = member_name(stored).as_posix()
        except InputError:
            problem = "not a path below images/ or plans/"
        else:
            problem = copy(name)
        if problem:
            missing.append({"record": kind, "id": record_id, "path": stored, "problem": problem})
    return missing


def _file_entries(files_dir: Path) -> dict[str, dict]:
    return {path.relative_to(files_dir).as_posix():
            {"sha256": sha256_file(path), "size": path.stat().st_size}
            for path in sorted(files_dir.rglob("*")) if path.is_file()}


def _prepare_backup_folder(out: Path) -> None:
    try:
        if out.exists() and not out.is_dir():
            raise InputError(f"{out} is a file; give a new folder for the backup")
        if out.is_dir() and any(out.iterdir()):
            raise InputError(f"{out} is not empty; give a new folder for the backup")
        ensure_private_dir(out)
    except OSError as exc:
        raise InputError(f"cannot create the backup folder {out} ({exc.strerror}); give a "
                         "new folder in a place you can write to") from None


def backup(settings: Settings, out_dir: Path) -> dict:
    """Write a backup of the instance described by ``settings`` into ``out_dir``.

    Only the files that the records of the database snapshot name are copied (image
    files, plan result folders without their hidden working files); each record is
    then checked against the copy as ``navsvc admin check-storage`` checks it, and the
    records whose data the backup lacks are listed in the manifest under ``missing``.

    Parameters
    ----------
    settings : Settings
        The instance (data folder, database URL); it may be serving.
    out_dir : Path
        A folder that does not exist yet or is empty.

    Returns
    -------
    dict
        The manifest (also written to ``out_dir/manifest.json``).

    Raises
    ------
    InputError
        If ``out_dir`` is a file, holds files or cannot be created, or the instance has
        no database or one that cannot be reached.
    """
    out = Path(out_dir)
    _prepare_backup_folder(out)
    started = utc_now()
    url = settings.resolved_database_url
    with reported_database_errors(url):
        database, (images, plans) = _backup_database(url, out)
    files_dir = out / "files"
    files_dir.mkdir()
    missing = _copy_record_files(Path(settings.data_dir).resolve(), files_dir, images, plans)
    manifest = {"format": FORMAT_VERSION, "navsvc_version": __version__,
                "started_at": started.isoformat(), "finished_at": utc_now().isoformat(),
                "database": database, "files": _file_entries(files_dir), "missing": missing}
    _write_manifest(out, manifest)
    return manifest


def _write_manifest(out: Path, manifest: dict) -> None:
    """Write the manifest once everything it lists is on the disk, then flush it and the
    backup folder's entries: a backup with a manifest is whole after a power loss."""
    fsync_tree(out)
    path = out / MANIFEST
    path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    fsync_path(path)
    fsync_path(out)
    fsync_path(out.resolve().parent)  # the backup folder's own entry, when it is new
