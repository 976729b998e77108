"""The header checks made once nibabel has parsed a header and before any voxel is read
(:func:`navsvc.io.nifti.check_header`), at their boundaries: dimensions, the voxel limit,
voxel sizes (the affine's column norms, whatever the rotation) and the field of view."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from navsvc.coords import rotation_deg_to_matrix
from navsvc.errors import InputError
from navsvc.io.nifti import data_block_bytes, read_nifti_header
from test_io_raw_header import write_header


@pytest.mark.parametrize("shape", [(0, 217, 181), (181, 0, 181), (181, 217, 0)])
def test_a_zero_dimension_is_refused_as_such(tmp_path, shape):
    path = write_header(tmp_path / "head.nii", "nifti1", "<", shape=shape)
    with pytest.raises(InputError, match=rf"declares dimensions \({shape[0]}, {shape[1]}, {shape[2]}\): every "
                                         "dimension must be positive"):
        read_nifti_header(path)


def test_the_voxel_limit_is_inclusive(tmp_path):
    """2**28 voxels (0.5 mm voxels over 256 x 256 x 512 mm) are accepted from the header alone;
    one more slice is refused before any data is read."""
    at_limit = write_header(tmp_path / "at_limit.nii", "nifti1", "<", shape=(512, 512, 1024), pixdim=(0.5, 0.5, 0.5))
    assert read_nifti_header(at_limit).shape == (512, 512, 1024)
    past = write_header(tmp_path / "past.nii", "nifti1", "<", shape=(512, 512, 1025), pixdim=(0.5, 0.5, 0.5))
    with pytest.raises(InputError, match=r"declares \(512, 512, 1025\) = 268,697,600 voxels, more than a head T1 "
                                         r"needs \(limit 268,435,456\)"):
        read_nifti_header(past)


def _with_affine(path, shape, affine):
    """A header-only NIfTI-1 whose sform and qform are ``affine`` (pixdim its column norms)."""
    header = nib.Nifti1Header()
    header.set_data_shape(shape)
    header.set_sform(affine, code=1)
    header.set_qform(affine, code=1)
    header["vox_offset"] = 352
    path.write_bytes(header.binaryblock + bytes(4))
    return path


def test_voxel_sizes_are_the_affines_column_norms_under_any_rotation(tmp_path):
    """1 x 1 x 3.5 mm voxels turned 45 degrees about x: the rows of the affine have norms 1,
    2.6 and 2.6 mm (all accepted), its columns 1, 1 and 3.5 mm (3.5 refused)."""
    affine = np.eye(4)
    affine[:3, :3] = rotation_deg_to_matrix(45.0, 0.0, 0.0) @ np.diag([1.0, 1.0, 3.5])
    path = _with_affine(tmp_path / "thick.nii", (200, 200, 60), affine)
    with pytest.raises(InputError, match=r"has voxel sizes \[1.0, 1.0, 3.5\] mm; accepted 0.3-3.0 mm"):
        read_nifti_header(path)


@pytest.mark.parametrize("voxel_mm, n", [(0.3, 400), (3.0, 200), (0.5, 240)])
def test_the_voxel_size_and_field_of_view_limits_are_inclusive(tmp_path, voxel_mm, n):
    """0.3 and 3 mm voxels, and fields of view of exactly 600 and 120 mm, are accepted."""
    path = _with_affine(tmp_path / "edge.nii", (n, n, n), np.diag([voxel_mm, voxel_mm, voxel_mm, 1.0]))
    assert read_nifti_header(path).shape == (n, n, n)


@pytest.mark.parametrize("dtype, itemsize", [(np.uint8, 1), (np.int16, 2), (np.float32, 4), (np.float64, 8)])
def test_the_data_block_is_counted_in_bytes(dtype, itemsize):
    """The length a .nii.gz stream is checked to (and the de-identifier copies): voxels
    times bytes per voxel, a single volume of a 4-D header included."""
    header = nib.Nifti1Header()
    header.set_data_dtype(dtype)
    header.set_data_shape((10, 20, 30, 1))
    assert data_block_bytes(header) == 6000 * itemsize
