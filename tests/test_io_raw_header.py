"""The raw header checks made before nibabel opens a file (:func:`navsvc.io.nifti.check_raw_header`),
on headers written field by field: NIfTI-1 and NIfTI-2, little- and big-endian, plain and gzip.

The corpus of bad images (``test_io_bad_input``) holds little-endian NIfTI-1 files; here each
field the check reads (dim, pixdim, vox_offset) is exercised in both layouts and byte orders,
so a field read at the wrong offset or in the wrong layout fails.
"""

from __future__ import annotations

import gzip

import nibabel as nib
import numpy as np
import pytest

from navsvc.coords import lps_to_ras
from navsvc.errors import InputError
from navsvc.io import limits
from navsvc.io.nifti import check_raw_header, read_nifti_header

HEADERS = {"nifti1": nib.Nifti1Header, "nifti2": nib.Nifti2Header}
LAYOUTS = [(kind, order) for kind in HEADERS for order in "<>"]
#: header bytes before the data of a file without extensions (header + the 4-byte extension flag)
HEADER_END = {"nifti1": 352, "nifti2": 544}


def write_header(path, kind: str, order: str, shape=(64, 64, 64), pixdim=(1.0, 1.0, 1.0, 1.0),
                 vox_offset: float | None = None, gz: bool = False, qfac: float = 1.0, qform_code: int = 1):
    """A single-file header (no data: the raw check reads the header only), field by field."""
    header = HEADERS[kind]()
    header.set_data_shape(shape)
    header["pixdim"][1:1 + len(pixdim)] = pixdim
    header["pixdim"][0] = qfac
    header["qform_code"] = qform_code
    header["vox_offset"] = HEADER_END[kind] if vox_offset is None else vox_offset
    if order != header.endianness:
        header = header.as_byteswapped(order)
    raw = header.binaryblock + bytes(4)
    path.write_bytes(gzip.compress(raw, mtime=0) if gz else raw)
    return path


@pytest.mark.parametrize("gz", [False, True], ids=["nii", "nii.gz"])
@pytest.mark.parametrize("kind, order", LAYOUTS)
def test_a_plain_header_passes_in_either_layout_and_byte_order(tmp_path, kind, order, gz):
    check_raw_header(write_header(tmp_path / "head.nii", kind, order, gz=gz))


@pytest.mark.parametrize("value", [-1.0, 0.0, np.nan, np.inf])
@pytest.mark.parametrize("axis", [1, 2, 3])
@pytest.mark.parametrize("kind, order", LAYOUTS)
def test_a_spatial_voxel_size_not_positive_and_finite_is_refused(tmp_path, kind, order, axis, value):
    pixdim = [1.0, 1.0, 1.0]
    pixdim[axis - 1] = value
    path = write_header(tmp_path / "head.nii", kind, order, pixdim=pixdim)
    with pytest.raises(InputError, match=r"declares voxel sizes \(pixdim\) \[") as info:
        check_raw_header(path)
    assert str(pixdim[axis - 1]) in str(info.value)


@pytest.mark.parametrize("kind, order", LAYOUTS)
def test_only_the_axes_dim_declares_spatial_are_checked(tmp_path, kind, order):
    """pixdim beyond the image's dimensions (a 2-D image's third, a 4-D image's time step) is
    not a voxel size: a reader of ``dim`` at the wrong place checks them anyway."""
    two_d = write_header(tmp_path / "slice.nii", kind, order, shape=(64, 64), pixdim=(1.0, 1.0, -1.0))
    check_raw_header(two_d)  # refused later as a 2-D image, not here
    timed = write_header(tmp_path / "timed.nii", kind, order, shape=(64, 64, 64, 1), pixdim=(1.0, 1.0, 1.0, -2.0))
    check_raw_header(timed)
    third = write_header(tmp_path / "head.nii", kind, order, shape=(64, 64, 64), pixdim=(1.0, 1.0, -1.0))
    with pytest.raises(InputError, match="pixdim"):
        check_raw_header(third)


@pytest.mark.parametrize("kind, order", LAYOUTS)
def test_header_extensions_are_accepted_up_to_the_limit(tmp_path, kind, order):
    limit = HEADER_END[kind] + limits.MAX_HEADER_EXTENSION_BYTES
    check_raw_header(write_header(tmp_path / "at_limit.nii", kind, order, vox_offset=limit))
    # NIfTI-1 stores vox_offset as float32, whose integers are 2 apart at 16 MiB
    past = limit + (2 if kind == "nifti1" else 1)
    path = write_header(tmp_path / "past_limit.nii", kind, order, vox_offset=past)
    with pytest.raises(InputError, match=f"declares {past:,} bytes of header and extensions before its image "
                                         f"data \\(limit {limit:,}\\)"):
        check_raw_header(path)


@pytest.mark.parametrize("value", [np.inf, np.nan])
def test_a_non_finite_nifti1_vox_offset_is_refused(tmp_path, value):
    path = write_header(tmp_path / "head.nii", "nifti1", "<", vox_offset=value)
    with pytest.raises(InputError, match="bytes of header and extensions"):
        check_raw_header(path)


def test_messages_name_the_file_or_the_name_given(tmp_path):
    path = write_header(tmp_path / "on_disk.nii", "nifti1", "<", pixdim=(1.0, -1.0, 1.0))
    with pytest.raises(InputError, match=r"^on_disk\.nii declares voxel sizes"):
        check_raw_header(path)
    with pytest.raises(InputError, match=r"^upload\.nii\.gz declares voxel sizes"):
        check_raw_header(path, "upload.nii.gz")
    with pytest.raises(InputError, match=r"^on_disk\.nii declares voxel sizes"):
        read_nifti_header(path)
    with pytest.raises(InputError, match=r"^upload\.nii\.gz declares voxel sizes"):
        read_nifti_header(path, "upload.nii.gz")
    empty = tmp_path / "zero.nii"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"^zero\.nii is empty \(0 bytes\)"):
        read_nifti_header(empty)
    with pytest.raises(InputError, match=r"^upload\.nii is empty \(0 bytes\)"):
        read_nifti_header(empty, "upload.nii")


def test_a_header_pair_or_a_short_file_is_not_a_single_file_nifti(tmp_path):
    for kind, magic in (("nifti1", b"ni1\0"), ("nifti2", b"ni2\0")):
        header = HEADERS[kind]()
        header["magic"] = magic
        path = tmp_path / f"{kind}.hdr.nii"
        path.write_bytes(header.binaryblock + bytes(4))
        with pytest.raises(InputError, match="no single-file NIfTI-1/NIfTI-2 header"):
            check_raw_header(path)
    short = tmp_path / "short.nii"
    short.write_bytes(nib.Nifti1Header().binaryblock)  # no extension flag: 348 bytes
    with pytest.raises(InputError, match="no single-file NIfTI-1/NIfTI-2 header"):
        check_raw_header(short)


@pytest.mark.parametrize("qfac", [-2.0, -0.5, -1e-3])
@pytest.mark.parametrize("kind, order", LAYOUTS)
def test_a_qfac_readers_disagree_on_is_refused_when_the_qform_is_used(tmp_path, kind, order, qfac):
    path = write_header(tmp_path / "head.nii", kind, order, qfac=qfac)
    with pytest.raises(InputError, match=rf"declares a qform with qfac \(pixdim\[0\]\) {qfac:g}, which programs "
                                         r"read differently .* so they would mirror its slices"):
        check_raw_header(path)
    check_raw_header(write_header(tmp_path / "unused.nii", kind, order, qfac=qfac, qform_code=0))  # no reader uses it


@pytest.mark.parametrize("qfac", [-1.0, 0.0, 0.5, 1.0, 2.0])
@pytest.mark.parametrize("kind, order", LAYOUTS)
def test_a_qfac_every_reader_takes_the_same_way_is_accepted(tmp_path, kind, order, qfac):
    check_raw_header(write_header(tmp_path / "head.nii", kind, order, qfac=qfac))


@pytest.mark.parametrize("qfac", [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
def test_where_the_check_accepts_a_qfac_nibabel_and_itk_agree_and_where_it_refuses_they_do_not(tmp_path, qfac):
    """The rule both ways, on a sagittal qform-only image whose slice axis runs left to right:
    a mirrored slice axis is a left/right flip."""
    from navsvc.antspy import ants

    sagittal = np.array([[0, 0, -1.0, 20], [1, 0, 0, -15], [0, 1, 0, -20], [0, 0, 0, 1]])
    img = nib.Nifti1Image(np.zeros((20, 30, 40), np.float32), None)
    img.set_qform(sagittal, code=1)
    img.set_sform(None, code=0)
    img.header["pixdim"][0] = qfac
    path = tmp_path / "sagittal.nii"
    path.write_bytes(img.header.binaryblock + bytes(4) + bytes(20 * 30 * 40 * 4))
    corners = np.array([[0, 0, 0], [19, 29, 39], [19, 0, 39]], float)
    by_nibabel = nib.affines.apply_affine(nib.load(path).affine, corners)
    itk = ants.image_read(str(path))
    by_itk = lps_to_ras(np.array([ants.transform_index_to_physical_point(itk, tuple(int(v) for v in c))
                                  for c in corners]))
    try:
        check_raw_header(path)
    except InputError:
        assert np.abs(by_nibabel - by_itk).max() > 10.0, qfac
    else:
        np.testing.assert_allclose(by_nibabel, by_itk, atol=1e-4)

