"""``navsvc admin restore`` refuses a backup it cannot restore exactly, before it writes
anything: names that lead out of the data folder, symbolic links, a manifest of the wrong
shape, a newer version's schema, a target that is not empty. A restore that fails midway
(a full disk) removes what it wrote, so that it can be run again."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from api_test_fakes import plan_dict
from api_test_helpers import insert_plan
from hand_made_backup import patient_row, table_backup

from api.backup import backup
from api.backup_manifest import MANIFEST, verify
from api.config import Settings
from api.restore import STAGING, restore
from api.storage import sha256_file
from navsvc.cli import main
from navsvc.errors import InputError


@pytest.fixture
def made_backup(app, client, image, settings, tmp_path) -> Path:
    """A backup (in ``tmp_path/nas/backup``) of an instance with an image and a plan."""
    insert_plan(app, image["id"], plan_dict())
    folder = tmp_path / "nas" / "backup"
    backup(settings, folder)
    return folder


def _edit_manifest(folder: Path, edit) -> None:
    manifest = json.loads((folder / MANIFEST).read_text())
    edit(manifest)
    (folder / MANIFEST).write_text(json.dumps(manifest))


def _sqlite_target(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "srv" / "data")


def _patient_count(target: Settings) -> int:
    """Patients in the target database (0 if restore left none, or no database)."""
    url = target.resolved_database_url
    if target.database_url is None and not Path(url.removeprefix("sqlite:///")).exists():
        return 0
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table("patients"):
                return 0
            return connection.execute(sa.text("SELECT count(*) FROM patients")).scalar()
    finally:
        engine.dispose()


def _created_by_restore(tmp_path: Path) -> list[str]:
    return sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "srv").rglob("*")) \
        if (tmp_path / "srv").exists() else []


@pytest.mark.parametrize("name", ["../../escaped.sh", "images/../../../escaped.sh", "/tmp/escaped.sh",
                                  "tmp/escaped.sh", "navsvc.sqlite3", "images", "images/./x",
                                  "images//x", "images/..\\..\\escaped.sh"])
def test_a_file_name_leading_elsewhere_is_refused(made_backup, tmp_path, name):
    payload = b"#!/bin/sh\necho owned\n"
    (tmp_path / "nas" / "escaped.sh").write_bytes(payload)  # where backup/files/../../ points
    _edit_manifest(made_backup, lambda m: m["files"].update(
        {name: {"sha256": hashlib.sha256(payload).hexdigest(), "size": len(payload)}}))
    with pytest.raises(InputError, match=re.escape(f"{name!r} is not a stored file's name")):
        restore(_sqlite_target(tmp_path), made_backup)
    assert not (tmp_path / "escaped.sh").exists() and _created_by_restore(tmp_path) == []


@pytest.mark.parametrize("value", ["../navsvc.sqlite3", "/etc/passwd", "", ".."])
def test_a_database_file_name_leading_elsewhere_is_refused(made_backup, tmp_path, value):
    key = "file" if verify(made_backup)["database"]["kind"] == "sqlite" else "folder"
    _edit_manifest(made_backup, lambda m: m["database"].update({key: value}))
    with pytest.raises(InputError, match=f"database.{key} {value!r} in the manifest is not a "
                                         "plain file name"):
        verify(made_backup)


def test_symbolic_links_in_the_backup_are_refused(made_backup, tmp_path):
    name = next(n for n in verify(made_backup)["files"] if n.startswith("plans/"))
    stored = made_backup / "files" / name
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(stored.read_bytes())
    stored.unlink()
    stored.symlink_to(elsewhere)  # same bytes: the checksum alone would pass
    with pytest.raises(InputError, match=f"files/{name} in the backup is .*a symbolic link"):
        restore(_sqlite_target(tmp_path), made_backup)
    assert _created_by_restore(tmp_path) == []
    os.replace(elsewhere, stored)
    plans = made_backup / "files" / "plans"
    os.replace(plans, tmp_path / "plans-elsewhere")
    plans.symlink_to(tmp_path / "plans-elsewhere")
    with pytest.raises(InputError, match="symbolic link"):
        verify(made_backup)


@pytest.mark.parametrize("manifest,message", [
    ({}, "format: Field required"),
    ([], "the whole: Input should be a valid dictionary"),
    ({"format": 1, "database": {"kind": "sqlite"}, "files": {}}, "database.sqlite.file: Field required"),
    ({"format": 1, "database": {"kind": "other"}, "files": {}}, "database: Input tag 'other'"),
    ({"format": 2, "database": {"kind": "sqlite", "file": "navsvc.sqlite3", "sha256": "0",
                                "revision": "0003", "rows": {}}, "files": {}}, "format: Input should be 1"),
    ({"format": 1, "database": {"kind": "sqlite", "file": "navsvc.sqlite3", "sha256": "0",
                                "revision": "0003", "rows": {}}, "files": {"images/a": "0"}},
     "files.images/a: Input should be a valid dictionary"),
    # strict: a count written as text is not taken for a number
    ({"format": 1, "database": {"kind": "sqlite", "file": "navsvc.sqlite3", "sha256": "0",
                                "revision": "0003", "rows": {"patients": "3"}}, "files": {}},
     "database.sqlite.rows.patients: Input should be a valid integer"),
])
def test_a_manifest_of_the_wrong_shape_is_one_error_line(cli_env, tmp_path, monkeypatch, capsys,
                                                          manifest, message):
    folder = tmp_path / "not-a-backup"
    folder.mkdir()
    (folder / MANIFEST).write_text(json.dumps(manifest))
    monkeypatch.setenv("NAVSVC_DATA_DIR", str(tmp_path / "new"))
    assert main(["admin", "restore", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"navsvc: error: {folder / MANIFEST} is not the manifest of a navsvc "
                          "backup (") and message in err and err.count("\n") == 1
    assert not (tmp_path / "new").exists()


def test_a_backup_at_an_unknown_schema_revision_is_refused_before_anything_is_written(
        made_backup, tmp_path):
    _edit_manifest(made_backup, lambda m: m["database"].update(revision="0004_future"))
    with pytest.raises(InputError, match="schema revision '0004_future', which this navsvc "
                                         r"version \(.*\) does not know"):
        restore(_sqlite_target(tmp_path), made_backup)
    assert _created_by_restore(tmp_path) == []


@pytest.mark.parametrize("extra,message", [
    ({"column": "allergy_note"}, r"table patients has columns .* \(allergy_note\)"),
    ({"table": "consents"}, r"tables this navsvc version does not know \(consents\)"),
])
def test_a_newer_versions_tables_and_columns_are_refused(tmp_path, fresh_database_url, extra,
                                                         message):
    row = patient_row("2025-03-30T10:00:00+00:00")
    rows = {"patients": [row | ({"allergy_note": "latex"} if "column" in extra else {})]}
    if "table" in extra:
        rows["consents"] = [{"id": "c1", "patient_id": row["id"], "signed": True}]
    folder = table_backup(tmp_path / "backup", rows)
    target = Settings(data_dir=tmp_path / "srv" / "data", database_url=fresh_database_url)
    with pytest.raises(InputError, match=message):
        restore(target, folder)
    assert _patient_count(target) == 0


@pytest.mark.parametrize("listed, words", [
    ({"patients": 2, "jobs": 1}, r"\(jobs: 0 rows, manifest 1, patients: 1 rows, manifest 2\)"),
    ({"patients": 0}, r"\(patients: 1 rows, manifest 0\)")])  # a row the manifest does not list
def test_rows_that_differ_from_the_manifest_are_refused(tmp_path, fresh_database_url, listed, words):
    folder = table_backup(tmp_path / "backup", {"patients": [patient_row("2025-03-30T10:00:00Z")]})
    _edit_manifest(folder, lambda m: m["database"]["rows"].update(listed))
    target = Settings(data_dir=tmp_path / "srv" / "data", database_url=fresh_database_url)
    with pytest.raises(InputError, match=r"does not hold the rows its manifest lists " + words):
        restore(target, folder)
    assert _patient_count(target) == 0


def test_a_restore_into_a_database_that_holds_records_is_refused_and_changes_nothing(tmp_path, fresh_database_url):
    # a new data folder, but the database URL left at a database in use (its service stopped)
    folder = table_backup(tmp_path / "backup", {"patients": [patient_row("2025-03-30T10:00:00Z")]})
    in_use = Settings(data_dir=tmp_path / "first" / "data", database_url=fresh_database_url)
    restore(in_use, folder)
    target = Settings(data_dir=tmp_path / "srv" / "data", database_url=in_use.resolved_database_url)
    words = (r"the target database already holds records; restore into a new one" if fresh_database_url
             else r"navsvc\.sqlite3\S* already exist in")
    with pytest.raises(InputError, match=words):
        restore(target, folder)
    assert _patient_count(in_use) == 1 and _created_by_restore(tmp_path) == []


def test_a_restore_left_interrupted_is_refused_until_its_staging_is_removed(made_backup, tmp_path,
                                                                          fresh_database_url):
    target = Settings(data_dir=tmp_path / "srv" / "data", database_url=fresh_database_url)
    (target.data_dir / STAGING / "images").mkdir(parents=True)
    with pytest.raises(InputError, match=f"{STAGING} is left from an interrupted restore; remove it"):
        restore(target, made_backup)
    assert _created_by_restore(tmp_path) == ["srv/data", f"srv/data/{STAGING}", f"srv/data/{STAGING}/images"]
    assert _patient_count(target) == 0


def test_a_file_that_differs_once_copied_is_refused_and_nothing_is_left(made_backup, tmp_path, fresh_database_url,
                                                                      monkeypatch):
    # a disk fault: the copy in place is not the file the backup holds (its checksum was read
    # before); the restore stops and removes what it wrote
    target = Settings(data_dir=tmp_path / "srv" / "data", database_url=fresh_database_url)
    copy = shutil.copyfile

    def copy_with_a_flipped_byte(source, destination, *args, **kwargs):
        copy(source, destination, *args, **kwargs)
        if "/files/images/" in str(source):
            data = bytearray(Path(destination).read_bytes())
            data[-1] ^= 0xFF
            Path(destination).write_bytes(bytes(data))
        return destination

    monkeypatch.setattr(shutil, "copyfile", copy_with_a_flipped_byte)
    with pytest.raises(InputError, match=r"images/\S+ changed while it was restored; check the disk"):
        restore(target, made_backup)
    assert _created_by_restore(tmp_path) == [] and _patient_count(target) == 0


def test_a_sqlite_backup_whose_manifest_names_another_schema_revision_is_refused(made_backup, settings, tmp_path,
                                                                                fresh_database_url):
    if settings.database_url is not None:
        pytest.skip("a PostgreSQL backup's tables are restored into the schema its manifest names")
    from api.migrations import known_revisions

    actual = verify(made_backup)["database"]["revision"]
    other = sorted(known_revisions() - {actual})[0]
    _edit_manifest(made_backup, lambda m: m["database"].update(revision=other))
    target = Settings(data_dir=tmp_path / "srv" / "data", database_url=fresh_database_url)
    with pytest.raises(InputError, match=f"at schema revision '{actual}', its manifest says '{other}'"):
        restore(target, made_backup)
    assert _created_by_restore(tmp_path) == [] and _patient_count(target) == 0


def test_a_sqlite_backup_is_refused_for_a_postgresql_target(made_backup, settings, tmp_path):
    if settings.database_url is not None or not os.environ.get("NAVSVC_TEST_POSTGRES_URL"):
        pytest.skip("needs a SQLite backup and a PostgreSQL server (NAVSVC_TEST_POSTGRES_URL)")
    from api.testing import postgres_schema

    with postgres_schema(os.environ["NAVSVC_TEST_POSTGRES_URL"], prefix="r") as url:
        target = Settings(data_dir=tmp_path / "srv" / "data", database_url=url)
        with pytest.raises(InputError, match="this backup holds a SQLite database; restore it with the default"):
            restore(target, made_backup)
        assert _created_by_restore(tmp_path) == [] and _patient_count(target) == 0


@pytest.mark.parametrize("leftover", ["navsvc.sqlite3-wal", "navsvc.sqlite3-shm"])
def test_sqlite_files_left_without_their_database_make_the_target_not_empty(made_backup, tmp_path,
                                                                             leftover):
    target = _sqlite_target(tmp_path)
    target.data_dir.mkdir(parents=True)
    (target.data_dir / leftover).write_bytes(b"commits of a killed service")  # its database removed
    with pytest.raises(InputError, match=f"{leftover} already exist in {target.data_dir.resolve()}"):
        restore(target, made_backup)
    assert [p.name for p in target.data_dir.iterdir()] == [leftover]


def _no_space_left(path: str):
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)


@pytest.mark.parametrize("failing_step", ["copying a file", "moving files into place"])
def test_a_restore_that_fails_midway_leaves_nothing_and_can_be_run_again(
        made_backup, tmp_path, fresh_database_url, monkeypatch, failing_step):
    target = Settings(data_dir=tmp_path / "srv" / "data", database_url=fresh_database_url)
    if failing_step == "copying a file":  # the last file: the image is copied by then
        copy, failing = shutil.copyfile, str(made_backup / "files" / "plans")

        def copy_until_the_disk_is_full(source, destination, *args, **kwargs):
            if str(source).startswith(failing):
                raise _no_space_left(str(destination))
            return copy(source, destination, *args, **kwargs)

        monkeypatch.setattr(shutil, "copyfile", copy_until_the_disk_is_full)
    else:  # after the database is restored and images/ is in place
        move = os.replace

        def move_but_not_plans(source, destination):
            if Path(destination).name == "plans":
                raise _no_space_left(str(destination))
            return move(source, destination)

        monkeypatch.setattr(os, "replace", move_but_not_plans)
    with pytest.raises(InputError, match="No space left on device.*can be run again"):
        restore(target, made_backup)
    assert _created_by_restore(tmp_path) == [] and _patient_count(target) == 0

    monkeypatch.undo()
    restore(target, made_backup)
    assert _patient_count(target) == 1
    restored = {p.relative_to(target.data_dir).as_posix(): sha256_file(p)
                for p in target.data_dir.rglob("*") if p.is_file() and "sqlite3" not in p.name}
    assert restored == {name: entry["sha256"] for name, entry in verify(made_backup)["files"].items()}


def test_restore_into_an_unreachable_database_is_one_error_line(cli_env, tmp_path, monkeypatch,
                                                                capsys):
    folder = table_backup(tmp_path / "backup", {"patients": [patient_row("2025-03-30T10:00:00Z")]})
    monkeypatch.setenv("NAVSVC_DATA_DIR", str(tmp_path / "srv" / "data"))
    monkeypatch.setenv("NAVSVC_DATABASE_URL", "postgresql+psycopg://u:secret@127.0.0.1:1/x")
    assert main(["admin", "restore", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("navsvc: error: cannot use the database postgresql+psycopg://u:***@")
    assert err.count("\n") == 1 and _created_by_restore(tmp_path) == []
