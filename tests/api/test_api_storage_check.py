"""``navsvc admin check-storage``: records without their files are found, nothing is changed."""

from __future__ import annotations

import shutil

from api.integrity import check_storage
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
    shutil.rmtree(next(app.state.storage.plans_dir.iterdir()))
    stored.unlink()
    report = check_storage(app.state.db, app.state.storage)
    assert report.missing_image_files == [image["id"]] and report.missing_plan_folders == [plan_id]
    assert report.unreferenced_files == [app.state.storage.relative(stray)]
    assert main(["admin", "check-storage"]) == 1
    out = capsys.readouterr().out
    assert f"MISSING image file of image {image['id']}" in out and "restore them from the last backup" in out
    assert stray.read_bytes() == b"left by a failed upload"
