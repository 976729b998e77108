"""The ground-truth head transformations (navsvc.testing.heads) map points correctly.

Method: bright markers at known world points of the real Colin27 head must be found, after a
transformation, where its point map says (head_markers.py). The tissue and intensity
changes: test_testing_heads_tissue.py.
"""

from __future__ import annotations

import itertools

import nibabel as nib
import numpy as np
import pytest

from head_markers import (MARKER_TOLERANCE_MM, assert_maps_are_inverse, bright_blob_centroids_ras_mm,
                          marker_centroids_ras_mm)

from navsvc.coords import apply_affine, voxel_to_world, world_to_voxel
from navsvc.testing import heads


# --------------------------------------------------------------------------- sources


def test_colin27_is_a_full_head_in_ras():
    img = heads.load_colin27()
    assert img.shape == (181, 217, 181)
    assert nib.aff2axcodes(img.affine) == ("R", "A", "S")
    assert np.allclose(np.sqrt((img.affine[:3, :3] ** 2).sum(axis=0)), 1.0)


def test_icbm_template_loads():
    img = heads.load_icbm_template()
    assert img.ndim == 3 and nib.aff2axcodes(img.affine) == ("R", "A", "S")


def test_as_loaded_t1_keeps_data_and_affine(colin):
    t1 = heads.as_loaded_t1(colin)
    assert t1.data.dtype == np.float32 and t1.shape == colin.shape
    assert np.array_equal(t1.affine, colin.affine)
    assert np.array_equal(t1.data, np.asarray(colin.dataobj, np.float32))


def test_add_marker_puts_the_cube_at_the_nearest_voxel(colin):
    img, centre = heads.add_marker(colin, [-40.3, 30.2, 29.6])
    assert np.allclose(centre, [-40.0, 30.0, 30.0])
    diff = np.asarray(img.dataobj, np.float64) - np.asarray(colin.dataobj, np.float64)
    assert np.count_nonzero(diff) == 27
    assert np.allclose(heads.weighted_centroid_ras_mm(diff, img.affine), centre)


# ------------------------------------------------------------------- orientations


def test_all_orientations_are_the_48_distinct_ones(colin):
    orientations = list(heads.all_orientations())
    assert len(orientations) == 48 == len(set(orientations))
    assert orientations[0] == ((0, 1, 2), (False, False, False))
    codes = {heads.reorient(colin, p, f).parameters["axcodes"] for p, f in orientations}
    assert len(codes) == 48  # every axis-code triple (RAS, LAS, LIA, PSR, ...) once


def test_reorient_rejects_a_non_permutation(colin):
    with pytest.raises(ValueError):
        heads.reorient(colin, (0, 0, 1), (False, False, False))


@pytest.mark.parametrize("perm, flips", list(heads.all_orientations()),
                         ids=[heads.orientation_label(p, f) for p, f in heads.all_orientations()])
def test_reorient_keeps_every_voxel_at_its_world_point(marked, perm, flips):
    img, centres = marked
    head = heads.reorient(img, perm, flips)
    new = head.image
    old_data, new_data = np.asarray(img.dataobj), np.asarray(new.dataobj)
    assert sorted(new.shape) == sorted(img.shape)
    assert new.shape == tuple(img.shape[p] for p in perm)
    # new voxel index -> old voxel index is a signed permutation with integer offsets
    new_to_old = np.linalg.inv(img.affine) @ new.affine
    assert np.allclose(new_to_old, np.round(new_to_old), atol=1e-9)
    assert np.allclose(np.abs(new_to_old[:3, :3]).sum(axis=0), 1.0)
    # the voxel value at the same world point is identical (random voxels + the corners)
    rng = np.random.default_rng(7)
    ijk_new = rng.integers(0, new.shape, size=(4000, 3))
    ijk_new = np.vstack([ijk_new, list(itertools.product(*[(0, n - 1) for n in new.shape]))])
    world = voxel_to_world(new.affine, ijk_new)
    ijk_old = np.round(world_to_voxel(img.affine, world)).astype(int)
    assert np.allclose(world, voxel_to_world(img.affine, ijk_old), atol=1e-6)
    assert np.array_equal(new_data[tuple(ijk_new.T)], old_data[tuple(ijk_old.T)])
    # identity world map; the left-hemisphere marker is where it was, at negative x
    assert np.allclose(head.original_to_new(centres), centres)
    left = bright_blob_centroids_ras_mm(new, centres[0])[0]
    assert np.allclose(left, centres[0], atol=1e-6)
    assert left[0] < 0


# ---------------------------------------------------------------- affine-only moves


def test_rigid_matches_a_hand_computed_point(colin):
    head = heads.rigid(colin, rotation_deg=(0, 0, 90), translation_mm=(10, 0, 0), centre_ras_mm=(0, 0, 0))
    # about z by +90 deg: (x, y) -> (-y, x); then +10 mm in x
    assert np.allclose(head.original_to_new([-40.0, 30.0, 30.0]), [[-20.0, -40.0, 30.0]])
    assert np.allclose(head.world_affine[:3, :3], [[0, -1, 0], [1, 0, 0], [0, 0, 1]], atol=1e-12)


@pytest.mark.parametrize("rotation_deg, translation_mm", [
    ((30.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
    ((-25.0, 18.0, 30.0), (30.0, -30.0, 12.0)),
    ((12.0, -30.0, -8.0), (-17.0, 25.0, -30.0)),
])
def test_rigid_moves_markers_by_the_known_matrix(marked, rotation_deg, translation_mm):
    img, centres = marked
    head = heads.rigid(img, rotation_deg, translation_mm)
    assert np.array_equal(np.asarray(head.image.dataobj), np.asarray(img.dataobj))  # no resampling
    linear = head.world_affine[:3, :3]
    assert np.allclose(linear.T @ linear, np.eye(3), atol=1e-12) and np.isclose(np.linalg.det(linear), 1.0)
    found = bright_blob_centroids_ras_mm(head.image, head.original_to_new(centres))
    assert np.max(np.linalg.norm(found - head.original_to_new(centres), axis=1)) < 1e-6
    # the head really moved (by up to the translation plus the rotation about the grid centre)
    if np.any(translation_mm):
        assert np.min(np.linalg.norm(found - centres, axis=1)) > 5.0
    assert_maps_are_inverse(head, centres)


@pytest.mark.parametrize("seed", range(5))
def test_oblique_affine_moves_markers_by_the_known_matrix(marked, seed):
    img, centres = marked
    head = heads.oblique_affine(img, np.random.default_rng(seed))
    assert np.array_equal(np.asarray(head.image.dataobj), np.asarray(img.dataobj))
    assert np.allclose(head.image.affine, head.world_affine @ img.affine)
    # bounded parameters: singular values of the linear part within scale and shear limits
    singular = np.linalg.svd(head.world_affine[:3, :3], compute_uv=False)
    assert 0.8 < singular.min() and singular.max() < 1.25
    for key, bound in (("rotation_deg", 30.0), ("translation_mm", 30.0)):
        assert np.all(np.abs(head.parameters[key]) <= bound)
    assert np.all(np.abs(np.asarray(head.parameters["scales"]) - 1.0) <= 0.10)
    assert np.all(np.abs(head.parameters["shears"]) <= 0.10)
    found = bright_blob_centroids_ras_mm(head.image, head.original_to_new(centres))
    assert np.allclose(found, head.original_to_new(centres), atol=1e-6)
    assert_maps_are_inverse(head, centres)


def test_oblique_affine_is_reproducible_from_the_seed(colin):
    first = heads.oblique_affine(colin, np.random.default_rng(3))
    second = heads.oblique_affine(colin, np.random.default_rng(3))
    assert np.array_equal(first.world_affine, second.world_affine)


# -------------------------------------------------------------------- resampling


def test_resample_gives_the_voxel_size_and_keeps_markers_in_place(colin, marked):
    img, centres = marked
    head = heads.resample(img, (1.2, 1.2, 1.5))
    plain = heads.resample(colin, (1.2, 1.2, 1.5))
    new = head.image
    assert np.allclose(np.sqrt((new.affine[:3, :3] ** 2).sum(axis=0)), [1.2, 1.2, 1.5])
    assert nib.aff2axcodes(new.affine) == nib.aff2axcodes(img.affine)
    # the new grid covers the old field of view, edge to edge
    old_edges = voxel_to_world(img.affine, [[-0.5] * 3, np.asarray(img.shape) - 0.5])
    new_edges = voxel_to_world(new.affine, [[-0.5] * 3, np.asarray(new.shape) - 0.5])
    assert np.allclose(new_edges[0], old_edges[0]) and np.all(new_edges[1] >= old_edges[1] - 1e-9)
    found = marker_centroids_ras_mm(new, plain.image, centres)
    assert np.max(np.linalg.norm(found - centres, axis=1)) < MARKER_TOLERANCE_MM
    assert np.allclose(head.original_to_new(centres), centres)
    # intensities are preserved on average (mean inside the head within 2 %)
    old_data, new_data = np.asarray(colin.dataobj, float), np.asarray(plain.image.dataobj, float)
    assert abs(new_data[new_data > 30].mean() / old_data[old_data > 30].mean() - 1.0) < 0.02


def test_widen_field_of_view_keeps_every_voxel_at_its_world_point(colin):
    # an odd extra count along the first axis: the odd voxel goes after the data
    head = heads.widen_field_of_view(colin, (colin.shape[0] + 21, colin.shape[1] + 40, colin.shape[2]))
    new = head.image
    old_data, new_data = np.asarray(colin.dataobj), np.asarray(new.dataobj)
    assert new_data.shape == (colin.shape[0] + 21, colin.shape[1] + 40, colin.shape[2])
    assert new_data.dtype == old_data.dtype
    ijk_old = np.array([[0, 0, 0], [90, 108, 90], np.asarray(colin.shape) - 1])
    world = voxel_to_world(colin.affine, ijk_old)
    ijk_new = np.rint(world_to_voxel(new.affine, world)).astype(int)
    assert np.array_equal(ijk_new - ijk_old, [[10, 20, 0]] * 3)
    assert np.array_equal(new_data[ijk_new[:, 0], ijk_new[:, 1], ijk_new[:, 2]],
                          old_data[ijk_old[:, 0], ijk_old[:, 1], ijk_old[:, 2]])
    # the data block is all of the old data; around it, zeros only
    assert np.array_equal(new_data[10:10 + colin.shape[0], 20:20 + colin.shape[1]], old_data)
    assert new_data.sum(dtype=np.float64) == old_data.sum(dtype=np.float64)
    assert np.allclose(head.original_to_new(world), world)
    with pytest.raises(ValueError, match="at least"):
        heads.widen_field_of_view(colin, (colin.shape[0] - 1, colin.shape[1], colin.shape[2]))


def test_then_composes_point_maps(colin, marked):
    img, centres = marked
    def move(im):
        return heads.rigid(im, (10.0, -20.0, 5.0), (5.0, 10.0, -15.0))
    def coarse(im):
        return heads.resample(im, (1.5, 1.5, 1.5))
    head = move(img).then(coarse)
    plain = move(colin).then(coarse)
    expected = head.original_to_new(centres)
    assert np.allclose(expected, apply_affine(move(img).world_affine, centres))
    found = marker_centroids_ras_mm(head.image, plain.image, expected)
    assert np.max(np.linalg.norm(found - expected, axis=1)) < MARKER_TOLERANCE_MM
    assert_maps_are_inverse(head, centres)


# -------------------------------------------------------------------- smooth warp


@pytest.fixture(scope="module")
def warped(colin, marked):
    img, centres = marked
    head = heads.smooth_warp(img, np.random.default_rng(11), amplitude_mm=4.0, wavelength_mm=60.0)
    plain = heads.smooth_warp(colin, np.random.default_rng(11), amplitude_mm=4.0, wavelength_mm=60.0)
    return head, plain, centres


def test_smooth_warp_moves_markers_where_its_point_map_says(warped):
    head, plain, centres = warped
    expected = head.original_to_new(centres)
    moved_mm = np.linalg.norm(expected - centres, axis=1)
    assert moved_mm.max() > 2.0  # the markers really moved
    found = marker_centroids_ras_mm(head.image, plain.image, expected)
    errors = np.linalg.norm(found - expected, axis=1)
    assert errors.max() < MARKER_TOLERANCE_MM, (errors, moved_mm)
    # the wrong direction (u added instead of inverted) would miss by about twice the move
    wrong = head.new_to_original(centres)
    assert np.all(np.linalg.norm(found - wrong, axis=1) > errors)


def test_smooth_warp_map_inverts_and_reaches_its_amplitude(warped):
    head, _, centres = warped
    rng = np.random.default_rng(0)
    points = np.vstack([centres, rng.uniform(-80, 80, size=(200, 3))])
    assert_maps_are_inverse(head, points, tol_mm=1e-5)
    q = rng.uniform(-80, 80, size=(200, 3))
    assert np.max(np.linalg.norm(head.original_to_new(head.new_to_original(q)) - q, axis=1)) < 1e-5
    assert head.parameters["max_displacement_mm"] >= 4.0
    assert head.world_affine is None


def test_smooth_warp_refuses_a_folding_amplitude(colin):
    with pytest.raises(ValueError, match="fold"):
        heads.smooth_warp(colin, np.random.default_rng(0), amplitude_mm=10.0, wavelength_mm=60.0)
