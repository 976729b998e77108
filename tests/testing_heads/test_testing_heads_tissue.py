"""The ground-truth tissue and intensity changes of navsvc.testing.heads: a shrunk brain, wider
sulci, noise, a bias field and other contrasts keep the markers where their point maps say
(head_markers.py) and change only what they should.
"""

from __future__ import annotations

import numpy as np
import pytest
from head_markers import MARKER_TOLERANCE_MM, MARKERS_RAS_MM, assert_maps_are_inverse, marker_centroids_ras_mm
from scipy import ndimage

from navsvc.coords import voxel_to_world, world_to_voxel
from navsvc.testing import heads


# ------------------------------------------------------------------- brain shrink


@pytest.fixture(scope="module")
def colin_brain() -> np.ndarray:
    return heads.load_colin27_brain_mask()


@pytest.mark.parametrize("factor", [0.94, 0.97])
def test_shrink_brain_moves_brain_markers_towards_the_centre_and_leaves_the_rest(colin, marked, colin_brain, factor):
    img, centres = marked
    centre = np.array([0.0, -100.0, 10.0])  # behind the markers: each moves by its own amount
    fluid = 30.5  # no voxel of Colin27 (integers) has it
    head = heads.shrink_brain(img, colin_brain, factor, fluid, centre)
    plain = heads.shrink_brain(colin, colin_brain, factor, fluid, centre)
    expected = head.original_to_new(centres)
    assert np.allclose(expected, centre + factor * (centres - centre))
    assert np.linalg.norm(expected - centres, axis=1).min() > 1.5  # the markers really moved
    found = marker_centroids_ras_mm(head.image, plain.image, expected)
    errors = np.linalg.norm(found - expected, axis=1)
    assert errors.max() < MARKER_TOLERANCE_MM, errors
    assert np.all(np.linalg.norm(found - head.new_to_original(centres), axis=1) > 3.0)  # not the wrong way
    assert_maps_are_inverse(head, centres)
    old, new = np.asarray(colin.dataobj, np.float32), np.asarray(plain.image.dataobj)
    assert np.array_equal(new[~colin_brain], old[~colin_brain])  # skull and scalp stay
    # the brain keeps factor**3 of its volume; the rest of the mask reads as fluid
    brain_voxels = np.count_nonzero(new[colin_brain] != fluid)
    assert abs(brain_voxels / colin_brain.sum() - factor ** 3) < 0.01


def test_shrink_brain_refuses_a_factor_or_mask_it_cannot_use(colin, colin_brain):
    with pytest.raises(ValueError, match="factor"):
        heads.shrink_brain(colin, colin_brain, 0.5, 30.0)
    with pytest.raises(ValueError, match="grid"):
        heads.shrink_brain(colin, colin_brain[1:], 0.95, 30.0)
    with pytest.raises(ValueError, match="empty"):
        heads.shrink_brain(colin, np.zeros_like(colin_brain), 0.95, 30.0)


def test_widen_sulci_turns_grey_matter_next_to_fluid_into_fluid(colin, colin_brain):
    old = np.asarray(colin.dataobj, np.float32)
    fluid, grey = colin_brain & (old < 55.0), colin_brain & (old >= 55.0) & (old < 99.0)
    one = heads.widen_sulci(colin, colin_brain, 1, 30.5, 55.0, 99.0)
    two = heads.widen_sulci(colin, colin_brain, 2, 30.5, 55.0, 99.0)
    for head, steps in ((one, 1), (two, 2)):
        new = np.asarray(head.image.dataobj)
        changed = new != old
        assert changed.any() and np.all(new[changed] == 30.5)
        assert not np.any(changed & ~grey)  # white matter, fluid and all outside the brain stay
        # every changed voxel lies within `steps` face steps of the fluid, and all such grey voxels changed
        reach = ndimage.binary_dilation(fluid, iterations=steps)
        assert np.array_equal(changed, reach & grey)
        assert head.parameters["voxels"] == changed.sum()
        assert np.allclose(head.original_to_new(MARKERS_RAS_MM), MARKERS_RAS_MM)
    assert two.parameters["voxels"] > 1.5 * one.parameters["voxels"]
    with pytest.raises(ValueError, match="1 voxel step or more"):
        heads.widen_sulci(colin, colin_brain, 0, 30.5, 55.0, 99.0)


# ------------------------------------------------------------------- intensities


def test_rician_noise_has_the_stated_sigma_and_keeps_markers(colin, marked):
    img, centres = marked
    head = heads.add_rician_noise(img, np.random.default_rng(5), 0.05)
    plain = heads.add_rician_noise(colin, np.random.default_rng(5), 0.05)
    sigma = plain.parameters["sigma"]
    assert np.isclose(sigma, 0.05 * heads.robust_max(np.asarray(colin.dataobj)))
    old = np.asarray(colin.dataobj, np.float64)
    noisy = np.asarray(plain.image.dataobj, np.float64)
    # pure noise (signal 0) is Rayleigh with mean sigma * sqrt(pi / 2)
    assert abs(noisy[old == 0].mean() / (sigma * np.sqrt(np.pi / 2)) - 1.0) < 0.03
    # high signal: nearly Gaussian with standard deviation sigma
    bright = old > 20 * sigma
    assert abs((noisy[bright] - old[bright]).std() / sigma - 1.0) < 0.03
    found = marker_centroids_ras_mm(head.image, plain.image, centres)
    assert np.max(np.linalg.norm(found - centres, axis=1)) < MARKER_TOLERANCE_MM
    assert np.allclose(head.original_to_new(centres), centres)


def test_bias_field_is_smooth_bounded_and_keeps_markers(colin, marked):
    img, centres = marked
    head = heads.multiply_bias_field(img, np.random.default_rng(9), strength=0.3)
    plain = heads.multiply_bias_field(colin, np.random.default_rng(9), strength=0.3)
    old = np.asarray(colin.dataobj, np.float64)
    inside = old > 0.1 * heads.robust_max(old)
    ratio = np.asarray(plain.image.dataobj, np.float64)[inside] / old[inside]
    assert ratio.min() >= 0.7 - 1e-5 and ratio.max() <= 1.3 + 1e-5
    assert np.isclose(np.max(np.abs(ratio - 1.0)), 0.3, atol=1e-4)  # full strength is reached
    found = marker_centroids_ras_mm(head.image, plain.image, centres)
    assert np.max(np.linalg.norm(found - centres, axis=1)) < MARKER_TOLERANCE_MM
    assert np.allclose(head.original_to_new(centres), centres)


def test_bias_field_is_the_same_in_world_space_whatever_the_voxel_order(colin):
    field = heads.bias_field(colin, np.random.default_rng(2), 0.3)
    flipped = heads.reorient(colin, (2, 0, 1), (True, False, True))
    field_flipped = heads.bias_field(flipped.image, np.random.default_rng(2), 0.3)
    ijk = np.random.default_rng(0).integers(0, flipped.image.shape, size=(2000, 3))
    ijk_old = np.round(world_to_voxel(colin.affine, voxel_to_world(flipped.image.affine, ijk))).astype(int)
    assert np.allclose(field_flipped[tuple(ijk.T)], field[tuple(ijk_old.T)], atol=1e-4)
    # smooth: neighbouring voxels differ by far less than the field's range
    assert np.max(np.abs(np.diff(field, axis=0))) < 0.01


def test_raise_to_power_changes_contrast_not_order_or_world():
    img = heads.load_colin27()
    data = heads.image_data(img).astype(np.float32)
    top = heads.robust_max(data)
    same = heads.raise_to_power(img, 1.0)
    np.testing.assert_allclose(heads.image_data(same.image), np.clip(data, 0, None), rtol=1e-5, atol=1e-3)
    darker = heads.image_data(heads.raise_to_power(img, 2.5).image)
    assert np.array_equal(darker.shape, data.shape) and np.array_equal(heads.raise_to_power(img, 2.5).image.affine, img.affine)
    skin = (data > 0.3 * top) & (data < 0.4 * top)
    assert np.all(darker[skin] < 0.11 * top)  # (0.4)^2.5 = 0.10
    order = np.argsort(data[::7, ::7, ::7], axis=None)
    assert np.all(np.diff(darker[::7, ::7, ::7].ravel()[order]) >= 0)  # the order of intensities is kept
    with pytest.raises(ValueError):
        heads.raise_to_power(img, 0.0)


def test_brighten_scalp_fat_brightens_only_bright_tissue_outside_the_brain():
    img = heads.load_colin27()
    data = heads.image_data(img).astype(np.float32)
    brain = heads.load_colin27_brain_mask()
    out = heads.image_data(heads.brighten_scalp_fat(img, brain, 3.0).image)
    top = heads.robust_max(data)
    np.testing.assert_array_equal(out[brain], data[brain])
    dim = data < 0.6 * top
    np.testing.assert_array_equal(out[dim], data[dim])
    brightest = ~brain & (data >= 0.9 * top)
    assert brightest.any()
    np.testing.assert_allclose(out[brightest], 3.0 * data[brightest], rtol=1e-6)
    with pytest.raises(ValueError):
        heads.brighten_scalp_fat(img, brain, 0.5)
