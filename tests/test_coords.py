"""navsvc.coords: RAS <-> LPS and voxel <-> world, under every voxel order and oblique affines."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from nibabel.affines import apply_affine as nib_apply_affine

from navsvc import coords
from navsvc.antspy import ants
from navsvc.testing import heads

ORIENTATIONS = list(heads.all_orientations())
ORIENTATION_IDS = [heads.orientation_label(p, f) for p, f in ORIENTATIONS]


@pytest.fixture(scope="module")
def small_image() -> nib.Nifti1Image:
    """A 6x7x8 image, 1.1x1.2x1.3 mm voxels, RAS, every voxel value distinct."""
    data = np.arange(6 * 7 * 8, dtype=np.float32).reshape(6, 7, 8)
    affine = np.diag([1.1, 1.2, 1.3, 1.0])
    affine[:3, 3] = [-3.0, 5.0, 20.0]
    return nib.Nifti1Image(data, affine)


def random_points_ras_mm(n=50, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-120.0, 120.0, size=(n, 3))


# --------------------------------------------------------------------- RAS <-> LPS


def test_ras_to_lps_negates_x_and_y():
    assert np.array_equal(coords.ras_to_lps([10.0, -20.0, 30.0]), [[-10.0, 20.0, 30.0]])
    assert np.array_equal(coords.lps_to_ras([[-10.0, 20.0, 30.0]]), [[10.0, -20.0, 30.0]])
    # the left hemisphere (x < 0 in RAS) is positive x in LPS
    assert coords.ras_to_lps([-40.0, 30.0, 30.0])[0, 0] == 40.0


def test_ras_lps_round_trip_and_shapes():
    pts = random_points_ras_mm()
    assert np.array_equal(coords.lps_to_ras(coords.ras_to_lps(pts)), pts)
    assert np.array_equal(coords.ras_to_lps(coords.ras_to_lps(pts)), pts)  # its own inverse
    assert coords.ras_to_lps([1.0, 2.0, 3.0]).shape == (1, 3)
    assert coords.ras_to_lps(pts).dtype == np.float64


def test_ras_lps_flip_is_the_itk_direction_of_a_ras_image():
    # ITK reads a RAS NIfTI with direction diag(-1, -1, 1): the same flip
    assert np.array_equal(np.diag(coords.RAS_LPS_FLIP), np.diag([-1.0, -1.0, 1.0]))


@pytest.mark.parametrize("bad", [np.zeros((4, 2)), np.zeros((2, 3, 3)), np.zeros(4)])
def test_as_points_rejects_wrong_shapes(bad):
    with pytest.raises(ValueError):
        coords.as_points(bad)


# ------------------------------------------------------------------ voxel <-> world


def test_apply_affine_matches_homogeneous_multiplication():
    rng = np.random.default_rng(1)
    affine = np.vstack([rng.normal(size=(3, 4)), [0, 0, 0, 1]])
    pts = random_points_ras_mm()
    homogeneous = (affine @ np.column_stack([pts, np.ones(len(pts))]).T).T[:, :3]
    assert np.allclose(coords.apply_affine(affine, pts), homogeneous)
    assert np.allclose(coords.apply_affine(affine, pts), nib_apply_affine(affine, pts))


def test_voxel_to_world_hand_example():
    affine = np.array([[-1.0, 0, 0, 90.0], [0, 0, 1.5, -126.0], [0, -2.0, 0, 72.0], [0, 0, 0, 1]])
    # i -> -x, k -> +y (1.5 mm), j -> -z (2 mm)
    assert np.allclose(coords.voxel_to_world(affine, [10, 4, 8]), [[80.0, -114.0, 64.0]])
    assert np.allclose(coords.world_to_voxel(affine, [80.0, -114.0, 64.0]), [[10.0, 4.0, 8.0]])


@pytest.mark.parametrize("perm, flips", ORIENTATIONS, ids=ORIENTATION_IDS)
def test_voxel_world_round_trip_under_every_orientation(small_image, perm, flips):
    head = heads.reorient(small_image, perm, flips)
    affine = head.image.affine
    data_old, data_new = np.asarray(small_image.dataobj), np.asarray(head.image.dataobj)
    ijk_new = np.argwhere(np.ones(data_new.shape, bool))
    world = coords.voxel_to_world(affine, ijk_new)
    # the world point of every voxel holds the same value in the original image
    ijk_old = coords.world_to_voxel(small_image.affine, world)
    assert np.allclose(ijk_old, np.round(ijk_old), atol=1e-9)
    ijk_old = np.round(ijk_old).astype(int)
    assert np.array_equal(data_new[tuple(ijk_new.T)], data_old[tuple(ijk_old.T)])
    # round trips
    assert np.allclose(coords.world_to_voxel(affine, world), ijk_new, atol=1e-9)
    pts = random_points_ras_mm()
    assert np.allclose(coords.voxel_to_world(affine, coords.world_to_voxel(affine, pts)), pts, atol=1e-9)


@pytest.mark.parametrize("seed", range(10))
def test_voxel_world_round_trip_under_oblique_affines(small_image, seed):
    head = heads.oblique_affine(small_image, np.random.default_rng(seed))
    affine = head.image.affine
    pts = random_points_ras_mm(seed=seed)
    ijk = coords.world_to_voxel(affine, pts)
    assert np.allclose(coords.voxel_to_world(affine, ijk), pts, atol=1e-9)
    # a voxel's world position moves exactly by the ground-truth world map
    ijk = np.random.default_rng(seed).uniform(0, 6, size=(20, 3))
    assert np.allclose(coords.voxel_to_world(affine, ijk),
                       head.original_to_new(coords.voxel_to_world(small_image.affine, ijk)), atol=1e-9)


ITK_CASES = ORIENTATIONS[::5] + [((0, 1, 2), (False, False, False))]


@pytest.mark.parametrize("perm, flips", ITK_CASES, ids=[heads.orientation_label(p, f) for p, f in ITK_CASES])
@pytest.mark.parametrize("rotation_deg", [(0.0, 0.0, 0.0), (20.0, -15.0, 30.0)], ids=["straight", "oblique"])
def test_itk_reads_the_same_points_as_lps(tmp_path, small_image, perm, flips, rotation_deg):
    """ANTs/ITK physical points of a NIfTI are our RAS world points with x and y negated."""
    head = heads.reorient(small_image, perm, flips).then(lambda im: heads.rigid(im, rotation_deg, (4.0, -7.0, 2.0)))
    img = nib.Nifti1Image(np.asarray(head.image.dataobj), head.image.affine)
    img.set_qform(head.image.affine, code=1)
    img.set_sform(head.image.affine, code=1)
    path = tmp_path / "img.nii.gz"
    nib.save(img, str(path))
    itk = ants.image_read(str(path))
    for ijk in [(0, 0, 0), (1, 2, 3), tuple(n - 1 for n in img.shape)]:
        lps = np.asarray(ants.transform_index_to_physical_point(itk, ijk))
        ras = coords.voxel_to_world(img.affine, ijk)
        assert np.allclose(coords.ras_to_lps(ras)[0], lps, atol=1e-4)
        assert np.allclose(coords.lps_to_ras(lps)[0], ras[0], atol=1e-4)


# ------------------------------------------------------------------ unit, rotations


def test_unit_normalises_and_refuses_zero():
    assert np.allclose(coords.unit([3.0, 0.0, 4.0]), [0.6, 0.0, 0.8])
    with pytest.raises(ValueError):
        coords.unit([0.0, 0.0, 0.0])


@pytest.mark.parametrize("angles, vector, expected", [
    ((0, 0, 90), [1, 0, 0], [0, 1, 0]),    # about z: x -> y (right-hand rule)
    ((90, 0, 0), [0, 1, 0], [0, 0, 1]),    # about x: y -> z
    ((0, 90, 0), [0, 0, 1], [1, 0, 0]),    # about y: z -> x
    ((90, 90, 0), [0, 1, 0], [1, 0, 0]),   # x first (y -> z), then y (z -> x)
    ((90, 0, 90), [0, 0, 1], [1, 0, 0]),   # x first (z -> -y), then z (-y -> x)
])
def test_rotation_deg_to_matrix_right_hand_rule_and_order(angles, vector, expected):
    rotation = coords.rotation_deg_to_matrix(*angles)
    assert np.allclose(rotation.T @ rotation, np.eye(3)) and np.isclose(np.linalg.det(rotation), 1.0)
    assert np.allclose(rotation @ np.asarray(vector, float), expected, atol=1e-12)


@pytest.mark.parametrize("rotation_deg, turn", [((0, 0, 30), 30.0), ((90, 0, 0), 90.0), ((0, 180, 0), 180.0),
                                                ((0, 0, 0), 0.0)])
def test_the_turn_of_a_linear_map_ignores_its_scaling_and_shear(rotation_deg, turn):
    stretch = np.array([[1.1, 0.08, 0.0], [0.0, 0.9, 0.05], [0.0, 0.0, 1.05]])  # scale and shear, no turn
    assert coords.turn_deg(coords.rotation_deg_to_matrix(*rotation_deg)) == pytest.approx(turn, abs=1e-6)
    assert coords.turn_deg(coords.rotation_deg_to_matrix(*rotation_deg) @ stretch) == pytest.approx(turn, abs=3.0)


def test_a_half_turn_about_any_axis_is_180_degrees_not_undefined():
    # rounding puts the cosine of a half turn a hair below -1 about many oblique axes; unclipped,
    # arccos gives NaN, and a head turned 180 degrees would escape the head-turn caution
    axes = np.random.default_rng(7).normal(size=(40, 3))
    for axis in axes / np.linalg.norm(axes, axis=1, keepdims=True):
        half_turn = 2.0 * np.outer(axis, axis) - np.eye(3)  # Rodrigues' formula at 180 degrees
        assert coords.turn_deg(half_turn) == pytest.approx(180.0, abs=1e-3)


def test_a_pure_stretch_turns_by_zero_degrees_not_undefined():
    # symmetric positive maps (scaling and shear with no turn): the cosine rounds a hair above 1
    # for many of them
    rng = np.random.default_rng(3)
    for _ in range(40):
        square_root = np.eye(3) + rng.normal(scale=0.1, size=(3, 3))
        assert coords.turn_deg(square_root.T @ square_root) == pytest.approx(0.0, abs=1e-3)
