"""``navsvc admin check-storage``: records without their files are found, nothing is changed."""

from __future__ import annotations

import shutil

from api_test_helpers import plan_folder

from api.integrity import StorageReport, check_storage
from api.migrations import schema_is_current, upgrade
from api.models import Image
from navsvc.cli import main


def _stored_path(app, image_id: str):
    with app.state.db.session() as session:
        return app.state.storage.absolute(session.get(Image, image_id).stored_path)


def test_intact_store_passes(app, client, image, plan_id, cli_env, capsys):
    report = check_storage(app.state.db, app.state.storage)
    assert report.ok and (report.images_checked, report.plans_checked) == (1, 1)
    assert report.unreferenced_files == []
    assert main(["admin", "check-storage"]) == 0
    assert "all records have their data" in capsys.readouterr().out


def test_missing_damaged_and_unreferenced_files_are_reported_and_left(app, client, image, plan_id, cli_env,
                                                                      capsys):
    stored = _stored_path(app, image["id"])
    original = stored.read_bytes()
    stray = app.state.storage.images_dir / "ab" / ("ab" + "0" * 62 + ".nii.gz")
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"left by a failed upload")
    stored.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    assert check_storage(app.state.db, app.state.storage).damaged_image_files == [image["id"]]
    assert check_storage(app.state.db, app.state.storage, verify_checksums=False).ok
    stored.unlink()
    report = check_storage(app.state.db, app.state.storage, verify_checksums=False)
    assert not report.ok and report.missing_image_files == [image["id"]], "alone, it counts"
    shutil.rmtree(next(app.state.storage.plans_dir.iterdir()))
    report = check_storage(app.state.db, app.state.storage)
    assert report.missing_image_files == [image["id"]] and report.missing_plan_folders == [plan_id]
    assert report.unreferenced_files == [app.state.storage.relative(stray)]
    assert main(["admin", "check-storage"]) == 1
    out = capsys.readouterr().out
    assert f"MISSING image file of image {image['id']}" in out and "restore them from the last backup" in out
    assert stray.read_bytes() == b"left by a failed upload"


def test_emptied_plan_folder_and_unreadable_plan_json_are_damaged(app, client, image, plan_id, cli_env,
                                                                   capsys):
    from api_test_fakes import plan_dict
    from api_test_helpers import insert_plan

    second = insert_plan(app, image["id"], plan_dict() | {"plan_id": "second-plan"})
    third = insert_plan(app, image["id"], plan_dict() | {"plan_id": "third-plan"})
    for path in plan_folder(app, plan_id).iterdir():
        path.unlink()
    (plan_folder(app, second) / "plan.json").write_bytes(b"\0" * 51)
    (plan_folder(app, third) / "plan.json").write_text("[]")  # JSON, but no plan
    report = check_storage(app.state.db, app.state.storage)
    unreadable = "plan.json is empty or not readable JSON"
    assert report.damaged_plan_folders == {plan_id: "empty", second: unreadable, third: unreadable}
    assert not report.ok and report.missing_plan_folders == []
    assert main(["admin", "check-storage", "--no-checksums"]) == 1
    assert f"DAMAGED result folder of plan {plan_id} (empty)" in capsys.readouterr().out


def test_a_mistyped_data_folder_is_an_error_and_nothing_is_created(tmp_path, monkeypatch, capsys):
    typo = tmp_path / "navsvc-dta"
    monkeypatch.setenv("NAVSVC_DATA_DIR", str(typo))
    monkeypatch.delenv("NAVSVC_DATABASE_URL", raising=False)
    assert main(["admin", "check-storage"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"navsvc: error: no data folder at {typo}; check NAVSVC_DATA_DIR")
    assert not typo.exists()
    typo.mkdir()
    assert main(["admin", "check-storage"]) == 2
    assert "no database at" in capsys.readouterr().err
    assert list(typo.iterdir()) == []


def test_an_unreachable_database_is_one_error_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NAVSVC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NAVSVC_DATABASE_URL", "postgresql+psycopg://u:secret@127.0.0.1:1/x")
    assert main(["admin", "check-storage"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("navsvc: error: cannot use the database postgresql+psycopg://u:***@127.0.0.1:1/x")
    assert "\n" not in err and "secret" not in err


def test_a_database_at_an_older_schema_is_an_error_and_is_left_as_it_is(settings, cli_env, capsys):
    settings.data_dir.mkdir(parents=True)
    url = settings.resolved_database_url
    upgrade(url, "0007")
    assert main(["admin", "check-storage"]) == 2
    err = capsys.readouterr().err
    assert "not at this navsvc version's schema" in err and "navsvc admin migrate" in err
    assert not schema_is_current(url)


def test_the_summary_says_each_finding_on_its_own_line_after_the_counts():
    report = StorageReport(images_checked=3, plans_checked=2, missing_image_files=["i1"],
                           damaged_image_files=["i2"], missing_plan_folders=["p1"],
                           damaged_plan_folders={"p2": "empty"}, unreferenced_files=["images/ab/cd.nii.gz"])
    assert report.lines() == [
        "checked 3 images and 2 plans",
        "MISSING image file of image i1",
        "DAMAGED image file of image i2 (its SHA-256 differs from the record's)",
        "MISSING result folder of plan p1",
        "DAMAGED result folder of plan p2 (empty)",
        "unreferenced file images/ab/cd.nii.gz (no image record names it)",
        "some records have lost data: restore them from the last backup (navsvc admin restore)",
    ]
    stray_only = StorageReport(images_checked=1, unreferenced_files=["images/x.nii.gz"])
    assert stray_only.ok and stray_only.lines()[-1] == "all records have their data"
