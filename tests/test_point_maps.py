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
