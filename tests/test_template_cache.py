"""The cache entry of the 2 mm fixed images follows what they are made from."""

from __future__ import annotations

import os
import shutil

from navsvc import registration_grid, templates


def _copy_colin(tmp_path, monkeypatch, name="colin.nii.gz"):
    copy = tmp_path / name
    shutil.copyfile(templates.COLIN_HEAD, copy)
    monkeypatch.setattr(templates, "COLIN_HEAD", copy)
    return copy


def test_the_key_ignores_where_and_when_the_templates_were_written(tmp_path, monkeypatch):
    shipped = registration_grid.fixed_cache_key()
    copy = _copy_colin(tmp_path, monkeypatch)
    os.utime(copy, ns=(1_000_000_000, 1_000_000_000))
    assert registration_grid.fixed_cache_key() == shipped


def test_the_key_changes_with_the_template_bytes(tmp_path, monkeypatch):
    shipped = registration_grid.fixed_cache_key()
    copy = _copy_colin(tmp_path, monkeypatch)
    data = bytearray(copy.read_bytes())
    data[-1] ^= 1
    copy.write_bytes(bytes(data))
    assert registration_grid.fixed_cache_key() != shipped


def _normalise_differently(image, mask=None):
    return image / 2


def test_the_key_changes_with_the_preparation_code(monkeypatch):
    shipped = registration_grid.fixed_cache_key()
    monkeypatch.setattr(registration_grid, "normalise", _normalise_differently)
    assert registration_grid.fixed_cache_key() != shipped
