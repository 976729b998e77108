"""Backup and restore of a service instance: database and stored files, with a manifest.

A backup is a folder::

    manifest.json     what is in it: database kind and revision, row counts, files
                      with their SHA-256 and size, records whose data it lacks
    navsvc.sqlite3    SQLite: a consistent copy made by ``VACUUM INTO``
    db/TABLE.jsonl    PostgreSQL: every table, one JSON row a line, read in one
                      REPEATABLE READ transaction (a consistent snapshot)
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
:func:`restore` checks everything it can before it writes (manifest, names, checksums,
schema revision, an empty target), then restores all or nothing into a data folder and
database that hold no records yet.
"""

from __future__ import annotations

import base64
import glob
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import cache, partial
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal

import sqlalchemy as sa
from pydantic import Field, TypeAdapter, ValidationError
from typing_extensions import NotRequired, TypedDict

from api import models_course
from api.config import Settings
from api.db import reported_database_errors, sqlite_file
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

MANIFEST = "manifest.json"
#: data-folder subfolders that are backed up (tmp/ is the upload spool)
FILE_FOLDERS = ("images", "plans")
#: folder in the data folder that a restore copies the files into before they go in place
STAGING = ".restore-staging"
FORMAT_VERSION = 1


def _revision(connection) -> str | None:
    try:
        return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.DBAPIError:
        return None


def _tables(engine: sa.Engine) -> list[sa.Table]:
    metadata = sa.MetaData()
    metadata.reflect(engine)
    return [t for t in metadata.sorted_tables if t.name != "alembic_version"]


def _application_tables() -> dict[str, sa.Table]:
    """This version's tables (api/models.py and api/models_course.py share one
    ``Base.metadata``), parents before children. Their types convert as the service
    does: UTCDateTime stores an aware timestamp as UTC (naive on SQLite, which keeps no
    offset)."""
    return {t.name: t for t in models_course.Base.metadata.sorted_tables}


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


def _from_json(value, column: sa.Column):
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


def _row_counts(connection, tables: list[sa.Table]) -> dict[str, int]:
    return {t.name: connection.execute(sa.select(sa.func.count()).select_from(t)).scalar()
            for t in tables}


def _require_revision(revision: str | None, url: str) -> str:
    if revision is None:
        shown = sa.engine.make_url(url).render_as_string(hide_password=True)
        raise InputError(f"the database {shown} holds no navsvc schema (no alembic_version); "
                         "check NAVSVC_DATABASE_URL")
    return revision


def _backup_database(url: str, out: Path) -> tuple[dict, tuple[list[ImageRecord], list[PlanRecord]]]:
    """Copy the database into ``out``; return its manifest entry and the image and plan
    records of the copy (the files the backup must hold)."""
    source = sqlite_file(url)
    if source is not None:
        return _backup_sqlite(source, out)
    return _backup_tables(url, out)


def _backup_sqlite(source: Path, out: Path):
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
            revision = _require_revision(_revision(connection), url)
            counts = _row_counts(connection, _tables(engine))
            records = stored_records(connection)
    finally:
        engine.dispose()
    return ({"kind": "sqlite", "file": target.name, "sha256": sha256_file(target),
             "revision": revision, "rows": counts}, records)


def _backup_tables(url: str, out: Path):
    engine = sa.create_engine(url, isolation_level="REPEATABLE READ")
    folder = out / "db"
    folder.mkdir()
    counts = {}
    try:
        tables = _tables(engine)
        with engine.connect() as connection, connection.begin():
            revision = _require_revision(_revision(connection), url)
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
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


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


#: rows inserted with one statement
INSERT_BATCH = 1000


def _row(table: sa.Table, record: dict) -> dict:
    unknown = record.keys() - table.columns.keys()
    if unknown:
        raise InputError(f"the backup's table {table.name} has columns this navsvc version "
                         f"does not know ({', '.join(sorted(unknown))}); nothing was restored")
    return {name: _from_json(value, table.columns[name]) for name, value in record.items()}


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
    wrong = sorted(t for t in counted.keys() | listed.keys() if counted.get(t, 0) != listed.get(t, 0))
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
            revision, counted = _revision(connection), _row_counts(connection, _tables(engine))
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
            counts = _row_counts(connection, _tables(engine))
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
    created_data_dir = not data_dir.exists()
    ensure_private_dir(data_dir)
    staging, placed = data_dir / STAGING, []
    try:
        ensure_private_dir(staging)
        _stage_files(source, manifest, staging)
        with _restored_database(source, manifest, url):
            _place_files(staging, data_dir, placed)
    except BaseException:
        _remove_restored(placed, url)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created_data_dir and not any(data_dir.iterdir()):
            data_dir.rmdir()


def restore(settings: Settings, in_dir: Path) -> dict:
    """Restore a backup into the instance described by ``settings``.

    The backup is verified first, and its schema revision must be one this version's
    migrations know; the data folder must hold no stored files and the database no
    records (a fresh instance). A SQLite backup is restored into SQLite; a PostgreSQL
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
        A folder written by :func:`backup`.

    Returns
    -------
    dict
        The manifest of the restored backup (its row counts are those restored).

    Raises
    ------
    InputError
        Bad backup (see :func:`verify`), a schema revision, table or column this version
        does not know, rows that differ from the manifest, a non-empty target, a SQLite
        backup for a PostgreSQL target, a database that cannot be reached, or a failure
        while writing (e.g. a full disk), after which nothing of the restore is left.
    """
    source = Path(in_dir)
    manifest = verify(source)
    _check_restorable(manifest)
    data_dir = Path(settings.data_dir).resolve()
    url = settings.resolved_database_url
    _require_target_for(manifest, url)
    _require_empty_data_folder(data_dir)
    try:
        with reported_database_errors(url):
            _require_empty_database(url)
            _fill(source, manifest, data_dir, url)
    except OSError as exc:
        raise InputError(f"the restore into {data_dir} failed ({exc}); what it had written is "
                         "removed again, so it can be run again once that is fixed") from None
    return manifest
