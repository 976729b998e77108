"""Backup and restore of a service instance: database and stored files, with a manifest.

A backup is a folder::

    manifest.json     what is in it: database kind and revision, row counts, files
                      with their SHA-256 and size
    navsvc.sqlite3    SQLite: a consistent copy made by ``VACUUM INTO``
    db/TABLE.jsonl    PostgreSQL: every table, one JSON row a line, read in one
                      REPEATABLE READ transaction (a consistent snapshot)
    files/...         images/ and plans/ of the data folder

Both are safe while the service runs: the database copy is one snapshot, and the
files it names exist before their rows are committed (images are stored before their
record, plan folders are written before the plan row) and never change afterwards.
:func:`restore` checks every checksum before and after copying, into a data folder and
database that hold no records yet.
"""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa

from api.config import Settings
from api.models import utc_now
from api.storage import ensure_private_dir, sha256_file
from navsvc import __version__
from navsvc.errors import InputError

MANIFEST = "manifest.json"
#: data-folder subfolders that are backed up (tmp/ is the upload spool)
FILE_FOLDERS = ("images", "plans")
FORMAT_VERSION = 1


def _sqlite_path(url: str) -> Path | None:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database)


def _revision(connection) -> str | None:
    try:
        return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.DBAPIError:
        return None


def _tables(engine: sa.Engine) -> list[sa.Table]:
    metadata = sa.MetaData()
    metadata.reflect(engine)
    return [t for t in metadata.sorted_tables if t.name != "alembic_version"]


def _to_json(value):
    if isinstance(value, (datetime, date)):
        return {"$t": value.isoformat()}
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode("ascii")}
    return value


def _from_json(value, column: sa.Column):
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


def _backup_database(url: str, out: Path) -> dict:
    """Copy the database into ``out``; return its manifest entry."""
    sqlite_file = _sqlite_path(url)
    if sqlite_file is not None:
        if not sqlite_file.is_file():
            raise InputError(f"no database at {sqlite_file}; nothing to back up")
        target = out / "navsvc.sqlite3"
        with sqlite3.connect(sqlite_file, timeout=60) as connection:
            connection.execute("VACUUM INTO ?", (str(target),))
        connection.close()
        engine = sa.create_engine(f"sqlite:///{target}")
        try:
            with engine.connect() as connection:
                revision = _revision(connection)
                counts = {t.name: connection.execute(sa.select(sa.func.count()).select_from(t))
                          .scalar() for t in _tables(engine)}
        finally:
            engine.dispose()
        return {"kind": "sqlite", "file": target.name, "sha256": sha256_file(target),
                "revision": revision, "rows": counts}
    engine = sa.create_engine(url, isolation_level="REPEATABLE READ")
    folder = out / "db"
    folder.mkdir()
    counts = {}
    try:
        tables = _tables(engine)
        with engine.connect() as connection, connection.begin():
            revision = _revision(connection)
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
    return {"kind": "tables", "folder": "db", "revision": revision, "rows": counts,
            "sha256": {p.name: sha256_file(p) for p in sorted(folder.iterdir())}}


def _copy_files(data_dir: Path, out: Path) -> dict[str, dict]:
    files = {}
    for folder in FILE_FOLDERS:
        source_root = data_dir / folder
        if not source_root.is_dir():
            continue
        for source in sorted(source_root.rglob("*")):
            if not source.is_file():
                continue
            relative = source.relative_to(data_dir).as_posix()
            target = out / "files" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)  # not copy2: the copy gets the umask's mode
            files[relative] = {"sha256": sha256_file(target), "size": target.stat().st_size}
    return files


def backup(settings: Settings, out_dir: Path) -> dict:
    """Write a backup of the instance described by ``settings`` into ``out_dir``.

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
        If ``out_dir`` holds files or the instance has no database.
    """
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise InputError(f"{out} is not empty; give a new folder for the backup")
    ensure_private_dir(out)
    started = utc_now()
    database = _backup_database(settings.resolved_database_url, out)
    files = _copy_files(Path(settings.data_dir).resolve(), out)
    manifest = {"format": FORMAT_VERSION, "navsvc_version": __version__,
                "started_at": started.isoformat(), "finished_at": utc_now().isoformat(),
                "database": database, "files": files}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def verify(in_dir: Path) -> dict:
    """Check a backup against its manifest and return the manifest.

    Raises
    ------
    InputError
        Missing manifest, missing file or checksum mismatch (named).
    """
    folder = Path(in_dir)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{folder} is not a navsvc backup (no readable {MANIFEST}: "
                         f"{exc})") from None
    database = manifest["database"]
    if database["kind"] == "sqlite":
        expected = {database["file"]: database["sha256"]}
    else:
        expected = {f"{database['folder']}/{name}": digest
                    for name, digest in database["sha256"].items()}
    expected.update({f"files/{name}": entry["sha256"]
                     for name, entry in manifest["files"].items()})
    for name, digest in expected.items():
        path = folder / name
        if not path.is_file():
            raise InputError(f"the backup lacks {name}")
        if sha256_file(path) != digest:
            raise InputError(f"{name} in the backup does not match its checksum")
    return manifest


def _restore_tables(source: Path, manifest: dict, url: str) -> None:
    """Insert every backed-up row into the (migrated, empty) database at ``url``."""
    engine = sa.create_engine(url)
    try:
        tables = {t.name: t for t in _tables(engine)}
        with engine.begin() as connection:
            for name in [t.name for t in _tables(engine)]:
                path = source / manifest["database"]["folder"] / f"{name}.jsonl"
                if not path.is_file():
                    continue
                table = tables[name]
                rows = []
                with open(path, encoding="utf-8") as handle:
                    for line in handle:
                        record = json.loads(line)
                        rows.append({c.name: _from_json(record[c.name], c)
                                     for c in table.columns if c.name in record})
                        if len(rows) >= 1000:
                            connection.execute(table.insert(), rows)
                            rows = []
                if rows:
                    connection.execute(table.insert(), rows)
            if connection.dialect.name == "postgresql":
                _reset_sequences(connection, tables.values())
    finally:
        engine.dispose()


def _reset_sequences(connection, tables) -> None:
    for table in tables:
        for column in table.primary_key.columns:
            if isinstance(column.type, sa.Integer) and column.autoincrement:
                connection.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                    f"COALESCE((SELECT max({column.name}) FROM {table.name}), 0) + 1, false)"))


def _database_is_empty(url: str) -> bool:
    sqlite_file = _sqlite_path(url)
    if sqlite_file is not None:
        return not sqlite_file.exists()
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return all(connection.execute(sa.select(sa.func.count()).select_from(t)).scalar() == 0
                       for t in _tables(engine))
    finally:
        engine.dispose()


def restore(settings: Settings, in_dir: Path) -> dict:
    """Restore a backup into the instance described by ``settings``.

    The backup is verified first; the data folder must hold no stored files and the
    database no records (a fresh instance). A SQLite backup is restored into SQLite;
    a PostgreSQL backup into any database (rows are inserted after the migrations).

    Returns
    -------
    dict
        The manifest of the restored backup.

    Raises
    ------
    InputError
        Bad backup, non-empty target, or a SQLite backup for a PostgreSQL target.
    """
    from api.migrations import upgrade

    source = Path(in_dir)
    manifest = verify(source)
    data_dir = Path(settings.data_dir).resolve()
    url = settings.resolved_database_url
    if any((data_dir / folder).is_dir() and any((data_dir / folder).rglob("*"))
           for folder in FILE_FOLDERS):
        raise InputError(f"{data_dir} already holds stored files; restore into a new data "
                         "folder")
    if not _database_is_empty(url):
        raise InputError("the target database already holds records; restore into a new one")
    ensure_private_dir(data_dir)
    database = manifest["database"]
    if database["kind"] == "sqlite":
        target = _sqlite_path(url)
        if target is None:
            raise InputError("this backup holds a SQLite database; restore it with the default "
                             "SQLite database (unset NAVSVC_DATABASE_URL)")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / database["file"], target)
        upgrade(url)
    else:
        upgrade(url)
        _restore_tables(source, manifest, url)
    for name, entry in manifest["files"].items():
        target = data_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / "files" / name, target)
        if sha256_file(target) != entry["sha256"]:
            raise InputError(f"{name} changed while it was restored; check the disk")
    return manifest
