"""Restore of a backup written by :mod:`api.backup`, all or nothing.

Before it writes anything, :func:`restore` checks what can be checked: the backup
against its manifest (:func:`api.backup_manifest.verify`), that this version's migrations know
the backup's schema revision and tables (a newer version's backup would lose columns
and tables), that no service process runs on the data folder (it takes the lock of
:mod:`api.service_lock` exclusively and holds it to the end, so none starts meanwhile),
and that the target is empty: no stored files, no records, and for SQLite
no ``navsvc.sqlite3*`` file at all (a ``-wal`` left by a removed database would be
replayed onto the restored copy). Then it copies the files into a staging folder in the
data folder, restores the database (a SQLite copy, or a table backup's rows inserted in
one transaction through this version's tables, so timestamps keep their instant), counts
the rows against the manifest, and moves the staged folders into place (the staged
files flushed to the disk before, the data folder's entries after). Whatever fails,
what it wrote is removed again, so that the restore can be run again.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from api import models_course
from api.backup import from_json, reflected_tables, row_counts, schema_revision
from api.backup_manifest import FILE_FOLDERS, verify
from api.config import Settings
from api.db import reported_database_errors, sqlite_file
from api.service_lock import restore_lock
from api.storage import ensure_private_dir, sha256_file
from navsvc import __version__
from navsvc.errors import InputError
from navsvc.files import fsync_path, fsync_tree

#: folder in the data folder that a restore copies the files into before they go in place
STAGING = ".restore-staging"


def _application_tables() -> dict[str, sa.Table]:
    """This version's tables (api/models.py and api/models_course.py share one
    ``Base.metadata``), parents before children. Their types convert as the service
    does: UTCDateTime stores an aware timestamp as UTC (naive on SQLite, which keeps no
    offset)."""
    return {t.name: t for t in models_course.Base.metadata.sorted_tables}


#: rows inserted with one statement
INSERT_BATCH = 1000


def _row(table: sa.Table, record: dict) -> dict:
    unknown = record.keys() - table.columns.keys()
    if unknown:
        raise InputError(f"the backup's table {table.name} has columns this navsvc version "
                         f"does not know ({', '.join(sorted(unknown))}); nothing was restored")
    return {name: from_json(value, table.columns[name]) for name, value in record.items()}


def _insert_rows(connection, table: sa.Table, path: Path) -> int:
    """Insert the rows of one ``TABLE.jsonl`` file; return how many."""
    inserted, rows = 0, []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            rows.append(_row(table, json.loads(line)))
            if len(rows) >= INSERT_BATCH:
                connection.execute(table.insert(), rows)
                inserted, rows = inserted + len(rows), []
    if rows:
        connection.execute(table.insert(), rows)
    return inserted + len(rows)


def _table_files(manifest: dict) -> dict[str, str]:
    """Map each table of a table backup to its file name; refuse tables this version
    does not have (a newer version's backup)."""
    files = {name.removesuffix(".jsonl"): name for name in manifest["database"]["sha256"]}
    unknown = sorted(set(files) - _application_tables().keys())
    if unknown:
        raise InputError(f"the backup holds tables this navsvc version does not know "
                         f"({', '.join(unknown)}); restore it with the version that made it")
    return files


def _check_row_counts(counted: dict[str, int], listed: dict[str, int]) -> None:
    wrong = sorted(table for table in counted.keys() | listed.keys()
                   if counted.get(table, 0) != listed.get(table, 0))
    if wrong:
        raise InputError("the backup does not hold the rows its manifest lists ("
                         + ", ".join(f"{t}: {counted.get(t, 0)} rows, manifest {listed.get(t, 0)}"
                                     for t in wrong) + "); restore an intact backup")


def _insert_tables(connection, source: Path, manifest: dict) -> None:
    """Insert every backed-up row through this version's table definitions (so
    timestamps keep their instant on SQLite too) and check that as many rows went in as
    the manifest lists."""
    folder = source / manifest["database"]["folder"]
    files = _table_files(manifest)
    tables = _application_tables()
    counted = {name: _insert_rows(connection, table, folder / files[name])
               for name, table in tables.items() if name in files}
    _check_row_counts(counted, manifest["database"]["rows"])
    if connection.dialect.name == "postgresql":
        _reset_sequences(connection, tables.values())


def _check_sqlite_copy(url: str, listed: dict) -> None:
    """Check that the copied SQLite database holds the revision and rows the manifest lists."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            revision = schema_revision(connection)
            counted = row_counts(connection, reflected_tables(engine))
    finally:
        engine.dispose()
    if revision != listed["revision"]:
        raise InputError(f"the backup's database is at schema revision {revision!r}, its "
                         f"manifest says {listed['revision']!r}; restore an intact backup")
    _check_row_counts(counted, listed["rows"])


def _check_restorable(manifest: dict) -> None:
    """Refuse a database copy that this version cannot restore exactly: one at a schema
    revision its migrations do not know (made by a newer version), or with tables it
    does not have."""
    from api.migrations import known_revisions

    revision = manifest["database"]["revision"]
    if revision not in known_revisions():
        made_by = manifest.get("navsvc_version", "unknown")
        raise InputError(f"the backup's database is at schema revision {revision!r}, which this "
                         f"navsvc version ({__version__}) does not know (the backup was written by "
                         f"navsvc {made_by}); restore it with a navsvc version that has that "
                         "migration")
    if manifest["database"]["kind"] == "tables":
        _table_files(manifest)


def _reset_sequences(connection, tables) -> None:
    for table in tables:
        for column in table.primary_key.columns:
            if isinstance(column.type, sa.Integer) and column.autoincrement:
                connection.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                    f"COALESCE((SELECT max({column.name}) FROM {table.name}), 0) + 1, false)"))


def _sqlite_family(path: Path) -> list[Path]:
    """The SQLite file at ``path`` and every file named after it (``-wal``, ``-shm``,
    ``-journal``)."""
    return sorted(path.parent.glob(glob.escape(path.name) + "*"))


def _require_empty_database(url: str) -> None:
    path = sqlite_file(url)
    if path is not None:
        present = _sqlite_family(path)
        if present:  # a -wal beside a removed database would be replayed onto the restored copy
            raise InputError(f"{', '.join(p.name for p in present)} already exist in {path.parent} "
                             "(a database, or the -wal/-shm files of one, which SQLite would "
                             "replay onto the restored copy); restore into a new data folder")
        return
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            counts = row_counts(connection, reflected_tables(engine))
    finally:
        engine.dispose()
    if any(counts.values()):
        raise InputError("the target database already holds records; restore into a new one")


def _require_empty_data_folder(data_dir: Path) -> None:
    if (data_dir / STAGING).exists():
        raise InputError(f"{data_dir / STAGING} is left from an interrupted restore; remove it "
                         "and what that restore put in place, then restore again")
    if any((data_dir / folder).is_dir() and any((data_dir / folder).iterdir())
           for folder in FILE_FOLDERS):
        raise InputError(f"{data_dir} already holds stored files; restore into a new data "
                         "folder")


def _require_target_for(manifest: dict, url: str) -> None:
    if manifest["database"]["kind"] == "sqlite" and sqlite_file(url) is None:
        raise InputError("this backup holds a SQLite database; restore it with the default "
                         "SQLite database (unset NAVSVC_DATABASE_URL)")


def _stage_files(source: Path, manifest: dict, staging: Path) -> None:
    for name, entry in manifest["files"].items():
        target = staging / name
        if not target.resolve().is_relative_to(staging):
            raise InputError(f"{name} would be restored outside {staging}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / "files" / name, target)
        if sha256_file(target) != entry["sha256"]:
            raise InputError(f"{name} changed while it was restored; check the disk")


def _place_files(staging: Path, data_dir: Path, placed: list[Path]) -> None:
    """Move the staged folders into the data folder (a rename each: the data folder gets
    all of a folder or none of it), noting each one placed in ``placed``."""
    for folder in FILE_FOLDERS:
        if (staging / folder).is_dir():
            os.replace(staging / folder, data_dir / folder)  # over an empty folder too
            placed.append(data_dir / folder)


@contextmanager
def _restored_database(source: Path, manifest: dict, url: str) -> Iterator[None]:
    """Restore the database; the body runs before the rows of a table backup are
    committed, so that when it fails they are rolled back."""
    from api.migrations import upgrade

    database = manifest["database"]
    if database["kind"] == "sqlite":
        target = sqlite_file(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / database["file"], target)
        fsync_path(target)
        _check_sqlite_copy(url, database)
        upgrade(url)
        yield
        return
    upgrade(url)  # an empty, migrated database counts as empty: a retry may use it
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            _insert_tables(connection, source, manifest)
            yield
    finally:
        engine.dispose()


def _remove_restored(placed: list[Path], url: str) -> None:
    for folder in placed:
        shutil.rmtree(folder, ignore_errors=True)
    path = sqlite_file(url)
    if path is not None:  # none was there before: the restore checked
        for file in _sqlite_family(path):
            file.unlink(missing_ok=True)


def _fill(source: Path, manifest: dict, data_dir: Path, url: str) -> None:
    """Stage the files, restore the database, put the files in place; on any failure
    remove all of that again."""
    staging, placed = data_dir / STAGING, []
    try:
        ensure_private_dir(staging)
        _stage_files(source, manifest, staging)
        fsync_tree(staging)  # on the disk before the renames make them the data
        with _restored_database(source, manifest, url):
            _place_files(staging, data_dir, placed)
            fsync_path(data_dir)  # the renames, and a SQLite copy's entry
    except BaseException:
        _remove_restored(placed, url)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def restore(settings: Settings, in_dir: Path) -> dict:
    """Restore a backup into the instance described by ``settings``.

    The backup is verified first, and its schema revision must be one this version's
    migrations know; no ``navsvc serve`` or job worker may run on the data folder (the
    exclusive lock of :func:`api.service_lock.restore_lock`, held to the end); the data
    folder must hold no stored files and the database no records (a fresh instance). A SQLite backup is restored into SQLite; a PostgreSQL
    backup into any database (rows are inserted after the migrations). The rows the
    restored database holds are counted and must be those the manifest lists.

    All or nothing: after those checks the files are copied into a staging folder in
    the data folder (:data:`STAGING`), the database is restored, and the staged folders
    are moved into place (before a table backup's rows are committed). On any failure
    what the restore wrote goes again (the SQLite file with its -wal/-shm, the staging
    folder, the folders moved into place; a table backup's rows are rolled back), so the
    restore can be run again.

    Parameters
    ----------
    settings : Settings
        The instance to fill (data folder, database URL).
    in_dir : Path
        A folder written by :func:`api.backup.backup`.

    Returns
    -------
    dict
        The manifest of the restored backup (its row counts are those restored).

    Raises
    ------
    InputError
        Bad backup (see :func:`api.backup_manifest.verify`), a schema revision, table or column this version
        does not know, rows that differ from the manifest, a service or job worker running
        on the data folder (nothing is changed then), a non-empty target, a SQLite
        backup for a PostgreSQL target, a database that cannot be reached, or a failure
        while writing (e.g. a full disk), after which nothing of the restore is left.
    """
    source = Path(in_dir)
    manifest = verify(source)
    _check_restorable(manifest)
    data_dir = Path(settings.data_dir).resolve()
    url = settings.resolved_database_url
    _require_target_for(manifest, url)
    with restore_lock(data_dir, url):
        _restore_into(source, manifest, data_dir, url)
    return manifest


def _restore_into(source: Path, manifest: dict, data_dir: Path, url: str) -> None:
    """Check that the target is empty, then fill it (see :func:`restore`)."""
    _require_empty_data_folder(data_dir)
    try:
        with reported_database_errors(url):
            _require_empty_database(url)
            _fill(source, manifest, data_dir, url)
    except OSError as exc:
        raise InputError(f"the restore into {data_dir} failed ({exc}); what it had written is "
                         "removed again, so it can be run again once that is fixed") from None
