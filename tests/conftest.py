"""Shared fixtures: real heads and plans made once per test session."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import pytest

from navsvc import config, templates

COLIN_HEAD = templates.COLIN_HEAD


@pytest.fixture(scope="session")
def ended_pid():
    """A function returning the id of a process that has ended (as one killed would leave)."""
    def ended() -> int:
        child = subprocess.Popen([sys.executable, "-c", "pass"])
        child.wait()
        return child.pid
    return ended


@pytest.fixture(scope="session")
def colin_head_path() -> Path:
    """Colin27 full-head T1 (shipped copy)."""
    return templates.require(COLIN_HEAD)


@pytest.fixture(scope="session")
def colin_plan(tmp_path_factory, colin_head_path) -> dict:
    """The default plan of Colin27 (run once per session: ~20 s)."""
    from navsvc.pipeline import make_plan

    out = tmp_path_factory.mktemp("colin_plan")
    system_tmp = tmp_path_factory.mktemp("colin_plan_system_tmp")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(system_tmp))
        make_plan(colin_head_path, out)
    return json.loads((out / "plan.json").read_text()) | {"_out_dir": str(out), "_system_tmp": str(system_tmp)}


@pytest.fixture
def system_tmp(tmp_path, monkeypatch) -> Path:
    """An empty folder standing in for the system temporary folder (``tempfile.gettempdir()``)."""
    folder = tmp_path / "system_tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    """An empty folder as the engine's cache (``NAVSVC_CACHE_DIR``), not yet created."""
    monkeypatch.setenv("NAVSVC_CACHE_DIR", str(tmp_path / "cache"))
    config.engine_settings.cache_clear()
    yield tmp_path / "cache"
    config.engine_settings.cache_clear()


class _CountingDecompressor:
    """A zlib decompressor that adds the bytes it inflates to a shared count."""

    def __init__(self, inner, inflated: list[int]):
        self._inner, self._inflated = inner, inflated

    def decompress(self, *args, **kwargs) -> bytes:
        out = self._inner.decompress(*args, **kwargs)
        self._inflated[0] += len(out)
        return out

    def flush(self, *args) -> bytes:
        out = self._inner.flush(*args)
        self._inflated[0] += len(out)
        return out

    def __getattr__(self, name):  # eof, unused_data, unconsumed_tail
        return getattr(self._inner, name)


@pytest.fixture
def inflated_bytes(monkeypatch) -> list[int]:
    """A one-item list counting every byte zlib inflates (gzip, zip and the DICOM readers
    all decompress through ``zlib.decompressobj`` or ``zlib.decompress``) while the test runs."""
    inflated = [0]
    make, whole = zlib.decompressobj, zlib.decompress

    def counted(*args, **kwargs) -> bytes:
        out = whole(*args, **kwargs)
        inflated[0] += len(out)
        return out

    monkeypatch.setattr(zlib, "decompressobj", lambda *a, **k: _CountingDecompressor(make(*a, **k), inflated))
    monkeypatch.setattr(zlib, "decompress", counted)
    return inflated
