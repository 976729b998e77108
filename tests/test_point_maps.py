"""navsvc.point_maps refuses what it cannot do instead of doing something else."""

from __future__ import annotations

import numpy as np
import pytest

from navsvc.point_maps import sample_like_itk, transform_files


def test_sampling_is_trilinear_or_nearest_and_nothing_else():
    data = np.arange(27, dtype=np.float32).reshape(3, 3, 3)
    ijk = np.array([[0.5], [1.0], [1.0]])
    assert sample_like_itk(data, ijk, order=1)[0] == pytest.approx(8.5)  # between 4 and 13
    assert sample_like_itk(data, ijk, order=0)[0] == 13  # half rounds up
    with pytest.raises(ValueError, match="order must be 0"):
        sample_like_itk(data, ijk, order=3)


def test_transform_files_and_their_invert_flags_pair_one_to_one():
    assert list(transform_files(["a.mat", "b.nii.gz"], [True, False])) == [("a.mat", True, True),
                                                                          ("b.nii.gz", False, False)]
    with pytest.raises(ValueError):
        list(transform_files(["a.mat", "b.nii.gz"], [True]))
    with pytest.raises(ValueError, match="inverse-warp"):
        list(transform_files(["b.nii.gz"], [True]))


@pytest.mark.parametrize("order", [0, 1])
def test_sampling_reads_the_outer_half_voxel_and_nothing_beyond_as_itk_does(order):
    # ITK's buffer runs from index -0.5 (inside) to size - 0.5 (outside)
    data = np.arange(1, 28, dtype=np.float32).reshape(3, 3, 3)
    ijk = np.array([[-0.5, -0.5 - 1e-6, 2.5 - 1e-6, 2.5],
                    [1.0, 1.0, 1.0, 1.0],
                    [1.0, 1.0, 1.0, 1.0]])
    values = sample_like_itk(data, ijk, order=order)
    assert values.tolist() == [data[0, 1, 1], 0.0, data[2, 1, 1], 0.0]


def test_trilinear_sampling_of_integer_labels_keeps_the_fraction():
    labels = np.zeros((2, 2, 2), dtype=np.uint8)
    labels[1] = 1
    ijk = np.array([[0.25, 0.5], [0.0, 0.0], [0.0, 0.0]])
    trilinear = sample_like_itk(labels, ijk, order=1)
    assert trilinear.dtype == np.float32
    assert trilinear.tolist() == pytest.approx([0.25, 0.5])
    nearest = sample_like_itk(labels, ijk, order=0)
    assert nearest.dtype == np.uint8
    assert nearest.tolist() == [0, 1]  # half rounds up
