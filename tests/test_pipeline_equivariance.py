"""The same head under other voxel orders and world poses gives the same plan in world space.

The exhaustive check of all 48 voxel orders is done on the cheap layer that makes the
pipeline equivariant (the working grid, tests/test_grid.py) and, for the full pipeline,
by ``benchmarks/orientation_equivariance.py``; here a few full plans (one from a DICOM
series through the command), plus repeatability and ground-truth moves.
"""

from __future__ import annotations

import json
import os
import zipfile

import nibabel as nib
import numpy as np
import pytest

from navsvc.deviation import pose_deviation
from navsvc.pipeline import make_plan
from navsvc.testing import heads
from navsvc.testing.cases import accuracy_cases

REPORTED_POINTS = (("target", "native_ras_mm"), ("target", "cortex_ras_mm"), ("entry", "scalp_ras_mm"),
                   ("coil", "centre_ras_mm"))
LANDMARKS = ("nasion", "inion", "lpa", "rpa", "cz", "fpz", "f3", "beam_f3", "m1_hand_knob")


def _points(plan: dict) -> dict[str, np.ndarray]:
    pts = {f"{a}.{b}": np.asarray(plan[a][b], float) for a, b in REPORTED_POINTS}
    pts.update({f"landmark.{n}": np.asarray(plan["landmarks"]["points"][n]["ras_mm"], float) for n in LANDMARKS})
    return pts


def _plan_of(image: nib.Nifti1Image, folder) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "t1.nii.gz"
    nib.save(image, str(path))
    return make_plan(path, folder / "out")


def _coil_turn_deg(plan: dict, expected_pose: np.ndarray) -> tuple[float, float]:
    """(tilt, twist) of the plan's coil from ``expected_pose``, degrees: how far its normal
    and its handle turned."""
    deviation = pose_deviation(expected_pose, np.asarray(plan["coil"]["matrix"], float), plan["target"]["cortex_ras_mm"])
    return deviation.tilt_deg, abs(deviation.twist_deg)


def _carried_pose(pose: np.ndarray, rigid_move) -> np.ndarray:
    """A coil pose carried by a rigid point map: its centre moved, its axes turned."""
    points = rigid_move(np.vstack([pose[:3, 3], pose[:3, 3] + pose[:3, :3].T]))
    carried = np.eye(4)
    carried[:3, 3] = points[0]
    carried[:3, :3] = (points[1:] - points[0]).T
    return carried


def _assert_same_world_plan(plan: dict, colin_plan: dict) -> None:
    base, moved = _points(colin_plan), _points(plan)
    worst = max(np.linalg.norm(base[k] - moved[k]) for k in base)
    assert worst <= 0.5, {k: round(float(np.linalg.norm(base[k] - moved[k])), 2) for k in base}
    assert max(_coil_turn_deg(plan, np.asarray(colin_plan["coil"]["matrix"], float))) <= 0.5
    assert plan["target"]["hemisphere"] == "left" and plan["target"]["cortex_mni_mm"][0] < 0
    # where the image's field of view cuts the head is a world-space fact too
    assert _scalp_flags(plan) == _scalp_flags(colin_plan)
    assert plan["input"]["field_of_view_cuts_scalp"] == colin_plan["input"]["field_of_view_cuts_scalp"]


@pytest.mark.parametrize("perm, flips", [((0, 2, 1), (True, True, False)),   # LIA (FreeSurfer)
                                         ((1, 2, 0), (True, False, True))])   # PSL-like
def test_voxel_order_does_not_change_any_world_point(perm, flips, colin_plan, tmp_path):
    case = heads.reorient(heads.load_colin27(), perm, flips)
    _assert_same_world_plan(_plan_of(case.image, tmp_path), colin_plan)


def test_a_dicom_series_zip_of_the_head_gives_the_same_plan_from_the_command(colin_plan, colin_head_path,
                                                                             tmp_path):
    """The whole command on a sagittal DICOM series (slices right to left, rows foot-wards:
    the DICOM reader's LPS geometry and another voxel order) of the same voxels."""
    from corpus.dicom_series import write_dicom_series
    from navsvc.cli import main

    slices = write_dicom_series(nib.load(colin_head_path), tmp_path / "series", orientation="sagittal")
    archive = tmp_path / "t1_dicom.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in slices:
            handle.write(path, f"DICOM/{path.name}")
    assert main(["plan", str(archive), "--out", str(tmp_path / "out")]) == 0
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert plan["input"]["format"] == "dicom" and plan["input"]["orientation"] == ["P", "I", "L"]
    _assert_same_world_plan(plan, colin_plan)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["plan.json", "report.html", "transforms"]


def _scalp_flags(plan: dict) -> dict[str, bool]:
    return {name: point["scalp_in_image"] for name, point in plan["landmarks"]["points"].items()}


def test_same_input_twice_gives_the_same_points(colin_plan, colin_head_path, tmp_path):
    # into a folder named as clinics name them, with characters ANTs' command line reads as
    # syntax and a Latin-1 byte from an old file share (navsvc/ants_folder.py): the folder's
    # name changes nothing either
    again = make_plan(colin_head_path, tmp_path / os.fsdecode(b"M\xfcller, Jane [2]") / "plan")
    base, repeat = _points(colin_plan), _points(again)
    assert max(np.linalg.norm(base[k] - repeat[k]) for k in base) <= 0.1


# Affine moves and a 30 % bias field (corrected by N4 before the brain stage) are followed
# to within the registration's repeatability. A synthetic 5 mm nonlinear warp is only
# partly recovered by any template registration: the part of it that slides along the
# cortex is not (benchmarks/warp_amplitude_sweep.py; full-resolution ANTs
# antsRegistrationSyNQuick[s] misses it as much). This case (drawn alone, another warp)
# is held to 6 mm.
#
# Under the rigid moves (the head turned up to 30 degrees about each scanner axis) the
# coil turns with the head: its normal and handle are set from the patient's scalp and
# midsagittal plane, not the scanner's axes (measured: tilt and twist <= 0.35 degrees;
# a head turned 30 degrees about its vertical axis 0.3, pitched 30 degrees 1.3 and 1.0).
@pytest.mark.parametrize("index, tolerance_mm", [(0, 2.0), (3, 2.0), (5, 6.0), (9, 1.5)])  # rigid, oblique, warp, bias
def test_known_moves_are_followed(index, tolerance_mm, colin_plan, tmp_path):
    name, make = accuracy_cases()[index]
    case = make(heads.load_colin27())
    plan = _plan_of(case.image, tmp_path)
    expected = case.original_to_new(colin_plan["target"]["native_ras_mm"])[0]
    assert np.linalg.norm(np.asarray(plan["target"]["native_ras_mm"]) - expected) <= tolerance_mm, name
    assert plan["target"]["in_grey_matter"] and plan["target"]["hemisphere"] == "left"
    if "rigid" in name and "warp" not in name:
        carried = _carried_pose(np.asarray(colin_plan["coil"]["matrix"], float), case.original_to_new)
        tilt_deg, twist_deg = _coil_turn_deg(plan, carried)
        assert tilt_deg <= 2.0 and twist_deg <= 2.0, (name, tilt_deg, twist_deg)


def test_a_left_right_mirrored_head_gets_a_target_on_its_own_left(colin_plan, tmp_path):
    # Mirror the head's anatomy (not the header): the patient's left is still -x. A pipeline
    # that trusted voxel order or flipped a sign would put the target on the other side.
    case = heads.mirror_left_right(heads.load_colin27())
    plan = _plan_of(case.image, tmp_path)
    assert plan["target"]["cortex_ras_mm"][0] < 0 and plan["target"]["hemisphere"] == "left"
    mirrored = np.asarray(colin_plan["target"]["cortex_ras_mm"]) * [-1, 1, 1]
    # the mirrored anatomy's left DLPFC is the original's right one: far from the mirror image
    assert np.linalg.norm(np.asarray(plan["target"]["cortex_ras_mm"]) - mirrored) > 30.0


# A patient position mis-entered at the scanner turns the head in the header's world: prone
# entered as supine turns it 180 degrees about the body's long axis, feet-first as
# head-first 180 degrees about its front-back axis. Such heads, and one pitched 55 degrees,
# used to be refused or, worse, planned 31 mm off (the rigid head stage stopped in a wrong
# optimum); the search over starting orientations (navsvc/head_start_search.py) finds them:
# the plan follows the head, as the navigator shows it in the same world. The feet-first head
# is also moved 522 mm, as a table position can place it (unturned, that move alone left the
# points within 0.26 mm of where it took them, 2026-12-06).
@pytest.mark.parametrize("rotation_deg, translation_mm",
                         [((0, 0, 180), (0, 0, 0)), ((0, 180, 0), (-300, 150, 400)), ((55, 0, 0), (0, 0, 0))],
                         ids=["prone as supine", "feet-first as head-first, far from the origin",
                              "pitched 55 degrees"])
def test_a_head_turned_far_from_upright_by_its_header_is_followed(rotation_deg, translation_mm, colin_plan,
                                                                  tmp_path):
    case = heads.rigid(heads.load_colin27(), rotation_deg, translation_mm)
    plan = _plan_of(case.image, tmp_path)
    base, moved = _points(colin_plan), _points(plan)
    gaps = {k: float(np.linalg.norm(case.original_to_new(base[k])[0] - moved[k])) for k in base}
    # the landmarks within 3 mm: the hand knob, mapped from MNI like the target, moved 2.1 mm
    # under the half turn about the front-back axis (and up to 2.0 mm with a neck added below
    # the same, unturned head)
    assert max(v for k, v in gaps.items() if not k.startswith("landmark.")) <= 2.0, gaps
    assert max(gaps.values()) <= 3.0, gaps
    assert max(_coil_turn_deg(plan, _carried_pose(np.asarray(colin_plan["coil"]["matrix"], float),
                                                  case.original_to_new))) <= 2.0
    assert plan["target"]["hemisphere"] == "left" and plan["target"]["cortex_mni_mm"][0] < 0
    # and the plan says that the header's axes are not the patient's
    turn = plan["registration"]["head_orientation"]
    assert abs(turn["turn_from_upright_deg"] - max(abs(a) for a in rotation_deg)) < 5.0, turn
    assert turn["caution"].startswith(f"the head lies turned {turn['turn_from_upright_deg']:.0f} degrees")
