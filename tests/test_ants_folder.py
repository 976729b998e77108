"""ANTs writes into folders whose paths hold its command line's syntax characters."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

import numpy as np
import pytest

from navsvc.ants_folder import LINK_FOLDER_PREFIX, ants_can_take, ants_safe_folder
from navsvc.antspy import ants
from navsvc.errors import InputError
from navsvc.work_names import work_name_prefix

#: folder names a clinic could give an output folder ("Surname, Name", a bracketed number, a
#: Latin-1 name from an old file share, which Python keeps as a surrogate)
AWKWARD_NAMES = ("Doe, Jane", "plan [2]", "a]b", os.fsdecode(b"M\xfcller"))


def _blob(centre_voxels) -> ants.ANTsImage:
    grid = np.indices((24, 24, 24)).astype(np.float32)
    squared = sum((axis - c) ** 2 for axis, c in zip(grid, centre_voxels))
    return ants.from_numpy(np.exp(-squared / 40.0).astype(np.float32))


def _register(outprefix: str) -> dict:
    return ants.registration(fixed=_blob((12, 12, 12)), moving=_blob((13, 11, 12)), type_of_transform="Translation",
                             outprefix=outprefix, aff_iterations=(10,), aff_shrink_factors=(1,),
                             aff_smoothing_sigmas=(0,))


@pytest.mark.parametrize("name", AWKWARD_NAMES)
def test_ants_fails_on_such_a_folder_given_as_it_is(tmp_path, name):
    # the reason for the link: without it the registration stops (ANTs' "error code 1", or
    # pybind11's TypeError for a path that is not UTF-8)
    folder = tmp_path / name
    folder.mkdir()
    assert not ants_can_take(folder)
    with pytest.raises((RuntimeError, TypeError)):
        _register(f"{folder}{os.sep}")


@pytest.mark.parametrize("name", AWKWARD_NAMES)
def test_ants_writes_into_such_a_folder_through_the_link(tmp_path, name):
    folder = tmp_path / name
    folder.mkdir()
    with ants_safe_folder(folder) as ants_dir:
        assert ants_can_take(ants_dir) and ants_dir != folder
        result = _register(f"{ants_dir}{os.sep}")
        shift_mm = ants.read_transform(result["fwdtransforms"][0]).apply_to_point((0.0, 0.0, 0.0))
    np.testing.assert_allclose(shift_mm, (1.0, -1.0, 0.0), atol=0.2)
    assert not ants_dir.parent.exists()  # the link and its folder went, the files stayed
    assert [(folder / Path(path).relative_to(ants_dir)).is_file() for path in result["fwdtransforms"]] == [True]


def test_the_registration_refuses_a_work_folder_ants_cannot_take(tmp_path):
    from navsvc.errors import PipelineError
    from navsvc.registration import register_brain, registration_to_mni

    folder = tmp_path / "Doe, Jane"
    folder.mkdir()
    with pytest.raises(PipelineError, match="ants_safe_folder"):
        with registration_to_mni(None, folder):
            pass
    with pytest.raises(PipelineError, match="ants_safe_folder"):
        register_brain(None, None, folder)


def test_a_plain_folder_is_given_as_it_is(tmp_path):
    with ants_safe_folder(tmp_path) as ants_dir:
        assert ants_dir == tmp_path
    assert tmp_path.is_dir()


def test_leaving_early_removes_the_link_and_keeps_the_folder(tmp_path):
    folder = tmp_path / "Doe, Jane"
    folder.mkdir()
    (folder / "kept.txt").write_text("x")
    with pytest.raises(KeyError), ants_safe_folder(folder) as ants_dir:
        raise KeyError("stop")
    assert not os.path.lexists(ants_dir) and (folder / "kept.txt").read_text() == "x"


def test_links_of_ended_processes_are_removed_and_live_ones_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    folder = tmp_path / "Doe, Jane"
    folder.mkdir()
    (folder / "kept.txt").write_text("x")
    ended = tmp_path / (work_name_prefix(LINK_FOLDER_PREFIX, socket.gethostname(), 2 ** 22 + 7) + "abc")
    live = tmp_path / (work_name_prefix(LINK_FOLDER_PREFIX, socket.gethostname(), os.getppid()) + "abc")
    for link_folder in (ended, live):
        link_folder.mkdir()
        (link_folder / "work").symlink_to(folder)
    with ants_safe_folder(folder):
        pass
    assert not ended.exists() and live.is_dir() and (folder / "kept.txt").exists()


def test_a_temporary_folder_ants_cannot_take_either_is_said_in_one_line(tmp_path, monkeypatch):
    awkward_temporary = tmp_path / "tmp, shared"
    awkward_temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(awkward_temporary))
    folder = tmp_path / "Doe, Jane"
    folder.mkdir()
    with pytest.raises(InputError, match=r"choose an output folder without them, or set TMPDIR"):
        with ants_safe_folder(folder):
            pass
