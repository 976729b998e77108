"""Backup and restore flush what they write to the disk (``os.fsync``) in an order that
survives a power loss: a backup's files and folders before its manifest is written, the
manifest and then its folder last; restore's staged files before they are renamed into
place, and the data folder after. Without that, a backup with a manifest could hold
empty or truncated files after a power loss."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from api_test_fakes import plan_dict
from api_test_helpers import insert_plan

from api.backup import backup
from api.backup_manifest import MANIFEST, verify
from api.config import Settings
from api.restore import STAGING, restore


@pytest.fixture
def events(monkeypatch) -> list[tuple[str, str]]:
    """What ``os.fsync`` and ``os.replace`` did, in order: ``("fsync", path)`` and
    ``("replace", target)``, paths resolved."""
    done: list[tuple[str, str]] = []
    fsync, replace = os.fsync, os.replace

    def recorded_fsync(fd: int) -> None:
        done.append(("fsync", str(Path(os.readlink(f"/proc/self/fd/{fd}")).resolve())))
        fsync(fd)

    def recorded_replace(source, target, *args, **kwargs) -> None:
        replace(source, target, *args, **kwargs)
        done.append(("replace", str(Path(target).resolve())))

    monkeypatch.setattr(os, "fsync", recorded_fsync)
    monkeypatch.setattr(os, "replace", recorded_replace)
    return done


def _backup_with_a_plan(app, image, settings, folder: Path) -> None:
    insert_plan(app, image["id"], plan_dict())
    backup(settings, folder)


def test_backup_syncs_every_file_and_folder_before_the_manifest_and_the_manifest_last(
        app, client, image, settings, tmp_path, monkeypatch, events):
    out = (tmp_path / "backup").resolve()
    manifest = out / MANIFEST
    seen_with_manifest: list[bool] = []  # at each fsync: was the manifest there?
    sync = os.fsync  # the recording one

    def sync_noting_the_manifest(fd: int) -> None:
        seen_with_manifest.append(manifest.exists())
        sync(fd)

    monkeypatch.setattr(os, "fsync", sync_noting_the_manifest)
    _backup_with_a_plan(app, image, settings, out)
    synced = [path for kind, path in events if kind == "fsync"]
    assert str(manifest) in synced, "the manifest is not synced"
    at = synced.index(str(manifest))
    assert not any(seen_with_manifest[:at]), "the manifest was written before the files were synced"
    written = {str(p) for p in out.rglob("*") if p != manifest} | {str(out)}
    assert written <= set(synced[:at]), f"not synced: {sorted(written - set(synced[:at]))}"
    assert str(out) in synced[at + 1:], "the manifest's folder entry is not synced after it"
    assert verify(out)["files"]


def test_restore_syncs_the_staged_files_before_moving_them_and_the_data_folder_after(
        app, client, image, settings, tmp_path, fresh_database_url, events):
    _backup_with_a_plan(app, image, settings, tmp_path / "backup")
    target = Settings(data_dir=tmp_path / "srv" / "data", database_url=fresh_database_url)
    events.clear()
    manifest = restore(target, tmp_path / "backup")
    data_dir, staging = target.data_dir.resolve(), target.data_dir.resolve() / STAGING
    moves = [i for i, (kind, path) in enumerate(events) if kind == "replace"
             and Path(path).parent == data_dir]
    assert moves, "the staged folders were not moved into place"
    synced_before = {path for kind, path in events[:moves[0]] if kind == "fsync"}
    staged = {str(staging / name) for name in manifest["files"]}
    assert staged <= synced_before, f"not synced before the move: {sorted(staged - synced_before)}"
    assert ("fsync", str(data_dir)) in events[moves[-1] + 1:], "the renames are not synced"
    if fresh_database_url is None:
        assert ("fsync", str(data_dir / "navsvc.sqlite3")) in events[:moves[0]]
