"""Images read at native points through a point map (navsvc.sampling), against values that
follow from the voxel grid: a linear ramp, which trilinear interpolation reads exactly."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from navsvc.coords import voxel_to_world
from navsvc.sampling import MappedImage, grid_sampler, same_points

SHAPE = (12, 14, 10)
#: stored right to left and oblique: 2 mm voxels turned 20 degrees about z, x flipped
TURN = np.deg2rad(20.0)
AFFINE = np.array([[-2.0 * np.cos(TURN), -2.0 * np.sin(TURN), 0.0, 30.0],
                   [-2.0 * np.sin(TURN), 2.0 * np.cos(TURN), 0.0, -40.0],
                   [0.0, 0.0, 2.0, -15.0],
                   [0.0, 0.0, 0.0, 1.0]])
#: the point map's source space lies this far from native space, mm
SHIFT_MM = np.array([5.0, -3.0, 7.5])


def _ramp(ijk):
    i, j, k = np.asarray(ijk, dtype=float).T
    return 1.0 + 2.0 * i + 3.0 * j + 5.0 * k


def _ramp_image(dtype=np.float64) -> nib.Nifti1Image:
    data = _ramp(np.indices(SHAPE).reshape(3, -1).T).reshape(SHAPE).astype(dtype)
    return nib.Nifti1Image(data, AFFINE)


def _native_points_at(ijk) -> np.ndarray:
    """Native points that the point map carries to source-space voxel indices ``ijk``."""
    return voxel_to_world(AFFINE, np.asarray(ijk, dtype=float)) - SHIFT_MM


def _to_source(points_ras_mm):
    return np.asarray(points_ras_mm) + SHIFT_MM


INSIDE_IJK = np.array([[3.25, 4.4, 2.75], [0.0, 0.0, 0.0], [10.9, 12.1, 8.6], [5.6, 6.45, 4.3]])


def test_a_loaded_image_is_read_through_the_point_map_trilinearly(tmp_path):
    nib.save(_ramp_image(np.int16), tmp_path / "ramp.nii.gz")
    image = MappedImage.load(tmp_path / "ramp.nii.gz", _to_source)
    assert image.order == 1 and image.data.dtype == np.float32
    values = image(_native_points_at(INSIDE_IJK))
    assert values.dtype == np.float32 and values == pytest.approx(_ramp(INSIDE_IJK), abs=1e-4)


def test_labels_are_read_at_the_nearest_voxel_and_keep_their_type(tmp_path):
    nib.save(_ramp_image(np.int16), tmp_path / "labels.nii.gz")
    labels = MappedImage.load(tmp_path / "labels.nii.gz", _to_source, order=0)
    assert labels.data.dtype == np.int16
    values = labels(_native_points_at(INSIDE_IJK))
    assert values.dtype == np.int16
    assert values.tolist() == _ramp(np.round(INSIDE_IJK)).tolist()  # 3.25 -> 3, 10.9 -> 11


def test_left_and_right_are_the_images_own():
    # the array's first axis runs right to left: a point 10 mm further left reads a higher i
    image = grid_sampler(_ramp_image())
    centre_ijk = np.array([[5.0, 7.0, 5.0]])
    centre = voxel_to_world(AFFINE, centre_ijk)[0]
    left = centre + [-10.0, 0.0, 0.0]
    i_left = np.linalg.solve(AFFINE[:3, :3], left - AFFINE[:3, 3])
    assert i_left[0] > centre_ijk[0, 0]
    assert image(left[None])[0] == pytest.approx(_ramp(i_left[None])[0], abs=1e-4)


def test_outside_the_image_is_zero_and_no_points_give_no_values():
    image = grid_sampler(_ramp_image())
    far = voxel_to_world(AFFINE, np.array([[-3.0, 5.0, 5.0], [5.0, 5.0, 12.0]]))
    assert image(far).tolist() == [0.0, 0.0]
    empty = image(np.zeros((0, 3)))
    assert empty.shape == (0,) and empty.dtype == np.float32


def test_an_image_already_in_native_space_is_read_without_a_map():
    ramp = _ramp_image(np.int16)
    linear, nearest = grid_sampler(ramp), grid_sampler(ramp, order=0)
    assert linear.to_source is same_points and linear.order == 1 and linear.data.dtype == np.float32
    assert nearest.order == 0 and nearest.data.dtype == np.int16
    points = voxel_to_world(AFFINE, INSIDE_IJK)
    assert linear(points) == pytest.approx(_ramp(INSIDE_IJK), abs=1e-4)
    assert nearest(points).tolist() == _ramp(np.round(INSIDE_IJK)).tolist()
    assert same_points(points) is points
    assert MappedImage(linear.data, AFFINE, same_points).order == 1  # trilinear unless asked
