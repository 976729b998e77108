"""The accuracy cases (navsvc.testing.cases): one case is drawn as the benchmark draws it."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from navsvc.testing.cases import accuracy_case, accuracy_cases

PROBE_RAS_MM = np.array([[-20.0, 10.0, 15.0], [25.0, -5.0, 30.0]])


@pytest.fixture(scope="module")
def small_head() -> nib.Nifti1Image:
    data = np.random.default_rng(0).uniform(0, 100, (24, 24, 24)).astype(np.float32)
    affine = np.array([[3.0, 0, 0, -36], [0, 3, 0, -36], [0, 0, 3, -36], [0, 0, 0, 1]])  # 3 mm voxels, centred
    return nib.Nifti1Image(data, affine)


def test_a_case_is_the_one_the_benchmark_draws(small_head):
    in_order = {name: make(small_head) for name, make in accuracy_cases()}
    alone = accuracy_case("oblique affine B", small_head)
    assert np.allclose(alone.original_to_new(PROBE_RAS_MM), in_order["oblique affine B"].original_to_new(PROBE_RAS_MM))
    # made alone, the maker draws from a fresh generator: another transform
    _, make = accuracy_cases()[4]
    assert not np.allclose(make(small_head).original_to_new(PROBE_RAS_MM), alone.original_to_new(PROBE_RAS_MM))


def test_an_unknown_case_is_named_in_the_error(small_head):
    with pytest.raises(LookupError, match="no such warp"):
        accuracy_case("no such warp", small_head)


def test_surface_depth_is_where_the_tissue_run_holding_the_cortical_point_begins():
    from navsvc.testing.atrophy_cases import surface_depth_mm

    # along z: skull-bright 0-2, fluid 3-9, grey matter from 10 (1 mm voxels, world = index)
    data = np.full((5, 5, 40), 85.0, np.float32)
    data[:, :, :3] = 150.0
    data[:, :, 3:10] = 30.0
    img = nib.Nifti1Image(data, np.eye(4))
    # trilinear 55 between voxels 9 (30) and 10 (85) lies at 9 + 25/55 = 9.45: the first sample is 9.5
    assert surface_depth_mm(img, (2, 2, 0), (2, 2, 12)) == pytest.approx(9.5)
    # a cortical point in the fluid: the first tissue beyond it
    assert surface_depth_mm(img, (2, 2, 0), (2, 2, 6)) == pytest.approx(9.5)


def test_expected_depths_add_the_shrink_and_the_erosion():
    from navsvc.testing import heads
    from navsvc.testing.atrophy_cases import expected_depths_mm

    plan = {"entry": {"scalp_ras_mm": [0.0, 0.0, 60.0]}, "target": {"cortex_ras_mm": [0.0, 0.0, 40.0]},
            "dose": {"scalp_to_cortex_target_mm": 15.0, "scalp_to_cortex_m1_mm": 17.0},
            "landmarks": {"points": {"m1_hand_knob": {"ras_mm": [0.0, 60.0, 0.0], "cortex_ras_mm": [0.0, 40.0, 0.0]}}}}
    affine = np.array([[3.0, 0, 0, -60], [0, 3, 0, -60], [0, 0, 3, -60], [0, 0, 0, 1]])  # world -60..60 mm
    tissue = nib.Nifti1Image(np.full((41, 41, 41), 85.0, np.float32), affine)
    same = heads.rigid(tissue)
    assert expected_depths_mm(plan, same, same) == pytest.approx((15.0, 17.0))
    brain = np.ones(tissue.shape, bool)
    shrunk = heads.shrink_brain(tissue, brain, 0.9, 30.0, (0.0, 0.0, 0.0))
    # both cortical points 40 mm from the centre sink 4 mm
    assert expected_depths_mm(plan, shrunk, shrunk) == pytest.approx((19.0, 21.0))
    # the shrink left fluid in the outer 2 voxels (sources beyond the grid); widening by one
    # step takes the next 3 mm voxel: the surface lies 3 mm deeper
    widened = shrunk.then(lambda im: heads.widen_sulci(im, brain, 1, 30.0, 55.0, 99.0))
    assert expected_depths_mm(plan, shrunk, widened) == pytest.approx((22.0, 24.0), abs=0.06)
