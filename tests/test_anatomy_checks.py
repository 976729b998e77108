"""navsvc.anatomy.checks on synthetic heads whose answers follow from geometry: the depth of
a point in the brain, the scalp's distance from the brain (skull-stripped images), and the
share of the brain inside the head's outline."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from navsvc.anatomy.checks import (MIN_BRAIN_IN_HEAD, brain_in_head_fraction, depth_in_brain_mm,
                                   require_brain_in_head, require_scalp, scalp_to_brain_mm)
from navsvc.anatomy.scalp import Scalp, scalp_surface
from navsvc.errors import InputError
from navsvc.grid import WorkingImage

#: a 2 mm grid of 30 x 40 x 50 voxels away from the origin, so that no axis, size or offset
#: stands in for another
ORIGIN_RAS_MM = np.array([-10.0, 20.0, -30.0])
SPACING_MM = 2.0


def _slab_brain() -> WorkingImage:
    """Brain in every voxel with k <= 30, out to the grid's edges on the other axes."""
    data = np.zeros((30, 40, 50), np.float32)
    data[:, :, :31] = 1.0
    return WorkingImage(data, ORIGIN_RAS_MM, SPACING_MM)


def _ras(ijk) -> np.ndarray:
    return ORIGIN_RAS_MM + SPACING_MM * np.asarray(ijk, float)


@pytest.mark.parametrize("ijk", [(1, 38, 25), (28, 1, 25), (15, 20, 25), (0, 39, 25)])
def test_depth_in_brain_is_the_distance_to_the_nearest_voxel_outside(ijk):
    """Near any corner of the grid the depth is measured to the brain's real surface (6 voxels
    up), not to the grid's edge, which does not count as outside."""
    assert depth_in_brain_mm(_slab_brain(), _ras(ijk), 34.0) == 12.0


def test_depth_in_brain_is_exact_up_to_the_reach_and_infinite_past_it():
    brain = _slab_brain()
    assert depth_in_brain_mm(brain, _ras((3, 35, 26)), 10.0) == 10.0  # the reach itself
    assert depth_in_brain_mm(brain, _ras((3, 35, 10)), 10.0) == np.inf  # 42 mm deep
    assert depth_in_brain_mm(brain, _ras((3, 35, 40)), 10.0) == 0.0  # above the brain
    assert depth_in_brain_mm(brain, _ras((-1, 35, 10)), 10.0) == 0.0  # off the grid


def _concentric(head_radius_mm: float, brain_radius_mm: float = 40.0, centre_ras_mm=(30.0, -20.0, 100.0)):
    """A ball head around a ball brain, on a 2 mm grid, far from the origin."""
    n = 64
    origin = np.asarray(centre_ras_mm) - SPACING_MM * (n - 1) / 2
    xyz = origin[:, None, None, None] + SPACING_MM * np.indices((n, n, n))
    radius = np.linalg.norm(xyz - np.asarray(centre_ras_mm)[:, None, None, None], axis=0)
    head = radius <= head_radius_mm
    brain = WorkingImage((radius <= brain_radius_mm).astype(np.float32), origin, SPACING_MM)
    scalp = scalp_surface(WorkingImage(head.astype(np.float32), origin, SPACING_MM), head)
    return scalp, brain


def test_the_scalp_to_brain_distance_is_the_gap_between_them():
    scalp, brain = _concentric(52.0)
    assert scalp_to_brain_mm(scalp, brain, [0.0, 0.0, 1.0]) == pytest.approx(12.0, abs=1.0)
    assert require_scalp(scalp, brain, [0.0, 0.0, 1.0]) == pytest.approx(12.0, abs=1.0)


def test_the_scalp_to_brain_distance_is_measured_above_the_head_centre():
    """A brain low in its head: 20 mm of scalp above it and 4 mm below. The upper scalp is
    the superior direction's, whichever way it points in the image."""
    scalp, brain = _concentric(52.0, brain_radius_mm=40.0)
    low = brain.with_data(np.roll(brain.data, -4, axis=2))  # 8 mm down
    assert scalp_to_brain_mm(scalp, low, [0.0, 0.0, 1.0]) > 16.0
    assert scalp_to_brain_mm(scalp, low, [0.0, 0.0, -1.0]) < 8.0


def test_a_skull_stripped_head_is_refused():
    scalp, brain = _concentric(42.0)
    assert scalp_to_brain_mm(scalp, brain, [0.0, 0.0, 1.0]) < 4.0
    with pytest.raises(InputError, match=r"lies \d\.\d mm from the brain: it looks skull-stripped.*unstripped T1"):
        require_scalp(scalp, brain, [0.0, 0.0, 1.0])


def _scalp_with_head_mask(head_mask: np.ndarray) -> Scalp:
    return Scalp(mesh=trimesh.creation.box(), head_mask=head_mask)


@pytest.mark.parametrize("slices_in_head, refused", [(10, False), (8, False), (7, True), (0, True)])
def test_the_head_outline_must_hold_most_of_the_brain(slices_in_head, refused):
    assert MIN_BRAIN_IN_HEAD == 0.8  # the cases below straddle it
    brain = np.zeros((20, 20, 20), np.float32)
    brain[5:15, 5:15, 5:15] = 1.0
    head = np.zeros(brain.shape, bool)
    head[:, :, 5:5 + slices_in_head] = True
    head[0, 0, 0] = True  # head outside the brain does not count
    scalp, brain_mask = _scalp_with_head_mask(head), WorkingImage(brain, ORIGIN_RAS_MM, SPACING_MM)
    assert brain_in_head_fraction(scalp, brain_mask) == slices_in_head / 10
    if refused:
        with pytest.raises(InputError, match=rf"holds only {slices_in_head * 10}% of the brain"):
            require_brain_in_head(scalp, brain_mask)
    else:
        require_brain_in_head(scalp, brain_mask)


def test_an_empty_brain_mask_is_taken_as_held():
    empty = WorkingImage(np.zeros((4, 4, 4), np.float32), ORIGIN_RAS_MM, SPACING_MM)
    assert brain_in_head_fraction(_scalp_with_head_mask(np.zeros((4, 4, 4), bool)), empty) == 1.0
