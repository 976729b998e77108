"""Targeting options are checked where they are made, for the command line and the API alike."""

from __future__ import annotations

import itertools
import math

import nibabel as nib
import numpy as np
import pytest

from navsvc import templates
from navsvc.cli import main
from navsvc.coords import voxel_to_world
from navsvc.errors import InputError
from navsvc.options import (COIL_DISTANCE_RANGE_MM, HANDLE_ANGLE_RANGE_DEG, MNI_BOX_MM, PlanOptions,
                            require_native_target_in_image)
from navsvc.target.strategies import STRATEGIES


@pytest.mark.parametrize("options, message", [
    ({"coil_distance_mm": -0.1}, "coil distance must be from 0 to 30 mm"),
    ({"coil_distance_mm": 30.5}, "coil distance"),
    ({"coil_distance_mm": math.nan}, "coil distance"),
    ({"handle_angle_deg": 181.0}, "handle angle must be from -180 to 180 degrees"),
    ({"handle_angle_deg": math.inf}, "handle angle"),
    ({"mni_mm": (-38.0, 44.0, math.nan)}, "MNI target must be three finite numbers"),
    ({"native_ras_mm": (math.inf, 0.0, 0.0)}, "native target must be three finite numbers"),
    ({"mni_mm": (-38.0, 44.0, 200.0)}, "outside the template's head"),
    ({"mni_mm": (-99.0, 0.0, 0.0)}, "outside the template's head"),
])
def test_bad_options_are_refused_with_what_is_wrong(options, message):
    with pytest.raises(InputError, match=message):
        PlanOptions(**options)


def test_the_limits_themselves_and_every_named_target_are_accepted():
    for distance in COIL_DISTANCE_RANGE_MM:
        PlanOptions(coil_distance_mm=distance)
    for angle in HANDLE_ANGLE_RANGE_DEG:
        PlanOptions(handle_angle_deg=angle)
    PlanOptions(mni_mm=tuple(lo for lo, _ in MNI_BOX_MM))
    PlanOptions(native_ras_mm=(500.0, -500.0, 0.0))  # checked against the image, not here
    for strategy in STRATEGIES.values():
        PlanOptions(mni_mm=tuple(strategy.mni_mm))


def test_the_mni_box_is_the_extent_of_the_template_grid_and_both_its_ends_are_inside():
    template = nib.load(templates.ICBM_T1)
    corners_ijk = np.array(list(itertools.product(*[(0, n - 1) for n in template.shape])))
    corners_mm = voxel_to_world(template.affine, corners_ijk)
    assert MNI_BOX_MM == tuple(zip(corners_mm.min(axis=0).tolist(), corners_mm.max(axis=0).tolist()))
    PlanOptions(mni_mm=tuple(hi for _, hi in MNI_BOX_MM))
    with pytest.raises(InputError) as err:
        PlanOptions(mni_mm=(-38.0, 44.0, 116.5))
    assert str(err.value) == ("the MNI target [-38.0, 44.0, 116.5] lies outside the template's head (x (-98.0, 98.0), "
                              "y (-134.0, 98.0), z (-72.0, 116.0) mm): check the coordinate and its sign convention")
    with pytest.raises(InputError) as err:
        PlanOptions(native_ras_mm=(1.0, float("nan"), 2.0))
    assert str(err.value) == "the native target must be three finite numbers (x y z, mm); got [1.0, nan, 2.0]"


def test_the_recorded_strategy_is_none_when_a_coordinate_chose_the_target():
    # plan.json's parameters said "fox2012" for --mni and --native plans
    assert PlanOptions().to_dict()["strategy"] == "fox2012"
    assert PlanOptions(mni_mm=(-40.0, 30.0, 40.0)).to_dict()["strategy"] is None
    assert PlanOptions(native_ras_mm=(1.0, 2.0, 3.0)).to_dict() == {
        "strategy": None, "mni_mm": None, "native_ras_mm": [1.0, 2.0, 3.0],
        "coil_distance_mm": 4.0, "handle_angle_deg": 45.0}


@pytest.mark.parametrize("command", ["plan", "demo"])
def test_an_output_folder_that_cannot_be_made_is_one_error_line(tmp_path, capsys, command):
    # a file named like the folder gave a FileExistsError traceback and exit code 1
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    (tmp_path / "t1.nii.gz").write_bytes(b"checked after the output folder")
    args = [command] + ([str(tmp_path / "t1.nii.gz")] if command == "plan" else []) + ["--out", str(taken)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"navsvc: error: cannot use {taken} as the output folder") and "\n" not in err
    assert taken.read_text() == "not a folder"


def test_a_missing_t1_leaves_no_output_folder(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["plan", str(tmp_path / "nowhere.nii.gz"), "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err and not out.exists()


def test_a_series_named_for_a_nifti_input_is_refused(tmp_path, capsys):
    # it was silently ignored
    from navsvc.examples import write_example_head

    head = write_example_head(tmp_path / "head.nii.gz")
    assert main(["plan", str(head), "--out", str(tmp_path / "out"), "--series", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("is a NIfTI image: leave the series out, or give the DICOM folder or .zip") and "\n" not in err


def test_a_native_target_on_the_field_of_views_face_is_inside_and_half_a_millimetre_beyond_is_refused():
    # 20 voxels of 2 mm stored right to left: x runs from 21 mm (i = -0.5) to -19 mm (i = 19.5)
    shape, affine = (20, 20, 20), np.array([[-2.0, 0, 0, 20], [0, 2, 0, -20], [0, 0, 2, -20], [0, 0, 0, 1]])
    for x_mm in (21.0, -19.0, 0.0):
        require_native_target_in_image(PlanOptions(native_ras_mm=(x_mm, 0.0, 0.0)), shape, affine)
    for x_mm in (21.5, -19.5):
        with pytest.raises(InputError) as err:
            require_native_target_in_image(PlanOptions(native_ras_mm=(x_mm, 0.0, 0.0)), shape, affine)
        assert str(err.value) == (
            f"the native target [{x_mm}, 0.0, 0.0] mm lies outside the image: give a point of this patient's T1 "
            "in its scanner (NIfTI RAS) coordinates, as a viewer shows them")
    require_native_target_in_image(PlanOptions(mni_mm=(-38.0, 44.0, 26.0)), shape, affine)  # nothing to check
