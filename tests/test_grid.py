"""navsvc.grid: the working grid is the same, with the same data, whatever the voxel order.

This is the property that makes the whole pipeline orientation-equivariant: every
later stage sees only the working grid.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from navsvc import coords
from navsvc.antspy import ants
from scipy import ndimage

from navsvc.grid import HEAD_MARGIN_MM, WorkingImage, foreground_threshold, head_bounds_ras_mm, \
    resample_to_working_grid, resample_voxels_linear
from navsvc.testing import heads

ORIENTATIONS = list(heads.all_orientations())
ORIENTATION_IDS = [heads.orientation_label(p, f) for p, f in ORIENTATIONS]


@pytest.fixture(scope="module")
def colin() -> nib.Nifti1Image:
    img = heads.load_colin27()
    return nib.Nifti1Image(np.asarray(img.dataobj), img.affine)


@pytest.fixture(scope="module")
def colin_2mm(colin) -> nib.Nifti1Image:
    """Colin27 subsampled to 2 mm, 90x108x90: even axis lengths, so flips change which
    voxels a strided subsample picks (that once moved the grid)."""
    img = colin.slicer[:180:2, :216:2, :180:2]
    return nib.Nifti1Image(np.asarray(img.dataobj), img.affine)


@pytest.fixture(scope="module")
def reference_2mm(colin_2mm) -> WorkingImage:
    return resample_to_working_grid(heads.as_loaded_t1(colin_2mm), spacing_mm=2.0)


@pytest.fixture(scope="module")
def reference_1mm(colin) -> WorkingImage:
    return resample_to_working_grid(heads.as_loaded_t1(colin))


def assert_same_grid(grid: WorkingImage, reference: WorkingImage, max_data_diff: float):
    assert grid.data.shape == reference.data.shape
    assert np.array_equal(grid.origin_ras_mm, reference.origin_ras_mm)
    assert grid.spacing_mm == reference.spacing_mm
    assert np.max(np.abs(grid.data - reference.data)) <= max_data_diff


@pytest.mark.parametrize("perm, flips", ORIENTATIONS, ids=ORIENTATION_IDS)
def test_every_orientation_gives_the_same_grid_and_data(colin_2mm, reference_2mm, perm, flips):
    t1 = heads.as_loaded_t1(heads.reorient(colin_2mm, perm, flips).image)
    grid = resample_to_working_grid(t1, spacing_mm=2.0)
    assert_same_grid(grid, reference_2mm, max_data_diff=1e-3)


@pytest.mark.parametrize("perm, flips, axcodes", [
    ((0, 1, 2), (True, False, False), "LAS"),
    ((0, 2, 1), (True, True, False), "LIA"),   # FreeSurfer conformed
    ((1, 2, 0), (True, False, False), "PSR"),
    ((2, 1, 0), (True, True, True), "IPL"),
])
def test_scanner_orientations_at_full_resolution(colin, reference_1mm, perm, flips, axcodes):
    head = heads.reorient(colin, perm, flips)
    assert "".join(nib.aff2axcodes(head.image.affine)) == axcodes
    grid = resample_to_working_grid(heads.as_loaded_t1(head.image))
    assert_same_grid(grid, reference_1mm, max_data_diff=1e-3)


def test_working_grid_holds_the_input_values_at_the_same_world_points(colin, reference_1mm):
    # Colin27's voxels lie on integer mm, as do the 1 mm grid's: values must be equal
    grid = reference_1mm
    ijk = np.random.default_rng(0).integers(0, grid.data.shape, size=(5000, 3))
    world = coords.voxel_to_world(grid.affine, ijk)
    src = np.round(coords.world_to_voxel(colin.affine, world)).astype(int)
    inside = np.all((src >= 0) & (src < np.asarray(colin.shape)), axis=1)
    data = np.asarray(colin.dataobj, np.float32)
    assert np.array_equal(grid.data[tuple(ijk[inside].T)], data[tuple(src[inside].T)])
    assert np.all(grid.data[tuple(ijk[~inside].T)] == 0)
    assert np.array_equal(grid.sample(world[inside]), data[tuple(src[inside].T)])


@pytest.mark.parametrize("spacing_mm", [1.0, 2.0])
def test_grid_covers_the_head_with_margin_on_snapped_corners(colin, reference_1mm, spacing_mm):
    lo, hi = head_bounds_ras_mm(heads.as_loaded_t1(colin))
    grid = reference_1mm if spacing_mm == 1.0 else \
        resample_to_working_grid(heads.as_loaded_t1(colin), spacing_mm=spacing_mm)
    assert grid.spacing_mm == spacing_mm
    end = grid.origin_ras_mm + grid.spacing_mm * (np.asarray(grid.data.shape) - 1)
    assert np.all(grid.origin_ras_mm <= lo - HEAD_MARGIN_MM) and np.all(end >= hi + HEAD_MARGIN_MM)
    assert np.all(grid.origin_ras_mm > lo - HEAD_MARGIN_MM - grid.spacing_mm)
    assert np.all(end < hi + HEAD_MARGIN_MM + grid.spacing_mm)
    assert np.allclose(grid.origin_ras_mm / grid.spacing_mm, np.round(grid.origin_ras_mm / grid.spacing_mm))
    expected_affine = np.diag([spacing_mm] * 3 + [1.0])
    expected_affine[:3, 3] = grid.origin_ras_mm
    assert np.array_equal(grid.affine, expected_affine)


@pytest.mark.parametrize("haze", [0.0, 9.0, 10.0, 11.0])
def test_head_bounds_hold_the_voxels_brighter_than_a_tenth_of_the_robust_maximum(haze):
    """A 20-voxel cube of 100 in 40^3 voxels of air (the cube is 12.5 % of the volume, so the
    99.5th percentile is 100) with a faint patch in a corner: the patch widens the bounds
    only when it is brighter than 10 % of 100."""
    data = np.zeros((40, 40, 40), np.float32)
    data[10:30, 10:30, 10:30] = 100.0
    data[34:37, 2:5, 35:38] = haze
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = [-40.0, -50.0, -30.0]
    lo, hi = head_bounds_ras_mm(heads.as_loaded_t1(nib.Nifti1Image(data, affine)))
    if haze > 10.0:
        assert lo.tolist() == [-20.0, -46.0, -10.0] and hi.tolist() == [32.0, 8.0, 44.0]
    else:
        assert lo.tolist() == [-20.0, -30.0, -10.0] and hi.tolist() == [18.0, 8.0, 28.0]


def test_foreground_threshold_does_not_depend_on_voxel_order(colin_2mm):
    data = np.asarray(colin_2mm.dataobj, np.float32)
    reference = foreground_threshold(data)
    for flipped in (data[::-1], data[:, ::-1], data[:, :, ::-1], data.transpose(2, 0, 1)[::-1]):
        assert foreground_threshold(flipped) == reference


@pytest.mark.parametrize("seed", range(3))
def test_oblique_input_lands_where_the_ground_truth_map_says(colin_2mm, seed):
    """An obliquely moved head (affine only: rotation, shear, scaling, shift) resampled
    onto the (2 mm) working grid: the marker's world centroid moved as the map says."""
    marked, centre = heads.add_marker(colin_2mm, [-40.0, 30.0, 30.0])
    moved = heads.oblique_affine(marked, np.random.default_rng(seed))
    plain = heads.oblique_affine(colin_2mm, np.random.default_rng(seed))
    grid = resample_to_working_grid(heads.as_loaded_t1(moved.image), spacing_mm=2.0)
    grid_plain = resample_to_working_grid(heads.as_loaded_t1(plain.image), spacing_mm=2.0)
    assert np.array_equal(grid.origin_ras_mm, grid_plain.origin_ras_mm)
    found = heads.weighted_centroid_ras_mm(grid.data - grid_plain.data, grid.affine)
    expected = moved.original_to_new(centre)[0]
    assert np.linalg.norm(found - expected) < 0.5
    assert moved.new_to_original(found)[0, 0] < 0  # still the patient's left hemisphere


@pytest.mark.parametrize("seed", range(3))
def test_voxel_resampling_is_trilinear_interpolation_with_zero_outside(seed):
    rng = np.random.default_rng(seed)
    data = rng.uniform(0, 100, (23, 17, 29)).astype(np.float32)
    rotation, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    out_to_in = np.eye(4)
    out_to_in[:3, :3] = rotation @ np.diag(rng.uniform(0.6, 1.4, 3))
    out_to_in[:3, 3] = np.array(data.shape) / 2 - out_to_in[:3, :3] @ np.array([15.0, 15.0, 15.0])
    shape = (30, 31, 32)
    out = resample_voxels_linear(data, out_to_in, shape)
    assert out.dtype == np.float32 and out.shape == shape
    ijk = np.indices(shape).reshape(3, -1)
    src = out_to_in[:3, :3] @ ijk + out_to_in[:3, 3:]
    expected = ndimage.map_coordinates(data.astype(np.float64), src, order=1, mode="grid-constant").reshape(shape)
    upper = (np.array(data.shape) - 1)[:, None]
    border = np.any((src < 0) | (src > upper), axis=0) & np.all((src > -1) & (src < upper + 1), axis=0)
    outside = np.any((src <= -1) | (src >= upper + 1), axis=0)
    assert border.sum() > 100 and outside.sum() > 1000
    assert np.allclose(out, expected, atol=1e-3)
    assert np.all(out.reshape(-1)[outside] == 0)


def test_voxel_resampling_edge_rule_does_not_depend_on_the_axis_direction():
    data = np.arange(1.0, 5.0, dtype=np.float32)[:, None, None] * np.ones((1, 3, 3), np.float32)
    # output voxels at input indices -0.5, 0, ..., 3.5: half a voxel beyond each end
    out_to_in = np.eye(4)
    out_to_in[0, 0], out_to_in[0, 3] = 0.5, -0.5
    forward = resample_voxels_linear(data, out_to_in, (9, 3, 3))[:, 1, 1]
    flipped = resample_voxels_linear(data[::-1], out_to_in, (9, 3, 3))[:, 1, 1]
    assert np.allclose(forward, [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 2])
    assert np.allclose(flipped[::-1], forward)

# ---------------------------------------------------------------------- downsampled


def test_downsampled_keeps_world_positions_exactly_for_a_block_aligned_marker(reference_1mm):
    grid = reference_1mm.with_data(np.zeros_like(reference_1mm.data))
    data = grid.data.copy()
    data[60:64, 100:104, 120:124] = 1.0  # 4x4x4, aligned with the 2x2x2 blocks
    grid = grid.with_data(data)
    truth = grid.origin_ras_mm + grid.spacing_mm * np.array([61.5, 101.5, 121.5])
    assert np.allclose(heads.weighted_centroid_ras_mm(grid.data, grid.affine), truth)
    coarse = grid.downsampled(2)
    assert coarse.spacing_mm == 2.0
    assert np.allclose(heads.weighted_centroid_ras_mm(coarse.data, coarse.affine), truth, atol=1e-9)
    assert np.isclose(coarse.data.sum() * 8, grid.data.sum())


@pytest.fixture(scope="module")
def marked_grid(colin):
    """Working grid of Colin27 with a 7x7x7 marker at (-40, 30, 30) mm, and the marker's centre."""
    marked, centre = heads.add_marker(colin, [-40.0, 30.0, 30.0], half_width_vox=3)
    return resample_to_working_grid(heads.as_loaded_t1(marked)), centre


@pytest.mark.parametrize("factor", [2, 3])
def test_downsampled_keeps_a_head_markers_world_centroid(reference_1mm, marked_grid, factor):
    grid, centre = marked_grid
    plain = reference_1mm
    assert np.array_equal(grid.origin_ras_mm, plain.origin_ras_mm)
    coarse, coarse_plain = grid.downsampled(factor), plain.downsampled(factor)
    assert np.array_equal(coarse.origin_ras_mm, coarse_plain.origin_ras_mm)
    assert np.allclose(heads.weighted_centroid_ras_mm(grid.data - plain.data, grid.affine), centre, atol=1e-6)
    found = heads.weighted_centroid_ras_mm(coarse.data - coarse_plain.data, coarse.affine)
    # within a fraction of a coarse voxel (the blocks cut the 7-voxel cube unevenly);
    # a grid origin off by half a block would miss by 0.87 * (factor - 1) mm
    assert np.linalg.norm(found - centre) < 0.3 * factor
    # the whole head's intensity centroid does not move either
    fine_c = heads.weighted_centroid_ras_mm(plain.data, plain.affine, min_fraction=0.0)
    coarse_c = heads.weighted_centroid_ras_mm(coarse_plain.data, coarse_plain.affine, min_fraction=0.0)
    assert np.linalg.norm(fine_c - coarse_c) < 0.2


def test_to_ants_physical_points_are_lps_of_the_grid_points(reference_2mm):
    image = reference_2mm.to_ants()
    for ijk in [(0, 0, 0), (10, 20, 30), tuple(n - 1 for n in reference_2mm.data.shape)]:
        lps = np.asarray(ants.transform_index_to_physical_point(image, ijk))
        assert np.allclose(lps, coords.ras_to_lps(coords.voxel_to_world(reference_2mm.affine, ijk))[0])
    assert np.array_equal(image.numpy(), reference_2mm.data)


def test_to_nifti_round_trip(reference_2mm):
    img = reference_2mm.to_nifti()
    assert np.array_equal(img.affine, reference_2mm.affine)
    assert "".join(nib.aff2axcodes(img.affine)) == "RAS"


@pytest.mark.parametrize("spacing_mm", [0.5, 2.0, 3.0])
def test_sampling_a_coarse_or_fine_grid_reads_the_voxel_at_each_world_point(spacing_mm):
    # the working grid is 1 mm, where dividing by the spacing and multiplying by it agree
    rng = np.random.default_rng(7)
    data = rng.random((6, 7, 8)).astype(np.float32)
    grid = WorkingImage(data, np.array([-12.5, 30.0, 4.0]), spacing_mm)
    ijk = np.array([[0, 0, 0], [5, 6, 7], [2, 3, 4]])
    points = grid.origin_ras_mm + spacing_mm * ijk
    assert np.allclose(grid.sample(points), data[tuple(ijk.T)])
    assert np.allclose(grid.sample(points, order=0), data[tuple(ijk.T)])
    outside = grid.origin_ras_mm + spacing_mm * np.array([[-1.0, 0, 0], [6.0, 0, 0], [0, 0, 8.0]])
    assert np.array_equal(grid.sample(outside), [0.0, 0.0, 0.0])


@pytest.mark.parametrize("spacing_mm", [0.5, 2.0, 3.0])
def test_voxel_indices_and_boxes_keep_their_world_position(spacing_mm):
    data = np.arange(6 * 7 * 8, dtype=np.float32).reshape(6, 7, 8)
    grid = WorkingImage(data, np.array([-12.5, 30.0, 4.0]), spacing_mm)
    ijk = np.array([[0, 0, 0], [5, 6, 7], [2.5, 3, 4.25]])
    assert np.allclose(grid.world_ras_mm(ijk), coords.voxel_to_world(grid.affine, ijk))
    box = grid.box([1, 2, 3], [4, 7, 5])
    assert box.data.shape == (3, 5, 2) and box.spacing_mm == spacing_mm
    assert np.array_equal(box.data, data[1:4, 2:7, 3:5])
    assert np.array_equal(box.world_ras_mm([0, 0, 0]), grid.world_ras_mm([1, 2, 3]))
    points = grid.world_ras_mm([[1, 2, 3], [3, 6, 4], [2, 4, 3]])
    assert np.array_equal(box.sample(points, order=0), grid.sample(points, order=0))


def test_downsampling_twice_puts_each_block_mean_at_its_blocks_centre():
    data = np.arange(8 * 8 * 8, dtype=np.float32).reshape(8, 8, 8)
    grid = WorkingImage(data, np.array([-10.0, 20.0, 5.0]), 1.0)
    coarse = grid.downsampled(2).downsampled(2)  # 4 mm voxels of 4x4x4 blocks
    assert coarse.spacing_mm == 4.0
    assert np.allclose(coarse.origin_ras_mm, grid.origin_ras_mm + 1.5)
    # the value at a 4 mm voxel's centre is its block's mean, and linear data's mean is its
    # value at the block's centre: sampling the fine grid there gives the same
    centre = coarse.origin_ras_mm + 4.0 * np.array([1, 0, 1])
    assert np.allclose(coarse.sample(centre[None]), grid.sample(centre[None]))
