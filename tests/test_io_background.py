"""The air of every loaded T1 is put at zero intensity (navsvc.io.background).

The level is the 0.1th-percentile order statistic, found by counting below a threshold a
subsample proposes: it must equal the sorted volume's value exactly, whatever the
subsample, the duplicates and the voxel order. Taking it away removes
an offset exactly and changes nothing else; both load paths (NIfTI and DICOM) apply it.
The whole plan of a shifted head: tests/test_pipeline_colin.py.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from navsvc.io import background
from navsvc.io.background import BACKGROUND_PERCENTILE, background_level, put_background_at_zero
from navsvc.io.loader import load_t1
from navsvc.testing import heads
from corpus.dicom_series import write_dicom_series


def _kth_smallest(data: np.ndarray) -> float:
    flat = np.sort(data, axis=None)
    return float(flat[int(flat.size * BACKGROUND_PERCENTILE / 100.0)])


@pytest.fixture(scope="module")
def colin() -> np.ndarray:
    return heads.image_data(heads.load_colin27()).astype(np.float32)


def _volumes(rng: np.random.Generator) -> dict[str, np.ndarray]:
    shape = (37, 41, 29)
    integers = np.rint(rng.normal(100.0, 30.0, shape)).astype(np.float32)
    mostly_zero = np.where(rng.random(shape) < 0.6, 0.0, rng.random(shape) * 100).astype(np.float32)
    few_zeros = rng.normal(100.0, 30.0, shape).astype(np.float32)
    few_zeros.reshape(-1)[rng.choice(few_zeros.size, int(0.0015 * few_zeros.size), replace=False)] = 0.0
    padded = rng.rayleigh(2.0, shape).astype(np.float32)
    padded[:5] = -1000.0
    return {"normal": rng.normal(100.0, 30.0, shape).astype(np.float32), "integers": integers,
            "mostly zero": mostly_zero, "0.15 % zeros": few_zeros, "padded": padded,
            "constant but one": np.where(np.arange(np.prod(shape)).reshape(shape) == 7, 5.0, 1.0).astype(np.float32)}


@pytest.mark.parametrize("sample_voxels", [background.SAMPLE_VOXELS, 1000, 37, 3])
def test_the_level_is_the_exact_order_statistic_whatever_the_subsample(monkeypatch, sample_voxels):
    monkeypatch.setattr(background, "SAMPLE_VOXELS", sample_voxels)
    for name, data in _volumes(np.random.default_rng(sample_voxels)).items():
        assert background_level(data) == _kth_smallest(data), name


def test_the_level_is_the_same_in_every_voxel_order(colin):
    noisy = colin + np.random.default_rng(0).rayleigh(4.0, colin.shape).astype(np.float32)
    expected = _kth_smallest(noisy)
    assert expected > 0.0
    for perm in [(0, 1, 2), (2, 0, 1), (1, 2, 0)]:
        for flips in [(), (0,), (1, 2), (0, 1, 2)]:
            moved = np.flip(np.transpose(noisy, perm), axis=flips) if flips else np.transpose(noisy, perm)
            assert background_level(moved) == expected
    assert background_level(np.asfortranarray(noisy)) == expected


def test_rician_air_has_its_floor_taken_away(colin):
    noisy = heads.image_data(heads.add_rician_noise(heads.load_colin27(), np.random.default_rng(5), 0.12).image)
    data = noisy.astype(np.float32)
    level = put_background_at_zero(data)
    assert 0.0 < level < 0.1 * float(np.mean(noisy))  # the floor of Rayleigh noise, not an offset
    np.testing.assert_allclose(data, noisy.astype(np.float32) - np.float32(level), atol=1e-4)


def test_air_already_at_zero_is_left_as_it_was(colin):
    data = colin.copy()
    assert put_background_at_zero(data) == 0.0
    assert np.array_equal(data, colin)


@pytest.mark.parametrize("scale, offset", [(1.0, -20.0), (10.0, -1000.0), (10.0, 1000.0), (0.001, 5.0)])
def test_an_offset_is_taken_away_exactly(colin, scale, offset):
    data = colin * np.float32(scale) + np.float32(offset)
    assert put_background_at_zero(data) == pytest.approx(offset, rel=1e-6)
    np.testing.assert_allclose(data, colin * np.float32(scale), atol=abs(offset) * 1e-6 + 1e-6)


def test_voxels_below_the_level_stay_below_and_equal_voxels_stay_equal(colin):
    data = colin + np.random.default_rng(1).rayleigh(4.0, colin.shape).astype(np.float32) + np.float32(50.0)
    data[:6, :6, :6] = data.min()  # a small removed region, exactly the air's minimum
    data[100, 100, 100] = -300.0  # a ringing outlier below the air
    before = data.copy()
    level = put_background_at_zero(data)
    assert 50.0 < level < 60.0
    assert data[100, 100, 100] == np.float32(-300.0) - np.float32(level)
    assert np.unique(data[:6, :6, :6]).size == 1 and data[0, 0, 0] < 0.0
    order = np.argsort(before, axis=None)
    assert (np.diff(data.reshape(-1)[order]) >= 0).all()  # a shift: the intensities keep their order


def test_a_nifti_whose_air_lies_at_minus_1000_loads_with_its_air_at_zero(colin, tmp_path):
    affine = heads.load_colin27().affine
    nib.save(nib.Nifti1Image(colin * np.float32(10.0) - np.float32(1000.0), affine), str(tmp_path / "shifted.nii.gz"))
    loaded = load_t1(tmp_path / "shifted.nii.gz")
    np.testing.assert_allclose(loaded.data, colin * np.float32(10.0), atol=1e-3)


def test_a_dicom_series_stored_with_an_offset_loads_with_its_air_at_zero(tmp_path):
    img = nib.Nifti1Image(heads.image_data(heads.load_colin27())[::3, ::3, ::3].astype(np.float32),
                          heads.load_colin27().affine @ np.diag([3.0, 3.0, 3.0, 1.0]))
    stored = np.rint(np.asarray(img.dataobj))
    write_dicom_series(nib.Nifti1Image(stored + 1000.0, img.affine), tmp_path / "series", orientation=None)
    loaded = load_t1(tmp_path / "series")
    assert loaded.source_format == "dicom" and loaded.shape == stored.shape
    np.testing.assert_allclose(loaded.data, stored, atol=1e-3)
