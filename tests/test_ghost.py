"""Ghosts of the head half the field of view away (motion): measured per voxel axis, refused when bright.

Colin27 with ghosts of known brightness (``heads.add_motion_ghost``), turned and moved at
random and with Rician noise: the estimate must find the ghost's brightness on its own axis
and none on the others, whatever the voxel order; a clean head measures none; a bright
ghost is refused by the whole pipeline, naming its direction, before it reads as noise.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from navsvc.anatomy.ghost import MAX_GHOST_PCT, ghost_pct_by_axis, require_no_strong_ghost, strongest_ghost
from navsvc.anatomy.template_head import colin_head_distance_mm
from navsvc.coords import voxel_to_world
from navsvc.errors import InputError
from navsvc.pipeline import make_plan
from navsvc.testing import heads
from navsvc.testing.cases import random_rigid


@pytest.fixture(scope="module")
def colin():
    return heads.load_colin27()


def _identity(points):
    return np.asarray(points, dtype=float)


def _measure(case: heads.TransformedHead) -> list[float | None]:
    img = case.image
    return ghost_pct_by_axis(np.asanyarray(img.dataobj).astype(np.float32), img.affine, case.new_to_original)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_a_ghost_is_measured_on_its_own_axis_under_noise_and_a_move(colin, axis):
    rng = np.random.default_rng(axis)
    case = (heads.add_motion_ghost(colin, 0.2, axis)
            .then(lambda im: heads.add_rician_noise(im, rng, 0.04)).then(random_rigid(rng)))
    measured = _measure(case)
    assert measured[axis] == pytest.approx(19.0, abs=2.0)  # read a little low under noise, by design
    assert all(pct < 1.0 for other, pct in enumerate(measured) if other != axis)
    assert strongest_ghost(measured)[1] == axis


def test_the_ghost_follows_its_axis_into_any_voxel_order(colin):
    # ghosted front-back, then the voxel axes permuted and flipped: found on the axis that is now front-back
    case = heads.add_motion_ghost(colin, 0.3, axis=1).then(lambda im: heads.reorient(im, (2, 0, 1), (True, False, True)))
    measured = _measure(case)
    assert nib.aff2axcodes(case.image.affine)[2] in "AP"
    assert measured[2] == pytest.approx(30.0, abs=2.0) and max(measured[0], measured[1]) < 1.0


@pytest.mark.parametrize("sigma", [0.0, 0.04, 0.08, 0.12])
def test_a_head_without_a_ghost_measures_none(colin, sigma):
    rng = np.random.default_rng(5)
    measured = _measure(heads.add_rician_noise(colin, rng, sigma).then(random_rigid(rng)))
    # without the standard-error discount this draw read 5.0 % at 8 % noise
    assert all(pct is not None and pct < 1.0 for pct in measured)


def test_an_mp2rage_like_air_is_no_ghost_and_keeps_its_own_refusal(colin):
    # noise spread uniformly over the image's whole range in the air: without the discount one
    # draw read a 23 % ghost, and the refusal would have named a ghost instead of the MP2RAGE
    values = np.asanyarray(colin.dataobj).astype(np.float32)
    ijk = np.indices(values.shape).reshape(3, -1).T
    air = (colin_head_distance_mm(voxel_to_world(colin.affine, ijk)) > 5.0).reshape(values.shape)
    for seed in (0, 3):
        filled = values.copy()
        filled[air] = np.random.default_rng(seed).uniform(0.0, heads.robust_max(values), int(air.sum()))
        measured = ghost_pct_by_axis(filled, colin.affine, _identity)
        assert max(measured) < 1.0
        require_no_strong_ghost(measured, ("R", "A", "S"))


def test_too_little_air_is_not_measured():
    assert strongest_ghost([None, None, None]) is None
    require_no_strong_ghost([None, None, None], ("R", "A", "S"))


def test_the_limit_refuses_only_above_it_and_names_the_direction():
    require_no_strong_ghost([1.0, MAX_GHOST_PCT, None], ("R", "A", "S"))
    with pytest.raises(InputError, match=r"ghost of the head: a copy 31 % as bright.*front-back \(voxel axis 2\)"):
        require_no_strong_ghost([1.0, 2.0, 31.0], ("L", "I", "A"))


def test_a_bright_ghost_is_refused_by_the_pipeline_not_planned_or_called_noise(colin, tmp_path):
    # planned, a 50 % front-back ghost put the entry 12 mm out on the forehead and the dose
    # suggestion 14 %MSO higher; its air also reads as noise of 25 % of the brain's signal
    rng = np.random.default_rng(2)
    case = heads.add_motion_ghost(colin, 0.5, axis=1).then(lambda im: heads.add_rician_noise(im, rng, 0.02))
    nib.save(case.image, str(tmp_path / "ghosted.nii.gz"))
    with pytest.raises(InputError, match="ghost of the head.*front-back.*rescan"):
        make_plan(tmp_path / "ghosted.nii.gz", tmp_path / "out")
    assert not (tmp_path / "out" / "plan.json").exists()


def test_the_plan_reports_the_ghost(colin_plan):
    assert colin_plan["input"]["ghost_pct"] == pytest.approx(0.0, abs=0.5)
