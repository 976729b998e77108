"""The corpus's bad DICOM archives and folders (see :mod:`make_bad_images`): empty,
ambiguous (two series, two echoes), unsafe (path traversal, forged log lines), broken
(bad CRC, encryption, unknown compression) or bombs (declared sizes and lengths)."""

from __future__ import annotations

import struct
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom

try:  # imported as tests.corpus.bad_archives or run from make_bad_images as a script
    from .crafted_zips import deflate_bomb_zip, patch_zip_sizes, zip_folder
    from .dicom_series import write_dicom_series
except ImportError:  # pragma: no cover - script use
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from crafted_zips import deflate_bomb_zip, patch_zip_sizes, zip_folder
    from dicom_series import write_dicom_series


def add_archive_cases(out: Path, tiny: nib.Nifti1Image, add: Callable[..., None], bomb_bytes: int) -> None:
    """Write the bad DICOM archives and folders into ``out`` and ``add`` each case.

    Parameters
    ----------
    out : Path
        The corpus folder (exists).
    tiny : nibabel.Nifti1Image
        A small real head the series are written from.
    add : callable
        ``add(name, path, expected, bomb=False)``, as :func:`make_bad_images.make_corpus` has it.
    bomb_bytes : int
        Uncompressed size of the decompression bombs.
    """
    write_dicom_series(tiny, out / "_no_pixels", with_pixels=False)
    add("dicom_zip_no_pixel_data", zip_folder(out / "_no_pixels", out / "dicom_no_pixels.zip"), "no pixel data")
    write_dicom_series(tiny, out / "_two/t1", series_number=3, description="T1 MPRAGE")
    write_dicom_series(tiny, out / "_two/t2", series_number=7, description="T2 TSE", orientation="sagittal")
    add("dicom_zip_two_series", zip_folder(out / "_two", out / "dicom_two_series.zip"), "2 image series")
    # a multi-echo MPRAGE saved with both echoes in one series: two images at each position
    echoes_uid, echoes_study = pydicom.uid.generate_uid(), pydicom.uid.generate_uid()
    for echo, scale in ((1, 1.0), (2, 0.7)):
        echo_img = nib.Nifti1Image((np.asanyarray(tiny.dataobj) * scale).astype(np.float32), tiny.affine)
        for path in write_dicom_series(echo_img, out / "dicom_two_echoes" / f"e{echo}", series_uid=echoes_uid,
                                       study_uid=echoes_study, prefix=f"E{echo}_"):
            ds = pydicom.dcmread(path)
            ds.EchoNumbers = echo
            ds.EchoTime = str(3 * echo)
            ds.save_as(path)
    add("dicom_two_echoes_one_series", out / "dicom_two_echoes",
        "holds 2 different images at the same slice position (echo numbers 1, 2; echo times (ms) 3, 6)")
    # headers declare 8 slices of 65535 x 65535 (34 billion voxels); the pixel data is tiny
    huge_series = out / "dicom_huge_rows_columns"
    for path in write_dicom_series(tiny, huge_series)[:8]:
        ds = pydicom.dcmread(path)
        ds.Rows = ds.Columns = 65535
        ds.save_as(path)
    for path in sorted(huge_series.glob("*.dcm"))[8:]:
        path.unlink()
    add("dicom_rows_columns_bomb", huge_series, "34,358,689,800 voxels", bomb=True)
    three = out / "dicom_three_slices"
    for path in write_dicom_series(tiny, three)[3:]:
        path.unlink()  # a localizer-like stub of 3 slices
    add("dicom_folder_three_slices", three, "could not be converted")

    with zipfile.ZipFile(out / "traversal.zip", "w") as archive:
        archive.writestr("series/IM0001.dcm", b"DICM")
        archive.writestr("../../etc/cron.d/navsvc", b"* * * * * root true\n")
    add("zip_path_traversal", out / "traversal.zip", "unsafe path")
    with zipfile.ZipFile(out / "absolute.zip", "w") as archive:
        archive.writestr("/tmp/navsvc-owned", b"x")
    add("zip_absolute_path", out / "absolute.zip", "unsafe path")
    with zipfile.ZipFile(out / "newline_name.zip", "w") as archive:
        archive.writestr("../x\nTraceback (most recent call last):\n", b"x")  # would forge log lines
    add("zip_name_with_newlines", out / "newline_name.zip", "unsafe path '../x?Traceback")

    # member declares 1 KiB but its deflate stream expands to bomb_bytes
    bomb = deflate_bomb_zip(out / "zip_bomb_lying.zip", "IM0001.dcm", bomb_bytes, declared=1024)
    add("zip_bomb_member_lies_about_size", bomb, "IM0001.dcm", bomb=True)
    huge = out / "zip_huge_declared.zip"
    with zipfile.ZipFile(huge, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("IM0001.dcm", b"tiny")
        archive.writestr("IM0002.dcm", b"tiny")
    for member in ("IM0001.dcm", "IM0002.dcm"):
        patch_zip_sizes(huge, member, file_size=0xFFFFFFFE)  # 4 GiB each, just below the Zip64 marker
    add("zip_huge_declared_size", huge, "would unpack to 8.0 GiB (limit 4 GiB)", bomb=True)
    corrupt_zip = out / "zip_bad_crc.zip"
    with zipfile.ZipFile(corrupt_zip, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("IM0001.dcm", b"DICM" + bytes(2000))
    raw = bytearray(corrupt_zip.read_bytes())
    raw[30 + len("IM0001.dcm") + 100] ^= 0xFF  # flip a stored data byte: CRC no longer matches
    corrupt_zip.write_bytes(bytes(raw))
    add("zip_member_bad_crc", corrupt_zip, "is corrupt or not what the archive declares (BadZipFile: Bad CRC-32")
    encrypted = out / "zip_encrypted.zip"
    with zipfile.ZipFile(encrypted, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("IM0001.dcm", b"\0" * 64)
    patch_zip_sizes(encrypted, "IM0001.dcm", flag_bits=0x1)
    add("zip_encrypted_member", encrypted, "is encrypted: zip the DICOM folder again without a password")
    odd_method = out / "zip_unknown_method.zip"
    with zipfile.ZipFile(odd_method, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("IM0001.dcm", b"\0" * 64)
    patch_zip_sizes(odd_method, "IM0001.dcm", method=99)
    add("zip_unsupported_compression", odd_method, "compression method 99")

    with zipfile.ZipFile(out / "empty.zip", "w"):
        pass
    add("empty_zip", out / "empty.zip", "no DICOM image series")
    no_dicom = out / "folder_without_dicom"
    (no_dicom / "sub").mkdir(parents=True, exist_ok=True)
    (no_dicom / "README.txt").write_text("exported by the PACS\n")
    (no_dicom / "sub" / "report.pdf").write_bytes(b"%PDF-1.4\n" + bytes(200))
    add("folder_without_dicom", no_dicom, "no DICOM image series")
    # begins like a bare data set (group 0008, read when forced) and declares a 2 GB value
    bare_bomb = out / "folder_with_bare_data_set_bomb"
    bare_bomb.mkdir(exist_ok=True)
    (bare_bomb / "IM0001").write_bytes(b"\x08\x00\x16\x00" + struct.pack("<I", 2**31 - 2) + b"1.2.840" * 10)
    add("folder_with_bare_data_set_bomb", bare_bomb, "no DICOM image series")
    # a Part 10 image header, then an element declaring a 2 GB value (the file is 1 kB)
    length_bomb = out / "dicom_element_length_bomb"
    header = write_dicom_series(tiny, length_bomb, with_pixels=False)[0]
    for extra in sorted(length_bomb.glob("*.dcm"))[1:]:
        extra.unlink()
    with header.open("ab") as handle:
        handle.write(b"\xe1\x7f\x10\x00UN\x00\x00" + struct.pack("<I", 2**31 - 2) + b"x" * 100)
    add("dicom_element_length_bomb", length_bomb, "1 of 1 files have no pixel data")
    add("empty_folder", _mkdir(out / "empty_folder"), "no DICOM image series")


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
