"""Reading one DICOM file (:func:`navsvc.io.dicom_read.read_dicom`), unit by unit: a Part 10
file or a bare data set, from a path or from memory, at its size limit and past it, and a
header-only read that leaves long values and the pixels unread.
"""

from __future__ import annotations

import io
import shutil
import tracemalloc

import pydicom
import pytest
from pydicom.errors import InvalidDicomError

from corpus.dicom_series import strip_part10_header, write_dicom_series
from corpus.make_bad_images import colin27
from navsvc.errors import InputError
from navsvc.io import limits
from navsvc.io.dicom_read import read_dicom


@pytest.fixture(scope="module")
def slice_paths(tmp_path_factory):
    """(a Part 10 slice, the same slice as a bare implicit-VR data set)."""
    folder = tmp_path_factory.mktemp("read")
    part10 = write_dicom_series(colin27(3), folder / "series", orientation="axial")[30]
    bare = folder / "bare.dcm"
    shutil.copy(part10, bare)
    strip_part10_header(bare)
    return part10, bare


@pytest.mark.parametrize("kind", ["part10", "bare"])
@pytest.mark.parametrize("how", ["path", "memory"])
def test_a_file_exactly_at_the_size_limit_is_read_and_one_byte_past_it_is_not(slice_paths, monkeypatch,
                                                                                     kind, how):
    path = slice_paths[0] if kind == "part10" else slice_paths[1]
    size = path.stat().st_size
    source = path if how == "path" else io.BytesIO(path.read_bytes())
    monkeypatch.setattr(limits, "MAX_DICOM_FILE_BYTES", size)
    ds = read_dicom(source)
    assert int(ds.Rows) > 0 and len(ds.PixelData) == int(ds.Rows) * int(ds.Columns) * 2
    monkeypatch.setattr(limits, "MAX_DICOM_FILE_BYTES", size - 1)
    if how == "memory" and kind == "part10":
        return  # a Part 10 file in memory was read whole already (a zip member, bounded on unpacking)
    # from a path, the size is checked first; in memory, a bare data set past it is not taken for one
    expected = InputError if how == "path" else InvalidDicomError
    with pytest.raises(expected):
        read_dicom(path if how == "path" else io.BytesIO(path.read_bytes()))


def test_a_bare_data_set_gets_the_file_meta_and_preamble_of_a_part10_file(slice_paths):
    part10, bare = (pydicom.dcmread(slice_paths[0]), read_dicom(slice_paths[1]))
    assert bare.file_meta.TransferSyntaxUID == pydicom.uid.ImplicitVRLittleEndian
    assert bare.file_meta.MediaStorageSOPClassUID == part10.SOPClassUID
    assert bare.file_meta.MediaStorageSOPInstanceUID == part10.SOPInstanceUID
    assert bare.preamble == b"\0" * 128
    written = io.BytesIO()
    bare.save_as(written, enforce_file_format=True)
    assert written.getvalue()[128:132] == b"DICM"


def test_a_bare_data_set_without_rows_is_not_an_image(slice_paths, tmp_path):
    """A forced read takes anything for DICOM: a SOP class alone does not make an image."""
    ds = pydicom.dcmread(slice_paths[1], force=True)
    del ds.Rows
    path = tmp_path / "no_rows.dcm"
    ds.save_as(path, implicit_vr=True, little_endian=True, enforce_file_format=False)
    with pytest.raises(InvalidDicomError):
        read_dicom(path)
    with pytest.raises(InvalidDicomError):
        read_dicom(io.BytesIO(path.read_bytes()))


def test_a_header_read_leaves_the_pixels_and_long_values_unread(slice_paths, tmp_path):
    """A private value of 32 MiB before the pixels (as vendors store raw data) is not loaded by a
    header-only read, nor are the pixels."""
    ds = pydicom.dcmread(slice_paths[0])
    block = ds.private_block(0x0029, "ACME RAW", create=True)
    block.add_new(0x10, "OB", bytes(32 * 2**20))
    path = tmp_path / "with_raw.dcm"
    ds.save_as(path, enforce_file_format=True)
    tracemalloc.start()
    try:
        header = read_dicom(path, stop_before_pixels=True)
        peak_bytes = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "PixelData" not in header and int(header.Rows) == int(ds.Rows)
    assert peak_bytes < 4 * 2**20, f"{peak_bytes:,} bytes to read a header"
