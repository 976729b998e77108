"""Template-derived data kept on disk between processes (navsvc.derived_cache)."""

from __future__ import annotations

import numpy as np

from navsvc import config, derived_cache, templates
from navsvc.anatomy import template_head
from navsvc.derived_cache import cached_arrays, entry_key


def _counted(calls: list):
    def compute():
        calls.append(1)
        return {"values": np.arange(6, dtype=np.float32).reshape(2, 3), "affine": np.eye(4)}
    return compute


def test_an_entry_is_computed_once_then_read(cache_dir):
    calls: list = []
    first = cached_arrays("test-entry", _counted(calls))
    second = cached_arrays("test-entry", _counted(calls))
    assert len(calls) == 1
    assert (cache_dir / "test-entry" / "arrays.npz").is_file()
    for name in ("values", "affine"):
        assert np.array_equal(first[name], second[name]) and first[name].dtype == second[name].dtype


def test_a_cache_that_cannot_be_written_only_costs_time(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("NAVSVC_CACHE_DIR", str(blocker))
    config.engine_settings.cache_clear()
    try:
        calls: list = []
        for _ in range(2):
            assert cached_arrays("test-entry", _counted(calls))["values"].shape == (2, 3)
        assert len(calls) == 2
    finally:
        config.engine_settings.cache_clear()


def _one():
    return 1


def _two():
    return 2


def test_the_key_follows_code_settings_and_template_bytes(tmp_path, monkeypatch):
    base = entry_key("x", (templates.COLIN_HEAD,), (_one,), "a")
    assert base.startswith("x-") and entry_key("x", (templates.COLIN_HEAD,), (_one,), "a") == base
    assert entry_key("x", (templates.COLIN_HEAD,), (_two,), "a") != base
    assert entry_key("x", (templates.COLIN_HEAD,), (_one,), "b") != base
    changed = tmp_path / "colin.nii.gz"
    data = bytearray(templates.COLIN_HEAD.read_bytes())
    data[-1] ^= 1
    changed.write_bytes(bytes(data))
    assert entry_key("x", (changed,), (_one,), "a") != base


def test_the_colin27_head_distance_from_the_cache_is_the_one_computed(cache_dir):
    computed = template_head._computed_head_distance_map()
    template_head.colin_head_distance_map.cache_clear()
    try:
        for _ in range(2):  # the first call fills the cache, the second reads it
            distance_mm, affine = template_head.colin_head_distance_map()
            template_head.colin_head_distance_map.cache_clear()
            assert np.array_equal(distance_mm, computed["distance_mm"]) and distance_mm.dtype == np.float32
            assert np.array_equal(affine, computed["affine"])
        assert len([p for p in cache_dir.iterdir() if p.name.startswith("colin27-head-distance-")]) == 1
    finally:
        template_head.colin_head_distance_map.cache_clear()
    assert derived_cache.cache_folder("k") == cache_dir / "k"
