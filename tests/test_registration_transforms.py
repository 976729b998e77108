"""The registration's in-memory point and image maps agree with ANTs' file-based tools.

:class:`navsvc.registration_maps.Registration` reads its transform files once and maps points
and images with in-memory ANTs transforms; ANTs' ``apply_transforms_to_points`` and
``apply_transforms`` (which read the files on every call) are the reference, on a tilted
affine plus a smooth displacement field, in both directions.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial.transform import Rotation

from navsvc import templates
from navsvc.antspy import ants
from navsvc.grid import WorkingImage
from navsvc.errors import InputError
from navsvc.patient_brain import BRAIN_MASK_DILATION_VOXELS, patient_brain
from navsvc.registration_maps import HeadAlignment, Registration
from navsvc.registration_grid import load_fixed_images
from navsvc.registration_checks import HANDEDNESS_CHECK_MNI_MM, require_handedness
from navsvc.testing.ants_reference import ants_points_ras_mm


def _write_linear(path, matrix, translation_lps_mm=(0.0, 0.0, 0.0)) -> str:
    """Write an ITK affine transform (``matrix @ p + translation``, LPS mm) to ``path``."""
    tx = ants.create_ants_transform(transform_type="AffineTransform", dimension=3, matrix=np.asarray(matrix, float),
                                    translation=tuple(translation_lps_mm))
    ants.write_transform(tx, str(path))
    return str(path)


def _write_affine(path, rotation_deg: float, translation_lps_mm) -> str:
    angle = np.deg2rad(rotation_deg)
    matrix = np.array([[np.cos(angle), -np.sin(angle), 0.0], [np.sin(angle), np.cos(angle), 0.0], [0.0, 0.0, 1.02]])
    return _write_linear(path, matrix, translation_lps_mm)


def _write_field(path, displacement_lps_mm) -> str:
    """Write a displacement field on a 4 mm grid covering the head: ``displacement_lps_mm(x, y, z)``
    gives the (..., 3) displacement at the grid's ITK (LPS) points, mm."""
    shape, spacing, origin = (48, 56, 48), 4.0, (-96.0, -120.0, -80.0)
    ijk = np.indices(shape).astype(np.float64)
    field = displacement_lps_mm(*(origin[a] + spacing * ijk[a] for a in range(3)))
    image = ants.from_numpy(field.astype(np.float32), origin=origin, spacing=(spacing,) * 3, has_components=True)
    ants.image_write(image, str(path))
    return str(path)


def _write_warp(path, amplitude_mm: float) -> str:
    return _write_field(path, lambda x, y, z: np.stack(
        [amplitude_mm * np.sin(2 * np.pi * along / 90.0) for along in (y, z, x)], axis=-1))


def _write_left_fold(path) -> str:
    """A displacement along x alone, -30 mm · u · exp(-|p - c|² / 2σ²) with u = (x - c_x) / σ,
    σ = 10 mm, about ITK point c = (40, 0, 25) (LPS: MNI (-40, 0, 25), a handedness check
    point): its slope -3 at c folds space there and leaves the right hemisphere alone."""
    sigma_mm = 10.0

    def fold(x, y, z):
        bump = np.exp(-((x - 40.0) ** 2 + y**2 + (z - 25.0) ** 2) / (2 * sigma_mm**2))
        field = np.zeros(x.shape + (3,))
        field[..., 0] = -30.0 * (x - 40.0) / sigma_mm * bump
        return field

    return _write_field(path, fold)


@pytest.fixture(scope="module")
def registration(tmp_path_factory) -> Registration:
    folder = tmp_path_factory.mktemp("transforms")
    head = _write_affine(folder / "head.mat", 12.0, (4.0, -7.0, 3.0))
    brain = _write_affine(folder / "brain.mat", -8.0, (-2.0, 5.0, 1.0))
    warp = _write_warp(folder / "warp.nii.gz", 3.0)
    inverse = _write_warp(folder / "inverse.nii.gz", -2.5)  # need not be the exact inverse here
    return Registration(head_affine=head, to_mni=(warp, brain), from_mni=(brain, inverse),
                        from_mni_invert=(True, False), quality_correlation=1.0)


# inside the warp fields, within a voxel of their edges (ITK's half-voxel border) and outside
POINTS_RAS_MM = np.vstack([
    np.random.default_rng(7).uniform(-70.0, 70.0, (400, 3)),
    np.random.default_rng(8).uniform(-140.0, 140.0, (400, 3)),
])


def test_mni_to_native_points_match_ants(registration):
    expected = ants_points_ras_mm(POINTS_RAS_MM, registration.to_mni, (False, False))
    assert np.abs(registration.mni_to_native(POINTS_RAS_MM) - expected).max() < 1e-4


def test_native_to_mni_points_match_ants(registration):
    expected = ants_points_ras_mm(POINTS_RAS_MM, registration.from_mni, registration.from_mni_invert)
    assert np.abs(registration.native_to_mni(POINTS_RAS_MM) - expected).max() < 1e-4


def test_colin_to_native_points_match_ants(registration):
    expected = ants_points_ras_mm(POINTS_RAS_MM, (registration.head_affine,), (False,))
    assert np.abs(registration.colin_to_native(POINTS_RAS_MM) - expected).max() < 1e-4


def test_native_to_colin_points_match_ants(registration):
    expected = ants_points_ras_mm(POINTS_RAS_MM, (registration.head_affine,), (True,))
    assert np.abs(registration.native_to_colin(POINTS_RAS_MM) - expected).max() < 1e-4


def test_points_near_the_field_edges_match_ants(registration):
    """Points just inside and just outside the half-voxel border of the warp's grid."""
    field = ants.image_read(registration.to_mni[0])
    lower = np.asarray(field.origin)
    upper = lower + (np.asarray(field.shape) - 1) * np.asarray(field.spacing)
    offsets = np.array([-2.5, -2.1, -1.9, -0.1, 0.0, 0.1, 1.9, 2.1, 2.5])
    near_lps = np.array([[lower[0] + o, 3.0, 7.0] for o in offsets] + [[1.0, upper[1] + o, -5.0] for o in offsets])
    # lps -> ras for the first map in the chain being the warp (to_mni = warp, then affine)
    near_ras = near_lps * np.array([-1.0, -1.0, 1.0])
    expected = ants_points_ras_mm(near_ras, registration.to_mni, (False, False))
    assert np.abs(registration.mni_to_native(near_ras) - expected).max() < 1e-4


def test_a_single_point_keeps_the_n_by_3_shape(registration):
    assert registration.mni_to_native([1.0, 2.0, 3.0]).shape == (1, 3)


def _moving_image() -> ants.ANTsImage:
    """A left-right asymmetric image (LPS physical space, 2 mm voxels)."""
    ijk = np.indices((80, 96, 80)).astype(np.float32)
    values = ijk[0] * 3.0 + np.sin(ijk[1] / 5.0) * 20.0 + ijk[2]
    return ants.from_numpy(values, origin=(-80.0, -100.0, -70.0), spacing=(2.0, 2.0, 2.0))


@pytest.mark.parametrize("nearest", [False, True])
def test_images_resampled_into_native_match_ants(registration, nearest):
    grid = WorkingImage(np.zeros((40, 44, 36), dtype=np.float32), np.array([-60.0, -70.0, -40.0]), 3.0)
    moving = _moving_image()
    interpolator = "nearestNeighbor" if nearest else "linear"
    for mine, files, invert in (
        (registration.mni_image_to_native, registration.from_mni, registration.from_mni_invert),
        (registration.colin_image_to_native, (registration.head_affine,), (True,)),
    ):
        expected = ants.apply_transforms(fixed=grid.to_ants(), moving=moving, transformlist=list(files),
                                         whichtoinvert=list(invert), interpolator=interpolator).numpy()
        got = mine(moving, grid, nearest=nearest)
        assert got.shape == expected.shape
        inside = expected != 0
        assert inside.mean() > 0.3
        if nearest:
            assert np.mean(got[inside] == expected[inside]) > 0.999
        else:
            assert np.abs(got - expected).max() < 1e-2


@pytest.mark.parametrize("turn_deg", [0.0, 30.0, 120.0])
def test_the_heads_turn_from_upright_is_the_rotation_of_the_head_affine(tmp_path, turn_deg):
    # an oblique axis, unequal scaling and a shift: only the rotation counts
    axis = np.array([1.0, -2.0, 0.5]) / np.linalg.norm([1.0, -2.0, 0.5])
    rotation = Rotation.from_rotvec(np.deg2rad(turn_deg) * axis).as_matrix()
    affine = _write_linear(tmp_path / "head.mat", rotation @ np.diag([1.1, 0.95, 1.05]), (20.0, -10.0, 35.0))
    assert HeadAlignment(affine).turn_from_upright_deg() == pytest.approx(turn_deg, abs=1e-4)


def test_a_registration_that_keeps_handedness_passes(registration):
    """Rotations, a 2 % stretch and a smooth 3 mm warp keep every check point's handedness."""
    determinants = registration.jacobian_determinant_from_mni(HANDEDNESS_CHECK_MNI_MM)
    assert np.all((determinants > 0.8) & (determinants < 1.25))
    require_handedness(registration)


def test_a_mirrored_or_folding_registration_is_refused(registration, tmp_path):
    """A brain affine that swaps left and right, or a warp that folds space (its 40 mm sinusoid
    has slope 2.8 at a 90 mm wavelength), is refused naming what it does."""
    mirror = _write_linear(tmp_path / "mirror.mat", np.diag([-1.0, 1.0, 1.0]))
    mirrored = dataclasses.replace(registration, to_mni=(registration.to_mni[0], mirror))
    assert np.all(mirrored.jacobian_determinant_from_mni(HANDEDNESS_CHECK_MNI_MM) < 0)
    with pytest.raises(InputError, match="mirrors the head"):
        require_handedness(mirrored)
    folding = dataclasses.replace(registration, to_mni=(_write_warp(tmp_path / "fold.nii.gz", 40.0),
                                                        registration.to_mni[1]))
    with pytest.raises(InputError, match="folds the head"):
        require_handedness(folding)


def test_a_registration_that_shrinks_the_head_keeps_handedness(registration, tmp_path):
    """A head smaller than the template (local volume ratio under 1 everywhere) is not a
    mirror or a fold."""
    shrunk = dataclasses.replace(registration, to_mni=(registration.to_mni[0],
                                                       _write_linear(tmp_path / "shrink.mat", 0.9 * np.eye(3))))
    determinants = shrunk.jacobian_determinant_from_mni(HANDEDNESS_CHECK_MNI_MM)
    assert np.all((determinants > 0.6) & (determinants < 0.9))
    require_handedness(shrunk)


def test_a_fold_in_the_left_hemisphere_alone_is_refused(tmp_path):
    """The check points cover both hemispheres: a fold on the left, in a head smaller than the
    template (every other point's volume ratio under 1), is refused as a fold, not a mirror."""
    folding = Registration(head_affine=_write_linear(tmp_path / "head.mat", np.eye(3)),
                           to_mni=(_write_left_fold(tmp_path / "fold.nii.gz"),
                                   _write_linear(tmp_path / "shrink.mat", 0.9 * np.eye(3))),
                           from_mni=(_write_linear(tmp_path / "brain.mat", 0.9 * np.eye(3)),),
                           from_mni_invert=(True,), quality_correlation=1.0)
    points = np.array(HANDEDNESS_CHECK_MNI_MM)
    determinants = folding.jacobian_determinant_from_mni(points)
    assert np.all(determinants[points[:, 0] > -40.0] > 0.6) and np.all(determinants <= 1.0)
    assert determinants.min() < 0.0
    with pytest.raises(InputError, match=r"folds the head \(local volume ratio -\d\.\d\d at MNI \[-40\.0, 0\.0, 25\.0\]"):
        require_handedness(folding)


def test_a_head_affine_that_puts_the_brain_outside_the_image_is_refused(tmp_path):
    # a noise or phantom volume can pull the head stage anywhere: say "not a head T1", not
    # fail on an empty mask
    path = _write_linear(tmp_path / "away.mat", np.eye(3), (600.0, 0.0, 0.0))
    with pytest.raises(InputError, match="placed the brain outside the image"):
        patient_brain(_moving_image(), path)


def test_the_patient_brain_is_a_box_of_the_head_grid_holding_the_whole_carried_mask(tmp_path):
    # the brain stage registers a crop of the 2 mm head grid: it must be the same physical
    # space (a point keeps its position) and hold every voxel of the carried brain mask
    colin = load_fixed_images()[0]
    identity = _write_linear(tmp_path / "identity.mat", np.eye(3))
    brain = patient_brain(colin, identity).image
    assert brain.spacing == colin.spacing
    assert np.allclose(brain.direction, colin.direction)
    offset_voxels = (np.linalg.inv(np.asarray(colin.direction)) @ (np.asarray(brain.origin) - np.asarray(colin.origin))
                     / np.asarray(colin.spacing))
    assert np.allclose(offset_voxels, np.round(offset_voxels)) and (offset_voxels >= 0).all()
    assert all(b < c for b, c in zip(brain.shape, colin.shape))  # a crop, not the whole grid
    lo = np.round(offset_voxels).astype(int)
    in_head_grid = np.zeros(colin.shape, dtype=bool)
    in_head_grid[tuple(slice(a, a + n) for a, n in zip(lo, brain.shape))] = brain.numpy() > 0
    carried = ants.apply_transforms(fixed=colin, moving=ants.image_read(str(templates.COLIN_BRAIN_MASK)),
                                    transformlist=[identity], interpolator="nearestNeighbor").numpy() > 0
    assert in_head_grid[carried].mean() > 0.99  # N4 keeps the brain's intensities positive
    assert not in_head_grid[~ndimage.binary_dilation(carried, iterations=BRAIN_MASK_DILATION_VOXELS)].any()
