"""``navsvc admin backup`` / ``restore``: every record and file comes back, also when the
backup is taken while the service writes."""

from __future__ import annotations

import builtins
import json
import shutil
import sqlite3
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from api_test_fakes import plan_dict
from api_test_helpers import insert_plan, plan_folder
from db_integrity import integrity_problems
from hand_made_backup import patient_row, table_backup
from live_course import live_course, session_log, sessions_of, tokens
from seed import check, extra_rating

from api.backup import backup, reflected_tables
from api.backup_manifest import missing_data_warning, verify
from api.config import Settings
from api.db import Database
from api.models import AuditEvent, Image, Patient, Plan
from api.restore import restore
from api.storage import sha256_file
from navsvc.cli import main
from navsvc.errors import InputError


def _records(url: str) -> dict[str, list[tuple]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return {t.name: [tuple(r) for r in connection.execute(
                sa.select(t).order_by(*(list(t.primary_key.columns) or list(t.columns))))]
                for t in reflected_tables(engine)}
    finally:
        engine.dispose()


def _use_instance(monkeypatch, data_dir: Path, database_url: str | None) -> None:
    """Point `navsvc admin` run in this process at another instance."""
    monkeypatch.setenv("NAVSVC_DATA_DIR", str(data_dir))
    if database_url:
        monkeypatch.setenv("NAVSVC_DATABASE_URL", database_url)
    else:
        monkeypatch.delenv("NAVSVC_DATABASE_URL", raising=False)


def _patients(url: str) -> dict[str, datetime]:
    database = Database(url)
    try:
        with database.session() as session:
            return {p.id: p.created_at for p in session.query(Patient)}
    finally:
        database.dispose()


def _files(data_dir: Path) -> dict[str, str]:
    return {p.relative_to(data_dir).as_posix(): sha256_file(p)
            for folder in ("images", "plans") for p in (data_dir / folder).rglob("*")
            if p.is_file()}


def test_restore_into_a_fresh_folder_gives_every_record_and_file(
        client, app, settings, seeded, auth, tmp_path, fresh_database_url):
    course = seeded["course_id"]
    first = check(client.get(f"/api/v1/courses/{course}/sessions",
                             headers=auth["technician"]))["items"][0]
    check(client.post(f"/api/v1/sessions/{first['id']}/delivery", headers=auth["technician"],
                      json=session_log(first)), 201)
    check(client.post(f"/api/v1/courses/{course}/assessments", headers=auth["clinician"],
                      json=extra_rating("2025-03-03")), 201)
    app.state.audit.flush()
    manifest = backup(settings, tmp_path / "backup")
    assert manifest["database"]["rows"]["deliveries"] == 1 and manifest["files"]
    with pytest.raises(InputError, match="not empty"):
        backup(settings, tmp_path / "backup")

    target = Settings(data_dir=tmp_path / "restored", database_url=fresh_database_url)
    restore(target, tmp_path / "backup")
    assert _records(target.resolved_database_url) == _records(settings.resolved_database_url)
    assert _files(target.data_dir) == _files(settings.data_dir)
    assert integrity_problems(target.resolved_database_url) == []
    with pytest.raises(InputError, match="already holds"):
        restore(target, tmp_path / "backup")
    stored = next(iter(manifest["files"]))
    (tmp_path / "backup" / "files" / stored).write_bytes(b"tampered")
    with pytest.raises(InputError, match="checksum"):
        verify(tmp_path / "backup")


def test_backup_while_the_service_writes(server_factory, small_head, tmp_path,
                                         fresh_database_url):
    server = server_factory()
    auth = tokens(server, "technician", "clinician")
    written: list[str] = []
    stop = threading.Event()
    with httpx.Client(base_url=server.base_url, timeout=60) as http:
        ids = live_course(http, auth, small_head)

        def write() -> None:
            with httpx.Client(base_url=server.base_url, timeout=60) as own:
                sessions = iter(sessions_of(own, auth, ids["course_id"]))
                while not stop.is_set():
                    rating = own.post(f"/api/v1/courses/{ids['course_id']}/assessments",
                                      headers=auth["clinician"],
                                      json=extra_rating("2025-03-03", f"r-{uuid.uuid4().hex}"))
                    assert rating.status_code == 201, rating.text
                    written.append(rating.json()["id"])
                    session = next(sessions)
                    logged = own.post(f"/api/v1/sessions/{session['id']}/delivery",
                                      headers=auth["technician"], json=session_log(session))
                    assert logged.status_code == 201, logged.text

        writer = threading.Thread(target=write)
        writer.start()
        while len(written) < 5 and writer.is_alive():
            time.sleep(0.05)
        before = list(written)
        out = server.cli("admin", "backup", str(tmp_path / "live-backup"))
        stop.set()
        writer.join(60)
    assert "backed up" in out
    manifest = verify(tmp_path / "live-backup")
    from server_process import ServerProcess

    target = ServerProcess(tmp_path / "restored")
    target.env.pop("NAVSVC_DATABASE_URL", None)
    if fresh_database_url:
        target.env["NAVSVC_DATABASE_URL"] = fresh_database_url
    assert "restored" in target.cli("admin", "restore", str(tmp_path / "live-backup"))
    url = fresh_database_url or f"sqlite:///{(tmp_path / 'restored' / 'navsvc.sqlite3')}"
    assert integrity_problems(url) == []
    records = _records(url)
    assert {t: len(rows) for t, rows in records.items()} == manifest["database"]["rows"]
    stored = {row[0] for row in records["assessments"]}
    assert set(before) <= stored
    deliveries = len(records["deliveries"])
    done = sum(1 for row in records["course_sessions"] if "done" in row)
    assert deliveries == done
    assert _files(tmp_path / "restored") == {k: v["sha256"] for k, v in manifest["files"].items()}


def test_backup_during_a_job_holds_only_what_the_records_name(app, client, image, settings,
                                                             tmp_path, monkeypatch):
    plan = insert_plan(app, image["id"], plan_dict())
    stale = plan_folder(app, plan) / ".registration-host-1-x"  # a killed step's scratch folder
    stale.mkdir()
    (stale / "0Warp.nii.gz").write_bytes(b"patient warp")
    # a writer's temporary file, renamed over plan.json when done (or left by a killed writer)
    (plan_folder(app, plan) / ".plan.json.host-1.tmp").write_bytes(b"patient plan data")
    running = app.state.storage.run_dir("running-job", 1)
    scratch = running / ".registration-host-2-y"
    scratch.mkdir()
    for n in range(3):
        (scratch / f"{n}Warp.nii.gz").write_bytes(b"patient warp")
    copy = shutil.copyfile

    def copy_while_the_job_ends(source, target, *args, **kwargs):
        if running in Path(source).parents:  # the job finishes and discards its working folder
            shutil.rmtree(running)
        return copy(source, target, *args, **kwargs)

    monkeypatch.setattr(shutil, "copyfile", copy_while_the_job_ends)
    manifest = backup(settings, tmp_path / "backup")
    assert manifest["missing"] == []
    recorded = {name for name in _files(settings.data_dir)
                if not name.startswith("plans/running-job") and "/." not in name}
    assert set(manifest["files"]) == recorded and len(recorded) == 3  # the image, report.html, plan.json
    assert not [p for p in (tmp_path / "backup").rglob("*") if "registration" in p.name or ".tmp" in p.name]


def test_a_postgresql_backup_is_one_snapshot_while_the_service_writes(
        app, client, image, settings, tmp_path, monkeypatch):
    """Tables are read one after another; a patient and an image registered after the
    patients were read must not appear in the images alone (the restore's foreign keys
    would refuse the backup)."""
    if settings.database_url is None:
        pytest.skip("a SQLite backup is one VACUUM INTO: a snapshot by itself")
    def open_and_write_meanwhile(path, *args, **kwargs):
        if Path(path).name == "images.jsonl":  # the patients are read already
            with app.state.db.session() as session:
                late = Patient(external_id="MRN-LATE", created_by="t")
                session.add(late)
                session.flush()
                session.add(Image(patient_id=late.id, upload_sha256="0" * 64, sha256="1" * 64,
                                  format="nifti", stored_path="images/11/late.nii.gz",
                                  size_bytes=1, info={}, created_by="t"))
        return builtins.open(path, *args, **kwargs)

    monkeypatch.setattr("api.backup.open", open_and_write_meanwhile, raising=False)
    backup(settings, tmp_path / "backup")
    tables = tmp_path / "backup" / "db"
    patients = {json.loads(line)["id"] for line in (tables / "patients.jsonl").read_text().splitlines()}
    images = [json.loads(line) for line in (tables / "images.jsonl").read_text().splitlines()]
    assert [i["id"] for i in images] == [image["id"]] and {i["patient_id"] for i in images} <= patients


def test_a_record_whose_path_leads_out_of_the_data_folder_is_listed_as_missing(
        app, client, image, settings, tmp_path):
    plan = insert_plan(app, image["id"], plan_dict())
    with app.state.db.session() as session:
        session.get(Plan, plan).result_dir = "../../etc"
    manifest = backup(settings, tmp_path / "backup")
    assert [(m["record"], m["id"], m["problem"]) for m in manifest["missing"]] == [
        ("plan", plan, "not a path below images/ or plans/")]
    assert not [name for name in manifest["files"] if not name.startswith("images/")]


def test_backup_lacking_files_warns_and_exits_1_and_restore_warns(
        app, client, image, cli_env, tmp_path, monkeypatch, capsys, fresh_database_url):
    kept = insert_plan(app, image["id"], plan_dict())
    lost = insert_plan(app, image["id"], plan_dict())
    shutil.rmtree(plan_folder(app, lost))
    with app.state.db.session() as session:
        stored_path = session.get(Image, image["id"]).stored_path
    app.state.storage.absolute(stored_path).unlink()

    assert main(["admin", "backup", str(tmp_path / "backup")]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("backed up ")
    warning = err.strip()
    assert "\n" not in warning and warning.startswith(
        "navsvc: warning: the backup lacks the data of 2 record(s): ")
    assert f"image {image['id']} ({stored_path}: missing)" in warning
    assert f"plan {lost} (" in warning and kept not in warning
    assert "run 'navsvc admin check-storage'" in warning
    assert {(m["record"], m["id"], m["problem"]) for m in verify(tmp_path / "backup")["missing"]} == {
        ("image", image["id"], "missing"), ("plan", lost, "missing")}

    _use_instance(monkeypatch, tmp_path / "restored", fresh_database_url)
    assert main(["admin", "restore", str(tmp_path / "backup")]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("restored ") and err.strip() == warning


def test_the_missing_data_warning_names_ten_records_and_counts_the_rest():
    missing = [{"record": "plan", "id": f"p{n}", "path": f"plans/p{n}", "problem": "missing"}
               for n in range(12)]
    warning = missing_data_warning({"missing": missing})
    assert warning.startswith("the backup lacks the data of 12 record(s): plan p0 (plans/p0: missing), ")
    assert "plan p9 (" in warning and "p10" not in warning and "p11" not in warning
    assert "and 2 more (see manifest.json); run 'navsvc admin check-storage'" in warning
    assert " more " not in missing_data_warning({"missing": missing[:10]})


def test_backup_mistakes_are_one_error_line(cli_env, tmp_path, monkeypatch, capsys):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    for out, message in [(a_file, f"{a_file} is a file; give a new folder"),
                         (Path("/proc/navsvc-backup"), "cannot create the backup folder")]:
        assert main(["admin", "backup", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("navsvc: error: ") and err.count("\n") == 1 and message in err
    monkeypatch.setenv("NAVSVC_DATABASE_URL", "postgresql+psycopg://u:secret@127.0.0.1:1/x")
    assert main(["admin", "backup", str(tmp_path / "backup")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("navsvc: error: cannot use the database postgresql+psycopg://u:***@")
    assert err.count("\n") == 1


def test_a_database_without_the_navsvc_schema_is_not_backed_up(tmp_path, fresh_database_url):
    # NAVSVC_DATABASE_URL (or the data folder) pointing at some other, empty database
    settings = Settings(data_dir=tmp_path / "data", database_url=fresh_database_url)
    if fresh_database_url is None:
        settings.data_dir.mkdir()
        sqlite3.connect(settings.data_dir / "navsvc.sqlite3").close()
    with pytest.raises(InputError, match=r"holds no navsvc schema \(no alembic_version\); check NAVSVC_DATABASE_URL"):
        backup(settings, tmp_path / "backup")


def test_timestamps_keep_their_instant_when_table_rows_are_restored(tmp_path, fresh_database_url):
    row = patient_row("2025-03-30T01:30:00-05:00")  # as a PostgreSQL session in New York reads it
    folder = table_backup(tmp_path / "backup", {"patients": [row]})
    target = Settings(data_dir=tmp_path / "restored", database_url=fresh_database_url)
    restore(target, folder)
    assert _patients(target.resolved_database_url) == {
        row["id"]: datetime(2025, 3, 30, 6, 30, tzinfo=UTC)}


def test_table_rows_restored_in_batches_are_all_counted_and_new_records_follow_them(
        tmp_path, fresh_database_url, monkeypatch):
    """A clinic's audit trail runs to thousands of rows, inserted 1000 at a time; after
    the restore, PostgreSQL's id sequence must continue after the restored ids, or the
    first request's audit record collides with one of them (and the request gets 500)."""
    monkeypatch.setattr("api.restore.INSERT_BATCH", 2)
    events = [{"id": n, "at": {"$t": f"2025-03-0{n}T09:00:00+00:00"}, "token_name": "clinician",
               "role": "clinician", "method": "GET", "route": "/api/v1/patients",
               "resource_id": None, "status_code": 200, "outcome": "success"} for n in range(1, 6)]
    patients = [patient_row(f"2025-03-0{n}T09:00:00Z") for n in range(1, 6)]
    folder = table_backup(tmp_path / "backup", {"patients": patients, "audit_events": events})
    target = Settings(data_dir=tmp_path / "restored", database_url=fresh_database_url)
    restore(target, folder)
    assert set(_patients(target.resolved_database_url)) == {row["id"] for row in patients}
    database = Database(target.resolved_database_url)
    try:
        with database.session() as session:
            new_event = AuditEvent(method="GET", route="/api/v1/patients", status_code=200,
                                   outcome="success")
            session.add(new_event)
            session.flush()
            assert new_event.id == 6
            assert session.query(AuditEvent).count() == 6
    finally:
        database.dispose()


def test_a_postgresql_backup_restores_into_sqlite_with_the_same_instants(
        client, patient, settings, tmp_path):
    if settings.database_url is None:
        pytest.skip("the source is SQLite: its backup restores into SQLite only")
    backup(settings, tmp_path / "backup")
    assert "+00:00" in (tmp_path / "backup" / "db" / "patients.jsonl").read_text()
    target = Settings(data_dir=tmp_path / "restored")
    restore(target, tmp_path / "backup")
    assert _patients(target.resolved_database_url) == _patients(settings.resolved_database_url)
