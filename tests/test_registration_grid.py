"""The images of the registration stages on the 2 mm grid (navsvc.registration_grid): the
intensity scale, the brain box, the patient's block means and the templates' cache."""

from __future__ import annotations

import numpy as np
import pytest

from navsvc import registration_grid
from navsvc.antspy import ants
from navsvc.coords import lps_to_ras
from navsvc.grid import WorkingImage
from navsvc.registration_grid import (
    FIXED_BRAIN_MARGIN_VOXELS, REGISTRATION_SPACING_MM, index_box, load_fixed_images, normalise,
    registration_grid_image,
)


def _ants(values: np.ndarray) -> ants.ANTsImage:
    return ants.from_numpy(values.astype(np.float32))


def test_normalise_divides_by_the_99th_percentile_of_the_voxels_above_zero():
    values = np.zeros((10, 10, 10), np.float32)
    values[:, :, 5:] = np.arange(1, 501, dtype=np.float32).reshape(10, 10, 5)
    scaled = normalise(_ants(values)).numpy()
    scale = np.percentile(np.arange(1, 501), 99.0)
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled[:, :, 5:], np.clip(values[:, :, 5:] / scale, 0, 1.5), rtol=1e-6)
    assert np.all(scaled[:, :, :5] == 0)


def test_normalise_takes_its_scale_from_the_mask_and_clips_to_0_and_1_5():
    values = np.full((6, 6, 6), 100.0, np.float32)
    values[0] = 1000.0  # bright outside the mask: clipped at 1.5
    values[1] = -50.0  # negative: clipped at 0
    mask = np.zeros(values.shape, bool)
    mask[3:] = True
    scaled = normalise(_ants(values), mask).numpy()
    np.testing.assert_allclose(scaled[3:], 1.0)
    np.testing.assert_allclose(scaled[0], 1.5)
    np.testing.assert_allclose(scaled[1], 0.0)


def test_normalise_leaves_a_black_brain_black():
    values = np.ones((4, 4, 4), np.float32)
    mask = np.zeros(values.shape, bool)
    mask[:2] = True
    values[mask] = 0.0
    scaled = normalise(_ants(values), mask).numpy()  # scale 0 is taken as 1
    np.testing.assert_array_equal(scaled, values)


def test_normalise_keeps_the_physical_space():
    image = ants.from_numpy(np.ones((4, 5, 6), np.float32), origin=(1.0, -2.0, 3.0), spacing=(2.0, 2.0, 2.0),
                            direction=np.diag([-1.0, -1.0, 1.0]))
    scaled = normalise(image)
    assert scaled.origin == image.origin and scaled.spacing == image.spacing
    np.testing.assert_array_equal(scaled.direction, image.direction)


def test_index_box_adds_the_margin_on_every_side():
    mask = np.zeros((20, 30, 40), bool)
    mask[5, 10, 15] = mask[8, 12, 20] = True
    lo, hi = index_box(mask, 3, mask.shape)
    assert lo == [2, 7, 12]
    assert hi == [12, 16, 24]  # last index + margin + 1: exclusive
    assert isinstance(lo[0], int) and isinstance(hi[0], int)


def test_index_box_stops_at_the_array_edges():
    mask = np.zeros((10, 10, 10), bool)
    mask[1, 5, 8] = True
    lo, hi = index_box(mask, 3, mask.shape)
    assert lo == [0, 2, 5]
    assert hi == [5, 9, 10]


def test_index_box_of_a_full_mask_without_margin_is_the_whole_array():
    mask = np.ones((3, 4, 5), bool)
    assert index_box(mask, 0, mask.shape) == ([0, 0, 0], [3, 4, 5])


def _working(spacing_mm: float, shape=(8, 8, 8)) -> WorkingImage:
    rng = np.random.default_rng(3)
    data = rng.uniform(1.0, 2.0, shape).astype(np.float32)
    return WorkingImage(data, np.array([-20.0, 10.0, -5.0]), spacing_mm)


def test_a_1_mm_grid_becomes_the_means_of_its_2_mm_blocks_in_the_same_place():
    native = _working(1.0)
    moving = registration_grid_image(native)
    blocks = native.data.reshape(4, 2, 4, 2, 4, 2).mean(axis=(1, 3, 5))
    # normalised: the block means over their own 99th percentile
    np.testing.assert_allclose(moving.numpy(), np.clip(blocks / np.percentile(blocks, 99.0), 0, 1.5), rtol=1e-5)
    assert moving.spacing == (REGISTRATION_SPACING_MM,) * 3
    # block (0, 0, 0) is centred half a millimetre into the 1 mm grid, on each axis; ITK is LPS
    centre_ras = native.origin_ras_mm + 0.5
    np.testing.assert_allclose(moving.origin, centre_ras * [-1, -1, 1])
    np.testing.assert_array_equal(moving.direction, np.diag([-1.0, -1.0, 1.0]))


def test_a_0_5_mm_grid_is_averaged_in_blocks_of_4():
    native = _working(0.5)
    moving = registration_grid_image(native)
    assert moving.shape == (2, 2, 2)
    blocks = native.data.reshape(2, 4, 2, 4, 2, 4).mean(axis=(1, 3, 5))
    np.testing.assert_allclose(moving.numpy(), np.clip(blocks / np.percentile(blocks, 99.0), 0, 1.5), rtol=1e-5)


def test_a_2_mm_grid_is_only_normalised():
    native = _working(2.0)
    moving = registration_grid_image(native)
    assert moving.shape == native.data.shape
    np.testing.assert_allclose(moving.numpy(), np.clip(native.data / np.percentile(native.data, 99.0), 0, 1.5),
                               rtol=1e-6)


@pytest.mark.parametrize("spacing_mm", [0.7, 1.5, 3.0])
def test_a_grid_that_does_not_divide_2_mm_is_refused(spacing_mm):
    with pytest.raises(ValueError, match="does not divide 2.0 mm"):
        registration_grid_image(_working(spacing_mm))


def test_the_fixed_images_are_prepared_once_then_read_from_the_cache(cache_dir, monkeypatch):
    prepared = load_fixed_images()
    folder = cache_dir / registration_grid.fixed_cache_key()
    assert sorted(p.name for p in folder.iterdir()) == ["colin27_head.nii.gz", "icbm_mask.nii.gz", "icbm_t1.nii.gz"]

    def must_not_prepare(*args, **kwargs):
        raise AssertionError("prepared again although the cache holds the images")

    # (patching a function of this module would change the cache key, which hashes its code)
    monkeypatch.setattr(ants, "smooth_image", must_not_prepare)
    for fresh, read in zip(prepared, load_fixed_images()):
        np.testing.assert_allclose(read.numpy(), fresh.numpy(), atol=1e-6)
        np.testing.assert_allclose(read.origin, fresh.origin, atol=1e-4)
        assert read.spacing == fresh.spacing == (REGISTRATION_SPACING_MM,) * 3


def test_the_template_brain_box_keeps_the_margin_and_the_template_space():
    colin, icbm, icbm_mask = load_fixed_images()  # from the engine's cache, as the plans read them
    mask = icbm_mask.numpy() > 0
    assert set(np.unique(icbm_mask.numpy())) == {0.0, 1.0}
    # the box is the mask's bounding box plus the margin: the mask stays that far from each
    # face, except the inferior one, where the template's own field of view ends (its mask
    # reaches the bottom slice: the brainstem)
    inside = np.argwhere(mask)
    np.testing.assert_array_equal(inside.min(axis=0), [FIXED_BRAIN_MARGIN_VOXELS, FIXED_BRAIN_MARGIN_VOXELS, 0])
    np.testing.assert_array_equal(np.array(mask.shape) - 1 - inside.max(axis=0), [FIXED_BRAIN_MARGIN_VOXELS] * 3)
    # cropping keeps physical space: the template and its mask share one grid, and the box's
    # centre lies near the middle of MNI space
    assert icbm.origin == icbm_mask.origin and icbm.shape == icbm_mask.shape
    centre_voxel = tuple(n // 2 for n in icbm.shape)
    centre_ras = lps_to_ras(np.array(ants.transform_index_to_physical_point(icbm, centre_voxel))).reshape(3)
    assert abs(centre_ras[0]) < 5.0 and -30 < centre_ras[1] < 0 and 0 < centre_ras[2] < 30
    # both templates normalised: the brain's 99th percentile is 1, nothing above 1.5 or below 0
    for image, inside_mask in ((icbm, mask), (colin, colin.numpy() > 0)):
        values = image.numpy()
        assert values.min() >= 0 and values.max() <= 1.5
        assert abs(np.percentile(values[inside_mask], 99.0) - 1.0) < 1e-3
