"""Hot and dead voxels are clipped on loading (navsvc.io.outliers).

The bright level is the 99.9th percentile (numpy's, in every voxel order); intensities
beyond three times it, on either side of the air at zero, are clipped to it, and an image
without such voxels (every real head here) is left exactly as it was. The whole plan of a
head with a voxel at 1e30, which ended in an internal error before: tests/test_pipeline_colin.py.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from navsvc.errors import InputError
from navsvc.io.loader import load_t1
from navsvc.io.outliers import BRIGHT_PERCENTILE, OUTLIER_FACTOR, bright_level, clip_intensity_outliers
from navsvc.testing import heads
from navsvc.testing.cases import accuracy_case


@pytest.fixture(scope="module")
def colin() -> np.ndarray:
    return heads.image_data(heads.load_colin27()).astype(np.float32)


def test_the_bright_level_is_numpys_percentile_in_every_voxel_order(colin):
    noisy = colin + np.random.default_rng(0).rayleigh(4.0, colin.shape).astype(np.float32)
    expected = float(np.percentile(noisy, BRIGHT_PERCENTILE))
    for moved in [noisy, np.asfortranarray(noisy), np.transpose(noisy, (2, 0, 1)), np.flip(noisy, axis=(0, 2))]:
        assert bright_level(moved) == expected


@pytest.mark.parametrize("name", ["colin", "icbm", "all: warp + bias + noise + resample + oblique",
                                  "resampled 1.2x1.2x1.5 mm + rigid", "colin in intensities under 0.3"])
def test_a_real_head_is_left_exactly_as_it_was(colin, name):
    if name == "colin":
        data = colin.copy()
    elif name == "colin in intensities under 0.3":  # a normalised image: the bright level is under 1
        data = colin * np.float32(0.001)
    elif name == "icbm":
        data = heads.image_data(heads.load_icbm_template()).astype(np.float32)
    else:
        data = heads.image_data(accuracy_case(name, heads.load_colin27()).image).astype(np.float32)
    before = data.copy()
    assert clip_intensity_outliers(data) == 0
    assert np.array_equal(data, before)


@pytest.mark.parametrize("count, value", [(1, 1e30), (100, 1e6), (5000, 5e3), (100, -1e6), (1, -1e30)])
def test_hot_and_dead_voxels_are_clipped_and_nothing_else_changes(colin, count, value):
    data = colin.copy()
    where = np.random.default_rng(count).choice(data.size, count, replace=False)
    data.reshape(-1)[where] = value
    ceiling = np.float32(OUTLIER_FACTOR * bright_level(data))
    assert 2.5 * 215 < ceiling < 3.5 * 215  # Colin27's bright level is about 215, the outliers aside
    assert clip_intensity_outliers(data) == count
    assert np.all(data.reshape(-1)[where] == np.copysign(ceiling, value))
    untouched = np.ones(data.size, dtype=bool)
    untouched[where] = False
    assert np.array_equal(data.reshape(-1)[untouched], colin.reshape(-1)[untouched])


def test_a_nifti_with_a_voxel_at_1e30_loads_clipped(colin, tmp_path):
    data = colin.copy()
    data[90, 100, 90] = 1e30
    nib.save(nib.Nifti1Image(data, heads.load_colin27().affine), str(tmp_path / "hot.nii.gz"))
    loaded = load_t1(tmp_path / "hot.nii.gz")
    assert loaded.data[90, 100, 90] == pytest.approx(OUTLIER_FACTOR * bright_level(loaded.data), rel=1e-6)
    loaded.data[90, 100, 90] = colin[90, 100, 90]
    assert np.array_equal(loaded.data, colin)


def test_an_image_with_almost_nothing_above_the_air_is_refused_unchanged():
    """Fewer than 0.1 % of the voxels above the air: refused, naming the count; 0.2 %: clipped."""
    data = np.zeros((50, 60, 50), np.float32)
    data.reshape(-1)[:100] = 200.0  # 0.067 % of the voxels
    data[25, 30, 25] = 1e30
    before = data.copy()
    with pytest.raises(InputError, match=r"^t1\.nii is nearly empty: 101 of its 150,000 voxels \(0\.0673 %\)"):
        clip_intensity_outliers(data, "t1.nii")
    assert np.array_equal(data, before)
    data.reshape(-1)[:300] = 200.0  # 0.2 %: the bright level is 200
    assert clip_intensity_outliers(data) == 1 and data[25, 30, 25] == np.float32(OUTLIER_FACTOR * 200.0)
