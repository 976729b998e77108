"""An uploaded image is on the disk, bytes and name, before its record can be committed:
after a power cut, a committed image record never points at a missing or empty file."""

from __future__ import annotations

import api.storage
from api.storage import Storage


def test_a_stored_image_is_synced_before_and_its_folder_after_the_rename(tmp_path, monkeypatch):
    storage = Storage(tmp_path / "data")
    storage.ensure()
    source = storage.temp_path(".nii.gz")
    source.write_bytes(b"de-identified image")
    synced = []
    monkeypatch.setattr(api.storage, "fsync_path",
                        lambda path: synced.append((path, path.exists(), source.exists())))
    stored = storage.store_image(source, "ab" + "0" * 62, ".nii.gz")
    target = storage.root / stored
    assert target.read_bytes() == b"de-identified image"
    assert synced == [(source, True, True),  # the bytes, under the spool name, before the rename
                      (target.parent, True, False),  # the new name, after it
                      (storage.images_dir, True, False)]  # the entry of the new "ab" folder


def test_an_image_stored_before_is_kept_and_the_copy_dropped(tmp_path, monkeypatch):
    storage = Storage(tmp_path / "data")
    storage.ensure()
    first, second = storage.temp_path(".nii"), storage.temp_path(".nii")
    first.write_bytes(b"image")
    second.write_bytes(b"image")
    stored = storage.store_image(first, "cd" + "1" * 62, ".nii")
    synced = []
    monkeypatch.setattr(api.storage, "fsync_path", synced.append)
    assert storage.store_image(second, "cd" + "1" * 62, ".nii") == stored
    assert not second.exists() and synced == []
