"""The NIfTI data block read slab by slab gives the voxels nibabel reads whole, for every
slab boundary, scaling and file kind, and counts non-finite voxels in every slab."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from navsvc.errors import InputError
from navsvc.io import limits
from navsvc.io.nifti import read_nifti_data, read_nifti_header

SHAPE = (42, 44, 41)  # 2.95 mm voxels: the smallest field of view a head has


def _write(path, data, dtype, slope=None, inter=None):
    img = nib.Nifti1Image(data.astype(dtype), np.diag([2.95, 2.95, 2.95, 1.0]))
    if slope is not None:
        img.header.set_slope_inter(slope, inter)
    img.header.set_data_dtype(dtype)
    nib.save(img, path)
    return path


@pytest.mark.parametrize("slab_voxels", [1, 42 * 44, 42 * 44 * 5 + 7, 2**26])
@pytest.mark.parametrize(("dtype", "slope", "inter", "suffix", "volumes"), [
    (np.int16, 0.5, 10.0, ".nii.gz", 0),
    (np.float64, None, None, ".nii", 0),
    (np.uint8, None, None, ".nii.gz", 1),  # 4-D with one volume
])
def test_slabs_read_what_nibabel_reads_whole(tmp_path, monkeypatch, slab_voxels, dtype, slope, inter,
                                             suffix, volumes):
    monkeypatch.setattr(limits, "SLAB_VOXELS", slab_voxels)
    rng = np.random.default_rng(3)
    data = rng.integers(0, 200, SHAPE).astype(float)
    if volumes:
        data = data[..., None]
    path = _write(tmp_path / f"t1{suffix}", data, dtype, slope, inter)
    read = read_nifti_data(read_nifti_header(path), path.name)
    whole = np.asarray(nib.load(path).dataobj, dtype=np.float32).reshape(SHAPE)
    assert read.shape == SHAPE and read.dtype == np.float32
    np.testing.assert_array_equal(read, whole)


def test_non_finite_voxels_are_counted_across_slabs(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "SLAB_VOXELS", 42 * 44 * 4)
    data = np.ones(SHAPE)
    data[0, 0, 0], data[5, 5, 20], data[-1, -1, -1] = np.nan, np.inf, -np.inf
    path = _write(tmp_path / "t1.nii.gz", data, np.float32)
    with pytest.raises(InputError, match="contains 3 NaN/Inf voxels"):
        read_nifti_data(read_nifti_header(path), path.name)


def test_a_gzip_file_is_decompressed_once_whatever_the_number_of_slabs(tmp_path, monkeypatch, inflated_bytes):
    """Each slab continues where the last one ended (the file stays open): reopened, a .nii.gz
    would be decompressed from its start for every slab, 41 times here."""
    monkeypatch.setattr(limits, "SLAB_VOXELS", 42 * 44)
    path = _write(tmp_path / "t1.nii.gz", np.arange(np.prod(SHAPE)).reshape(SHAPE) % 200, np.uint8)
    read_nifti_data(read_nifti_header(path), path.name)
    assert inflated_bytes[0] < 1.5 * (np.prod(SHAPE) + 352)


class _RecordingBlock:
    """A data block that records the slabs read from it."""

    def __init__(self, block):
        self.block, self.slabs, self.shape = block, [], block.shape

    def __getitem__(self, key):
        slab = self.block[key]
        self.slabs.append(slab.shape)
        return slab


@pytest.mark.parametrize("slab_voxels", [41 * 60 // 2, 41 * 60, 41 * 60 * 5, 41 * 60 * 7 + 1, 2**26])
def test_each_slab_holds_at_most_the_slab_voxels_and_no_fewer_slices_than_fit(tmp_path, monkeypatch, slab_voxels):
    """Memory stays bounded: a slab holds at most SLAB_VOXELS voxels (one slice when a slice
    holds more), and as many whole slices as fit, so the block is read in the fewest slabs."""
    monkeypatch.setattr(limits, "SLAB_VOXELS", slab_voxels)
    shape = (41, 60, 50)  # 2.95 mm voxels: 121 mm across
    path = _write(tmp_path / "t1.nii", np.arange(np.prod(shape)).reshape(shape) % 200, np.uint8)
    img = read_nifti_header(path)
    recording = _RecordingBlock(img.dataobj)
    img._dataobj = recording
    read_nifti_data(img, path.name)
    slices_per_slab = max(1, slab_voxels // (41 * 60))
    assert [s[2] for s in recording.slabs[:-1]] == [slices_per_slab] * (len(recording.slabs) - 1)
    assert sum(s[2] for s in recording.slabs) == 50
    assert all(s[:2] == (41, 60) for s in recording.slabs)
