"""De-identification of an uploaded NIfTI (:func:`navsvc.io.deidentify.deidentify_nifti`).

Every free-text header field and every extension carries a name here, in NIfTI-1 and NIfTI-2,
in both byte orders, plain and gzip: the stored copy must hold none of them, and must keep every
other header field and every voxel byte as uploaded, so that the stored image is geometrically
the validated one.
"""

from __future__ import annotations

import gzip

import nibabel as nib
import numpy as np
import pytest

from navsvc.errors import InputError
from navsvc.io.deidentify import deidentify_file, deidentify_nifti

IDENTIFYING = b"DOE^JANE"
#: fields that cannot hold a name: the magic string and NIfTI-1's one-byte "regular"
NOT_TEXT = ("magic", "regular")
KINDS = {"nifti1": (nib.Nifti1Image, nib.Nifti1Header), "nifti2": (nib.Nifti2Image, nib.Nifti2Header)}
LAYOUTS = [(kind, order) for kind in KINDS for order in "<>"]
SUFFIXES = [".nii", ".nii.gz"]


def text_fields(header) -> list[str]:
    """The header's free-text fields, found by their type (not taken from the code under test)."""
    return [name for name in header.keys() if header[name].dtype.kind == "S" and name not in NOT_TEXT]


def plain_bytes(path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


def identified_header(kind: str, order: str):
    """A header naming the patient in every text field it has and in two extensions."""
    image_class, header_class = KINDS[kind]
    rng = np.random.default_rng(3)
    data = rng.integers(-500, 3000, size=(7, 6, 5)).astype(np.int16)
    affine = np.array([[0.0, 0.0, -1.2, 80.0], [-0.9, 0.1, 0.0, 110.5],
                       [0.1, 0.95, 0.0, -70.25], [0.0, 0.0, 0.0, 1.0]])
    image = image_class(data, affine)
    header = image.header
    header.set_qform(affine, code=1)
    header.set_sform(affine, code=2)
    header.set_slope_inter(1.5, -3.0)
    header["cal_min"], header["cal_max"] = -10.0, 2000.0
    header["toffset"], header["slice_duration"] = 0.25, 0.05
    header.set_xyzt_units("mm", "sec")
    for field in text_fields(header):
        header[field] = (IDENTIFYING + b" " + field.encode())[:header[field].dtype.itemsize]
    if order != header.endianness:
        image = image_class(data, affine, header.as_byteswapped(order))
        image.update_header()
    # as_byteswapped copies no extensions, so they are added last
    image.header.extensions.append(nib.nifti1.Nifti1Extension("comment", b"PatientName=" + IDENTIFYING))
    image.header.extensions.append(nib.nifti1.Nifti1Extension(2, b"<AFNI_attributes>" + IDENTIFYING))
    return image, data


def small_header(kind: str, vox_offset: int):
    """Small int16 data and a bare header for them (no text, no extensions), written by hand."""
    data = np.arange(60, dtype=np.int16).reshape(5, 4, 3)
    header = KINDS[kind][1]()
    header.set_data_shape(data.shape)
    header.set_data_dtype(np.int16)
    header.set_qform(np.eye(4), code=1)
    header["vox_offset"] = vox_offset
    return data, header


def write_identified(path, kind: str, order: str):
    image, data = identified_header(kind, order)
    nib.save(image, path)
    assert IDENTIFYING in plain_bytes(path)
    return data


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("kind, order", LAYOUTS)
def test_every_text_field_and_extension_is_removed_and_everything_else_kept(tmp_path, kind, order, suffix):
    source, target = tmp_path / f"in{suffix}", tmp_path / f"out{suffix}"
    data = write_identified(source, kind, order)
    deidentify_nifti(source, target)

    assert IDENTIFYING not in plain_bytes(target)
    before, after = nib.load(source), nib.load(target)
    assert type(after.header) is type(before.header)
    assert after.header.endianness == before.header.endianness
    assert len(before.header.extensions) == 2 and len(after.header.extensions) == 0
    assert len(text_fields(before.header)) == {"nifti1": 5, "nifti2": 4}[kind]
    for field in before.header:
        if field in text_fields(before.header):
            assert not bytes(after.header[field]).strip(b"\x00"), field
        elif field != "vox_offset":
            is_float = before.header[field].dtype.kind == "f"
            assert np.array_equal(after.header[field], before.header[field], equal_nan=is_float), field
    assert after.dataobj.offset == after.header.single_vox_offset  # a loaded header says 0
    assert np.array_equal(after.affine, before.affine)
    assert np.array_equal(np.asarray(after.dataobj.get_unscaled()), data)
    assert np.array_equal(after.get_fdata(), before.get_fdata())


@pytest.mark.parametrize("kind, order", LAYOUTS)
def test_the_voxel_bytes_are_copied_unchanged(tmp_path, kind, order):
    source, target = tmp_path / "in.nii", tmp_path / "out.nii"
    write_identified(source, kind, order)
    deidentify_nifti(source, target)
    before_offset, after_offset = nib.load(source).dataobj.offset, nib.load(target).dataobj.offset
    assert after_offset < before_offset  # the extensions were between header and data
    assert target.read_bytes()[after_offset:] == source.read_bytes()[before_offset:]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_the_same_upload_gives_the_same_bytes(tmp_path, suffix):
    source = tmp_path / f"in{suffix}"
    write_identified(source, "nifti1", "<")
    deidentify_nifti(source, tmp_path / f"a{suffix}")
    deidentify_nifti(source, tmp_path / f"b{suffix}")
    assert (tmp_path / f"a{suffix}").read_bytes() == (tmp_path / f"b{suffix}").read_bytes()
    if suffix == ".nii.gz":
        raw = (tmp_path / f"a{suffix}").read_bytes()
        assert raw[:2] == b"\x1f\x8b" and raw[4:8] == bytes(4)  # gzip mtime fixed at 0
        assert not raw[3] & 0x08  # no FNAME field: a file name may be a patient's


@pytest.mark.parametrize("kind", KINDS)
def test_bytes_between_the_header_and_a_far_data_block_are_not_copied(tmp_path, kind):
    """A vox_offset past the extensions leaves a gap that no reader looks at; it may hold anything."""
    data, header = small_header(kind, vox_offset=2048)
    gap = 2048 - header.single_vox_offset
    source = tmp_path / "in.nii"
    source.write_bytes(header.binaryblock + bytes(4) + (IDENTIFYING * gap)[:gap] + data.tobytes("F"))
    target = tmp_path / "out.nii"
    deidentify_nifti(source, target)
    assert IDENTIFYING not in target.read_bytes()
    assert len(target.read_bytes()) == header.single_vox_offset + data.nbytes
    assert np.array_equal(np.asarray(nib.load(target).dataobj), data)


@pytest.mark.parametrize("kind", KINDS)
def test_a_vox_offset_of_zero_means_right_after_the_header(tmp_path, kind):
    """Some writers (nibabel among them) leave vox_offset 0: the data start after the header,
    not at byte 0, and the copy must not take header bytes for voxels."""
    data, header = small_header(kind, vox_offset=0)
    source, target = tmp_path / "in.nii", tmp_path / "out.nii"
    source.write_bytes(header.binaryblock + bytes(4) + data.tobytes("F"))
    deidentify_nifti(source, target)
    assert target.read_bytes()[header.single_vox_offset:] == data.tobytes("F")


@pytest.mark.parametrize("kind, order", LAYOUTS)
def test_a_header_nibabel_would_fix_is_stored_as_it_came(tmp_path, kind, order):
    """qfac (pixdim[0]) 0, which every reader takes for 1 and nibabel's header check rewrites:
    the stored header must be the uploaded one, byte for byte, so that no reader can place the
    image differently from the validated upload."""
    data, header = small_header(kind, vox_offset=0)
    header["vox_offset"] = header.single_vox_offset
    header["pixdim"][0] = 0.0
    header["pixdim"][1:4] = [1.2, 0.9, 3.0]
    if order != header.endianness:
        header = header.as_byteswapped(order)
    block = header.binaryblock
    source, target = tmp_path / "in.nii", tmp_path / "out.nii"
    source.write_bytes(block + bytes(4) + data.tobytes("F"))
    deidentify_nifti(source, target)
    assert target.read_bytes() == source.read_bytes()


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_truncated_data_block_is_refused_and_nothing_usable_is_left(tmp_path, suffix):
    full = tmp_path / "full.nii"
    write_identified(full, "nifti1", "<")
    raw = full.read_bytes()[:-17]
    source = tmp_path / f"cut{suffix}"
    source.write_bytes(gzip.compress(raw, mtime=0) if suffix.endswith(".gz") else raw)
    with pytest.raises(InputError, match="ends before its data block does: the file is truncated"):
        deidentify_nifti(source, tmp_path / f"out{suffix}")


def test_a_gzip_stream_cut_off_inside_the_data_is_refused_as_such(tmp_path):
    """The stream itself ends early (gzip raises EOFError), not the file it holds."""
    source = tmp_path / "in.nii.gz"
    write_identified(source, "nifti1", "<")
    source.write_bytes(source.read_bytes()[:-40])
    with pytest.raises(InputError, match=r"in.nii.gz is damaged or truncated: .* \(EOFError\)"):
        deidentify_nifti(source, tmp_path / "out.nii.gz")


@pytest.mark.parametrize("first4, expected", [
    (b"\x00\x00\x00\x00", "not a single-file NIfTI image"),
    ((348).to_bytes(4, "little"), "only single-file NIfTI is accepted"),
])
def test_what_is_not_a_single_file_nifti_is_refused(tmp_path, first4, expected):
    """A size field of neither 348 nor 540, or an analyse-style pair (.hdr/.img, magic ni1)."""
    header = nib.Nifti1Header()
    header["magic"] = b"ni1"
    source = tmp_path / "in.nii"
    source.write_bytes(first4 + header.binaryblock[4:] + bytes(4))
    with pytest.raises(InputError, match=expected):
        deidentify_nifti(source, tmp_path / "out.nii")


@pytest.mark.parametrize("name", ["in.nii", "in.NII.GZ"])
def test_deidentify_file_reads_a_nifti_by_its_suffix(tmp_path, name):
    source = tmp_path / name
    gz = name.lower().endswith(".gz")
    written = tmp_path / ("tmp.nii.gz" if gz else "tmp.nii")  # nibabel compresses by lower-case suffix
    write_identified(written, "nifti1", "<")
    written.rename(source)
    target = tmp_path / ("out.nii.gz" if gz else "out.nii")
    deidentify_file(source, target, series_uid=None)
    assert IDENTIFYING not in plain_bytes(target)
    assert (target.read_bytes()[:2] == b"\x1f\x8b") is gz
