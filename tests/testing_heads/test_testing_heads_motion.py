"""The motion simulations of ``navsvc.testing.heads``: a ghost half the field of view away,
and the head moved during the k-space lines."""

from __future__ import annotations

import numpy as np
import pytest

from navsvc.testing import heads


def test_add_motion_ghost_adds_a_half_field_of_view_copy():
    img = heads.load_colin27()
    data = heads.image_data(img).astype(np.float32)
    ghosted = heads.add_motion_ghost(img, 0.2, axis=1)
    out = heads.image_data(ghosted.image)
    assert np.array_equal(ghosted.image.affine, img.affine)
    assert ghosted.original_to_new(np.array([[10.0, -20.0, 30.0]])).tolist() == [[10.0, -20.0, 30.0]]
    half = data.shape[1] // 2
    # a voxel half the field of view behind the head's brightest voxel gains a fifth of it
    i, j, k = np.unravel_index(np.argmax(data), data.shape)
    jj = (j + half) % data.shape[1]
    assert out[i, jj, k] == pytest.approx(data[i, jj, k] + 0.2 * data[i, j, k], rel=1e-5)
    # nothing is added along the other axes: the ghost of a line lies on the same line
    np.testing.assert_allclose(out.sum(axis=1), 1.2 * data.sum(axis=1), rtol=1e-4)
    np.testing.assert_array_equal(heads.image_data(heads.add_motion_ghost(img, 0.0).image), data)
    with pytest.raises(ValueError):
        heads.add_motion_ghost(img, 1.5)


def test_move_during_scan_shifts_each_line_by_its_displacement():
    img = heads.load_colin27()
    data = heads.image_data(img).astype(np.float64)
    n = img.shape[1]
    still = heads.image_data(heads.move_during_scan(img, 1, np.zeros(n)).image)
    np.testing.assert_allclose(still, data, atol=1e-3)
    # the head 3 mm forward (+y, Colin27's 1 mm voxel axis 1) for the whole scan: the image rolls 3 voxels
    shifted = heads.image_data(heads.move_during_scan(img, 1, np.full(n, 3.0)).image)
    np.testing.assert_allclose(shifted, np.roll(data, 3, axis=1), atol=1e-3)
    # moved for part of the scan: the image changes, but each line along the motion keeps its energy (Parseval)
    part = heads.image_data(heads.move_during_scan(img, 1, np.where(np.arange(n) % 4 == 0, 5.0, 0.0)).image)
    assert np.abs(part - data).max() > 0.05 * data.max()
    np.testing.assert_allclose((part ** 2).sum(axis=1), (data ** 2).sum(axis=1), rtol=1e-4)
    with pytest.raises(ValueError, match="one value per line"):
        heads.move_during_scan(img, 1, np.zeros(n - 1))
