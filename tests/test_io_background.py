"""The air of every loaded T1 is put at zero intensity (navsvc.io.background).

The level is the 0.1th percentile, numpy's value bit for bit whatever the duplicates and
the voxel order (navsvc.percentiles, tested in tests/test_percentiles.py). Taking it away removes
an offset exactly and changes nothing else; both load paths (NIfTI and DICOM) apply it.
Padding outside the field of view, far below the air and bordered by it, is put at the air
level first; exact zeros just below quantized air (Colin27) and a background masked away
at the head (the ICBM template) are not padding.
The whole plan of a shifted and padded head: tests/test_pipeline_colin.py.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from navsvc.io.background import BACKGROUND_PERCENTILE, background_level, find_padding, put_background_at_zero
from navsvc.io.loader import load_t1
from navsvc.testing import heads
from corpus.dicom_series import write_dicom_series


def _numpys_level(data: np.ndarray) -> float:
    return float(np.percentile(data, BACKGROUND_PERCENTILE))


@pytest.fixture(scope="module")
def colin() -> np.ndarray:
    return heads.image_data(heads.load_colin27()).astype(np.float32)


def test_the_level_is_numpys_percentile(colin):
    rng = np.random.default_rng(3)
    wide = np.zeros((256, 256, 256), dtype=np.float32, order="F")  # 75 % exact zeros
    wide[37:218, 19:236, 37:218] = colin
    volumes = {"Colin27": colin, "in a 256^3 field of view": wide,
               "Rician air": colin + rng.rayleigh(4.0, colin.shape).astype(np.float32),
               "air at -1000": colin * np.float32(10.0) - np.float32(1000.0),
               "0.15 % zeros": np.where(rng.random(colin.shape) < 0.0015, 0.0, colin + 50.0).astype(np.float32)}
    for name, data in volumes.items():
        assert background_level(data) == _numpys_level(data), name


def test_the_level_is_the_same_in_every_voxel_order(colin):
    noisy = colin + np.random.default_rng(0).rayleigh(4.0, colin.shape).astype(np.float32)
    expected = _numpys_level(noisy)
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


@pytest.mark.parametrize("scale, offset", [(1.0, -20.0), (10.0, -1000.0), (10.0, 1000.0), (0.001, 5.0), (1.0, 1.0)])
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


def _padded(data: np.ndarray, padding: float) -> np.ndarray:
    img = nib.Nifti1Image(data, heads.load_colin27().affine)
    return heads.image_data(heads.pad_outside_field_of_view(img, padding).image).astype(np.float32)


@pytest.mark.parametrize("scale, offset, padding", [(1.0, 0.0, -1000.0), (10.0, 0.0, -1000.0),
                                                    (10.0, -1000.0, -32768.0), (1.0, 50.0, 0.0),
                                                    (1.0, 800.0, 700.0)])  # air far above zero: the span is bright - air
def test_padding_below_the_air_is_put_at_the_air_level(colin, scale, offset, padding):
    data = _padded(colin * np.float32(scale) + np.float32(offset), padding)
    corners = data == np.float32(padding)
    assert 0.07 < corners.mean() < 0.08
    found = find_padding(data)
    assert found is not None and np.array_equal(found.mask, corners)
    assert found.air_level == pytest.approx(offset)
    assert put_background_at_zero(data) == pytest.approx(offset)
    # Colin27's corners are air at exactly zero: the image is the unpadded one
    np.testing.assert_allclose(data, colin * np.float32(scale), atol=abs(offset) * 1e-6 + 1e-6)


def test_dead_voxels_below_the_padding_do_not_hide_it(colin):
    data = _padded(colin * np.float32(10.0), -1000.0)
    corners = data == np.float32(-1000.0)
    data[90, 100, 90] = -1e30  # the volume's minimum is now one voxel
    data[0, 0, 0] = -1e30  # in the padding
    corners[0, 0, 0] = False
    found = find_padding(data)
    assert found is not None and np.array_equal(found.mask, corners)


def test_padding_is_found_in_every_voxel_order(colin):
    data = _padded(colin * np.float32(10.0), -1000.0)
    corners = data == np.float32(-1000.0)
    for perm, flips in [((2, 0, 1), (0,)), ((1, 2, 0), (1, 2)), ((0, 2, 1), ())]:
        moved = np.transpose(data, perm)
        moved = np.flip(moved, axis=flips) if flips else moved
        expected = np.transpose(corners, perm)
        expected = np.flip(expected, axis=flips) if flips else expected
        assert np.array_equal(find_padding(np.ascontiguousarray(moved)).mask, expected)
    assert np.array_equal(find_padding(np.asfortranarray(data)).mask, corners)


def test_a_dicom_series_padded_with_zero_under_air_at_1000_loads_unpadded(tmp_path):
    # unsigned storage: the air lifted to 1000, the corners outside the field of view at 0
    small = heads.image_data(heads.load_colin27())[::3, ::3, ::3].astype(np.float32)
    img = nib.Nifti1Image(np.rint(small), heads.load_colin27().affine @ np.diag([3.0, 3.0, 3.0, 1.0]))
    stored = np.asarray(img.dataobj)
    padded = heads.pad_outside_field_of_view(nib.Nifti1Image(stored + 1000.0, img.affine), 0.0).image
    write_dicom_series(padded, tmp_path / "series", orientation=None)
    loaded = load_t1(tmp_path / "series")
    assert loaded.source_format == "dicom"
    np.testing.assert_allclose(loaded.data, stored, atol=1e-3)


def test_exact_zeros_below_quantized_air_are_not_padding(colin):
    # Colin27: 42 % of its voxels are exactly 0 and the rest of its air starts at 7
    assert find_padding(colin.copy()) is None


def test_a_background_masked_away_at_the_head_is_not_padding():
    # the ICBM template's exact zeros border its brain, not air at the darkest level of the rest
    icbm = heads.image_data(heads.load_icbm_template()).astype(np.float32)
    assert find_padding(icbm) is None
    data = icbm.copy()
    assert put_background_at_zero(data) == 0.0 and np.array_equal(data, icbm)


def test_too_little_or_too_shallow_padding_is_left_alone(colin):
    few = colin + np.float32(50.0)
    few[:10, :10, :10] = -1000.0  # 0.014 % of the voxels: cannot set the air level
    assert find_padding(few) is None
    # padding 100 below air at 0, a brain near 1000: as far below as Colin27's quantization
    assert find_padding(_padded(colin * np.float32(10.0), -100.0)) is None
