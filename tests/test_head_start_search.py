"""The head stage finds a head at any orientation in its world (navsvc/head_start_search.py)."""

from __future__ import annotations

import os

import nibabel as nib
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from navsvc.antspy import ants
from navsvc.coords import lps_to_ras, ras_to_lps
from navsvc.grid import resample_to_working_grid
from navsvc.io import load_t1
from navsvc.head_start_search import (
    MAX_SEARCHED_STARTS, SAME_OPTIMUM_TURN_DEG, SEARCH_SPACING_MM, START_GRID_STEP_DEG, _coarse, better_starts,
    mutual_information, start_rotations,
)
from navsvc.registration import HEAD_RIGID, _head_rigid, _head_stage, _seed_ants
from navsvc.registration_checks import head_turn_caution
from navsvc.registration_grid import load_fixed_images, registration_grid_image
from navsvc.registration_maps import HEAD_STARTS
from navsvc.testing import heads

#: Colin27 points (RAS, mm) the head stage must carry onto the turned head
PROBE_RAS_MM = np.array([[-40.0, 30.0, 40.0], [40.0, -40.0, 20.0], [0.0, 0.0, 60.0], [0.0, 60.0, 0.0]])


def _moving(image, folder) -> ants.ANTsImage:
    """``image`` as the pipeline's registration sees it (loaded from a file, 2 mm grid)."""
    nib.save(image, str(folder / "t1.nii.gz"))
    return registration_grid_image(resample_to_working_grid(load_t1(folder / "t1.nii.gz")).downsampled(2))


def _carried_ras_mm(transform_file: str, points_ras_mm: np.ndarray) -> np.ndarray:
    transform = ants.read_transform(transform_file)
    return lps_to_ras(np.array([transform.apply_to_point(tuple(p)) for p in ras_to_lps(points_ras_mm)]))


def test_the_starts_are_rotations_covering_every_orientation_within_a_step():
    starts = np.asarray(start_rotations())
    assert np.allclose(starts @ starts.transpose(0, 2, 1), np.eye(3), atol=1e-9)
    assert np.allclose(np.linalg.det(starts), 1.0)
    quaternions = Rotation.from_matrix(starts).as_quat()
    probes = Rotation.random(5000, random_state=3).as_quat()
    nearest_deg = 2 * np.degrees(np.arccos(np.clip(np.max(np.abs(probes @ quaternions.T), axis=1), 0, 1)))
    # within the rigid stage's reach (it recovers 45-50 degree turns about any axis)
    assert nearest_deg.max() < 0.8 * START_GRID_STEP_DEG
    turns_deg = Rotation.from_matrix(starts).magnitude() * 180 / np.pi
    assert turns_deg.max() < 179.5  # no exact half turn: ITK warns on their SVD


def test_the_coarse_grid_keeps_the_head_where_it_is():
    # block means place each 8 mm voxel at the centre of its block: the head's centre of
    # mass stays put in the world (a misplaced origin would shift it by 3 mm)
    colin = load_fixed_images()[0]
    coarse = _coarse(colin)
    assert coarse.spacing == (SEARCH_SPACING_MM,) * 3
    assert np.allclose(coarse.direction, colin.direction)
    gap_mm = np.subtract(ants.get_center_of_mass(coarse), ants.get_center_of_mass(colin))
    assert np.linalg.norm(gap_mm) < 1.0, gap_mm


def test_mutual_information_is_highest_for_the_aligned_image():
    colin = load_fixed_images()[0]
    identity = ants.create_ants_transform(transform_type="AffineTransform", dimension=3)
    shifted = ants.create_ants_transform(transform_type="AffineTransform", dimension=3, translation=(12.0, 0.0, 0.0))
    aligned = mutual_information(colin, colin, identity)
    values = colin.numpy()
    shuffled = colin.new_image_like(np.random.default_rng(0).permutation(values.ravel()).reshape(values.shape))
    assert aligned > mutual_information(colin, colin, shifted) > mutual_information(colin, shuffled, identity)
    assert mutual_information(colin, shuffled, identity) < 0.01 < aligned


def test_an_upright_head_is_not_searched_further(tmp_path):
    _seed_ants()
    colin = load_fixed_images()[0]
    moving = _moving(heads.rigid(heads.load_colin27(), (20.0, -15.0, 10.0), (5.0, -8.0, 3.0)).image, tmp_path)
    (tmp_path / "rigid").mkdir()
    rigid = ants.registration(fixed=colin, moving=moving, type_of_transform="Rigid", outprefix=f"{tmp_path}/rigid/",
                              **HEAD_RIGID)
    assert better_starts(colin, moving, rigid["fwdtransforms"][0], tmp_path) == []
    assert not list(tmp_path.glob("head_start_*"))


def test_a_turned_head_is_searched_from_several_distinct_starts(tmp_path):
    # The best start alone led a warped, turned, unevenly lit, noisy Colin27 copy to a wrong
    # optimum 151 degrees round while the second best led to the head (module note): the
    # next best starts far from the rigid result and from each other run too.
    from navsvc.coords import turn_deg

    _seed_ants()
    colin = load_fixed_images()[0]
    moving = _moving(heads.rigid(heads.load_colin27(), (0.0, 180.0, 0.0)).image, tmp_path)
    (tmp_path / "rigid").mkdir()
    rigid_file = ants.registration(fixed=colin, moving=moving, type_of_transform="Rigid",
                                   outprefix=f"{tmp_path}/rigid/", **HEAD_RIGID)["fwdtransforms"][0]
    starts = better_starts(colin, moving, rigid_file, tmp_path)
    assert len(starts) == MAX_SEARCHED_STARTS
    linear = [np.asarray(ants.read_transform(str(f)).parameters[:9]).reshape(3, 3) for f in [rigid_file, *starts]]
    rigid_linear, start_linears = linear[0], linear[1:]
    for later, start in enumerate(start_linears[1:], start=1):
        assert turn_deg(start.T @ rigid_linear) > SAME_OPTIMUM_TURN_DEG
        assert all(turn_deg(start.T @ earlier) > SAME_OPTIMUM_TURN_DEG for earlier in start_linears[:later])


# Turns the head stage alone did not recover: it stopped 30-45 mm off (55 degrees about y)
# or further (a quarter and a half turn, a turn about a slanted axis).
@pytest.mark.parametrize("rotation_deg", [(0.0, 55.0, 0.0), (90.0, 0.0, 0.0), (0.0, 180.0, 0.0), (37.0, -70.0, 123.0)])
def test_the_head_stage_finds_a_head_turned_far_from_upright(rotation_deg, tmp_path):
    _seed_ants()
    case = heads.rigid(heads.load_colin27(), rotation_deg, (6.0, -4.0, 9.0))
    affine, head_start = _head_stage(load_fixed_images()[0], _moving(case.image, tmp_path), tmp_path)
    gaps_mm = np.linalg.norm(_carried_ras_mm(affine, PROBE_RAS_MM) - case.original_to_new(PROBE_RAS_MM), axis=1)
    assert gaps_mm.max() < 1.0, gaps_mm
    assert head_start == "search over orientations"  # what the plan records (registration.head_start)


@pytest.mark.parametrize("highest", ["head_rigid", "head_rigid_searched_0", "head_rigid_searched_2"])
def test_the_rigid_result_scoring_highest_is_kept_and_its_start_recorded(highest, tmp_path, monkeypatch):
    # the search runs for a quarter-turned head from three starts; which of the four rigid
    # results is kept is the mutual information's call, made here for one or another
    import navsvc.registration

    _seed_ants()
    moving = _moving(heads.rigid(heads.load_colin27(), (90.0, 0.0, 0.0)).image, tmp_path)
    folder = str(tmp_path / highest) + os.sep
    monkeypatch.setattr(navsvc.registration, "mutual_information",
                        lambda fixed, image, transform: float(str(transform).startswith(folder)))
    kept, head_start = _head_rigid(load_fixed_images()[0], moving, tmp_path)
    assert str(kept).startswith(folder)
    assert (tmp_path / "head_rigid_searched_2").is_dir()  # every start ran
    assert head_start == (HEAD_STARTS[1] if highest == "head_rigid" else HEAD_STARTS[2])


def test_the_head_stage_finds_a_head_its_field_of_view_cuts(tmp_path):
    # A warped, unevenly lit, noisy, resampled and obliquely turned Colin27 whose field of
    # view cuts its sides, face and back (151 x 181 x 121 voxels of 1.1 x 1.1 x 1.38 mm): its
    # centre of mass moved, and the rigid stage from the centres of mass stopped 26 degrees
    # and 13-30 mm off; the plan was refused (registration quality 0.227). Found, it plans
    # 2.4 mm from the ground truth; the probe points' gaps below are mostly the warp's.
    _seed_ants()
    rng = np.random.default_rng(2012)
    case = (heads.smooth_warp(heads.load_colin27(), rng, amplitude_mm=4.0)
            .then(lambda x: heads.multiply_bias_field(x, rng, 0.3))
            .then(lambda x: heads.add_rician_noise(x, rng, 0.03))
            .then(lambda x: heads.resample(x, (1.2, 1.2, 1.5)))
            .then(lambda x: heads.oblique_affine(x, rng)))
    affine, head_start = _head_stage(load_fixed_images()[0], _moving(case.image, tmp_path), tmp_path)
    gaps_mm = np.linalg.norm(_carried_ras_mm(affine, PROBE_RAS_MM) - case.original_to_new(PROBE_RAS_MM), axis=1)
    assert gaps_mm.max() < 8.0, gaps_mm
    assert head_start == "search over orientations"


@pytest.mark.parametrize("turn_deg, cautioned", [(0.0, False), (24.6, False), (44.9, False), (45.0, True),
                                                 (180.0, True), (float("nan"), False)])
def test_a_head_turned_far_from_upright_is_cautioned_from_45_degrees(turn_deg, cautioned):
    caution = head_turn_caution(turn_deg)
    assert (caution is not None) == cautioned
    if cautioned:
        assert caution.startswith(f"the head lies turned {turn_deg:.0f} degrees from upright in the image's world")
        assert "not the patient's" in caution and "patient position" in caution


def test_the_turn_caution_leads_the_plans_cautions_in_the_summary_and_report():
    from navsvc.report.html import warnings
    from navsvc.report.values import plan_cautions

    plan = {"registration": {"head_orientation": {"turn_from_upright_deg": 90.0, "caution_from_deg": 45.0,
                                                  "caution": head_turn_caution(90.0)},
                             "quality": {"caution": "the registration quality is low"}},
            "entry": {}, "landmarks": {"points": {"m1_hand_knob": {}}}}
    assert plan_cautions(plan) == [head_turn_caution(90.0), "the registration quality is low"]
    assert any(w.startswith("The head lies turned 90 degrees") for w in warnings(plan))
    del plan["registration"]["head_orientation"]  # a plan made before schema 1.9.0
    assert plan_cautions(plan) == ["the registration quality is low"]


def test_colins_own_head_is_upright(colin_plan):
    block = colin_plan["registration"]["head_orientation"]
    assert block["turn_from_upright_deg"] < 10.0 and block["caution"] is None
    assert colin_plan["registration"]["head_start"] == "centres of mass"  # no search was needed


def test_the_schema_names_every_head_start():
    from navsvc.plan_document import plan_schema

    assert tuple(plan_schema()["properties"]["registration"]["properties"]["head_start"]["enum"]) == HEAD_STARTS
