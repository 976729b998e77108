"""Write a corpus of bad T1 uploads made from the real Colin27 head.

Every file is something a clinic workstation, a careless user or a malicious client
could upload: truncated and corrupt files, files that are not images, headers that
lie (dimensions that need absurd memory, bad voxel sizes, singular affines), data
that holds no image, decompression bombs, and DICOM archives that are empty,
ambiguous, unsafe or broken. Each case carries the words the refusal message must
contain, so a test can check that the message names the problem.

Run as a script to write the corpus into a folder::

    python tests/corpus/make_bad_images.py OUT_DIR

or import :func:`make_corpus`.
"""

from __future__ import annotations

import gzip
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

try:  # imported as tests.corpus.make_bad_images or run as a script
    from .bad_archives import add_archive_cases
    from .crafted_nifti import header_only_nifti1, nifti1_header, raw_nifti2, zero_gzip_members
except ImportError:  # pragma: no cover - script use
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bad_archives import add_archive_cases
    from crafted_nifti import header_only_nifti1, nifti1_header, raw_nifti2, zero_gzip_members

REPO = Path(__file__).resolve().parents[2]
#: the real head every case starts from (Colin27, 1 mm, 181 x 217 x 181, uint8)
COLIN = REPO / "atlases" / "colin27_head.nii.gz"

#: uncompressed size of the decompression bombs (they compress to ~1/1000 of it)
BOMB_BYTES = 512 * 2**20


@dataclass(frozen=True)
class BadCase:
    """One bad upload.

    Attributes
    ----------
    name : str
        Short identifier (used as the pytest id).
    path : Path
        The file or folder to give to ``load_t1``.
    expected : str
        Case-insensitive substring the :class:`~navsvc.errors.InputError` message must contain.
    bomb : bool
        True when a careless reader would allocate memory driven by a lying
        header or archive (the test bounds the peak memory of these).
    """

    name: str
    path: Path
    expected: str
    bomb: bool = False

    def said_in(self, message: str, *file_names: str) -> bool:
        """Whether ``message`` says ``expected`` (any case) outside the file names it quotes.

        Many cases are named for their fault (``empty.nii.gz``, ``negative_pixdim.nii.gz``),
        so a message that only quotes the file name would otherwise pass for any refusal.
        """
        for file_name in (self.path.name, *file_names):
            message = message.replace(file_name, "<file>")
        return self.expected.lower() in message.lower()


def colin27(step: int = 1) -> nib.Nifti1Image:
    """The Colin27 head as float32, optionally subsampled by ``step`` along every axis.

    Parameters
    ----------
    step : int
        Keep every ``step``-th voxel (2 gives a 2 mm, 91 x 109 x 91 head).

    Returns
    -------
    nibabel.Nifti1Image
    """
    img = nib.load(str(COLIN))
    data = np.asarray(img.dataobj, dtype=np.float32)[::step, ::step, ::step]
    return nib.Nifti1Image(np.ascontiguousarray(data), img.affine @ np.diag([step, step, step, 1.0]))


def _save(img: nib.Nifti1Image, path: Path) -> Path:
    nib.save(img, str(path))
    return path


def make_corpus(out_dir: str | Path) -> list[BadCase]:
    """Write every bad upload into ``out_dir`` and describe them.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write into (created). About 10 MB is written and it takes a few seconds.

    Returns
    -------
    list of BadCase
        One entry per bad upload, in a stable order.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    head = colin27(1)
    small = colin27(2)  # 2 mm: a valid head in 1/8 of the bytes
    data, affine = np.asarray(small.dataobj).astype(np.int16), small.affine
    cases: list[BadCase] = []

    def add(name: str, path: Path, expected: str, bomb: bool = False) -> None:
        cases.append(BadCase(name, path, expected, bomb))

    # --- truncated and corrupt files -------------------------------------------------
    full_gz = _save(nib.Nifti1Image(np.asarray(head.dataobj).astype(np.uint8), head.affine), out / "_full.nii.gz")
    raw = full_gz.read_bytes()
    (out / "truncated.nii.gz").write_bytes(raw[: len(raw) * 6 // 10])
    add("truncated_nii_gz", out / "truncated.nii.gz", "is truncated or corrupt: its data block could not be read")
    (out / "truncated_in_header.nii.gz").write_bytes(raw[:60])
    add("truncated_in_header_nii_gz", out / "truncated_in_header.nii.gz", "not a readable NIfTI")
    corrupt = bytearray(raw)
    corrupt[len(raw) // 2 : len(raw) // 2 + 64] = bytes(range(64))
    (out / "corrupt.nii.gz").write_bytes(bytes(corrupt))
    add("corrupt_deflate_stream", out / "corrupt.nii.gz",
        "is truncated or corrupt: its data block could not be read (BadGzipFile)")
    # damaged only after the data block: nibabel never reads that far (gzip trailer, RFC 1952 §2.3)
    bad_crc = bytearray(raw)
    bad_crc[-8] ^= 0xFF  # first byte of the CRC-32
    (out / "bad_crc.nii.gz").write_bytes(bytes(bad_crc))
    add("gzip_bad_crc", out / "bad_crc.nii.gz", "end of its gzip stream")
    (out / "no_trailer.nii.gz").write_bytes(raw[:-8])  # CRC-32 and ISIZE cut off
    add("gzip_trailer_cut_off", out / "no_trailer.nii.gz", "end of its gzip stream")
    (out / "trailing_garbage.nii.gz").write_bytes(raw + b"exported by the PACS\n")
    add("gzip_trailing_garbage", out / "trailing_garbage.nii.gz", "end of its gzip stream")
    # a gzip stream is read as one whatever the file's name says, and checked as one
    (out / "bad_crc_named_nii.nii").write_bytes(bytes(bad_crc))
    add("gzip_bad_crc_named_nii", out / "bad_crc_named_nii.nii", "is damaged or truncated: the end of its gzip stream")
    (out / "truncated_named_nii.nii").write_bytes(raw[: len(raw) * 6 // 10])
    add("truncated_gzip_named_nii", out / "truncated_named_nii.nii", "is truncated or corrupt: its data block")
    full_gz.unlink()

    nii = _save(nib.Nifti1Image(data, affine), out / "short_data_block.nii")
    nii.write_bytes(nii.read_bytes()[: 352 + data.nbytes // 2])  # valid header, half the data block
    add("short_data_block_nii", nii, "is truncated or corrupt: its data block could not be read")

    # --- not an image ----------------------------------------------------------------
    (out / "empty.nii.gz").write_bytes(b"")
    add("zero_bytes", out / "empty.nii.gz", "empty")
    (out / "notes.nii").write_bytes(b"Patient T1 scheduled for Monday.\n" * 40)
    add("text_named_nii", out / "notes.nii", "not a readable NIfTI")
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + bytes(400)
    (out / "screenshot.nii.gz").write_bytes(png)
    add("png_named_nii_gz", out / "screenshot.nii.gz", "not a readable NIfTI")
    (out / "screenshot.png").write_bytes(png)
    add("png_file", out / "screenshot.png", "not a readable NIfTI")
    wrong = bytearray(_save(nib.Nifti1Image(data, affine), out / "wrong_magic.nii").read_bytes())
    wrong[344:348] = b"xyz\0"
    (out / "wrong_magic.nii").write_bytes(bytes(wrong))
    add("wrong_magic", out / "wrong_magic.nii", "not a readable NIfTI")
    unknown = bytearray(_save(nib.Nifti1Image(data, affine), out / "unknown_datatype.nii").read_bytes())
    struct.pack_into("<h", unknown, 70, 9999)  # datatype: no NIfTI type has this code
    (out / "unknown_datatype.nii").write_bytes(bytes(unknown))
    add("unknown_datatype", out / "unknown_datatype.nii", "(HeaderDataError: data code 9999 not recognized)")
    (out / "not_a_zip.zip").write_bytes(b"PK\x03\x04 this is not really an archive")
    add("fake_zip", out / "not_a_zip.zip", "is not a readable ZIP archive (damaged or not a zip)")

    # --- headers that would need absurd memory (checked before any data is read) ------
    add("dims_2pow31_nifti2", raw_nifti2(out / "dims_2pow31.nii", (2**31, 2**31, 2**31), bytes(64)),
        "voxels, more than a head T1 needs", bomb=True)
    add("dims_2pow15_nifti2", raw_nifti2(out / "dims_2pow15.nii", (2**15, 2**15, 2**15), bytes(64)),
        "= 35,184,372,088,832 voxels, more than a head T1 needs", bomb=True)
    hdr = nifti1_header((32767, 32767, 32767))
    add("dims_32767_nifti1", header_only_nifti1(out / "dims_32767.nii.gz", hdr, bytes(4096)),
        "= 35,181,150,961,663 voxels, more than a head T1 needs", bomb=True)
    hdr = nifti1_header((181, 217, 181))
    hdr["dim"][1] = -32768  # int16 dims: an overflowed writer
    add("negative_dim", header_only_nifti1(out / "negative_dim.nii", hdr, bytes(4096)),
        "declares dimensions (-32768, 217, 181): every dimension must be positive", bomb=True)
    # the product of the extra dimensions wraps to 0 in 64-bit integers (2**32 * 2**32)
    add("dims_overflow_5d",
        raw_nifti2(out / "dims_overflow_5d.nii", (91, 109, 91, 2**32, 2**32), bytes(64), voxel_mm=2.0),
        "18,446,744,073,709,551,616 volumes", bomb=True)

    # gzip bomb in the header: an "extension" of BOMB_BYTES zeros before the data
    hdr = nifti1_header(data.shape, np.float32, affine=affine)
    hdr["vox_offset"] = 352 + 8 + BOMB_BYTES
    head_bytes = hdr.binaryblock + b"\x01\0\0\0" + struct.pack("<ii", BOMB_BYTES + 8, 6)
    (out / "extension_bomb.nii.gz").write_bytes(
        gzip.compress(head_bytes, mtime=0) + zero_gzip_members(BOMB_BYTES)
        + gzip.compress(data.astype(np.float32).tobytes(), compresslevel=1, mtime=0))
    add("gzip_bomb_header_extension", out / "extension_bomb.nii.gz",
        "bytes of header and extensions before its image data", bomb=True)
    # no extension, but the data is said to start 1 TB into the (gzip-bombed) stream
    hdr = nifti1_header(data.shape, np.uint8, affine=affine)
    hdr["vox_offset"] = 352
    raw_header = bytearray(hdr.binaryblock + b"\0" * 4)
    struct.pack_into("<f", raw_header, 108, 2.0**40)  # nibabel refuses to set such an offset
    (out / "far_data.nii.gz").write_bytes(gzip.compress(bytes(raw_header), mtime=0) + zero_gzip_members(BOMB_BYTES))
    add("vox_offset_1tb", out / "far_data.nii.gz", "before its image data", bomb=True)
    pair = nib.Nifti1Pair(data, affine)
    nib.save(pair, str(out / "pair.img"))
    add("nifti_pair_hdr", out / "pair.hdr", "not a readable NIfTI")
    # gzip bomb in the data: a small valid header followed by BOMB_BYTES of zeros.
    # Only the bytes the (checked) header declares are read: the data is all zero.
    hdr = nifti1_header(data.shape, np.uint8, affine=affine)
    hdr["vox_offset"] = 352
    (out / "data_bomb.nii.gz").write_bytes(
        gzip.compress(hdr.binaryblock + b"\0" * 4, mtime=0) + zero_gzip_members(BOMB_BYTES))
    add("gzip_bomb_zero_data", out / "data_bomb.nii.gz", "is constant (every voxel = 0)", bomb=True)

    # --- bad geometry ------------------------------------------------------------------
    hdr = nifti1_header(data.shape, np.float32, zooms=(2.0, 2.0, 2.0))
    hdr.set_sform(None, code=0)
    hdr.set_qform(None, code=0)  # pixdim alone defines the voxel size
    hdr["pixdim"][1:4] = (-2.0, 2.0, -2.0)
    add("negative_pixdim", header_only_nifti1(out / "negative_pixdim.nii.gz", hdr, data.astype(np.float32).tobytes()),
        "declares voxel sizes (pixdim) [-2.0, 2.0, -2.0]")
    hdr["pixdim"][1:4] = (2.0, 0.0, 2.0)
    add("zero_pixdim", header_only_nifti1(out / "zero_pixdim.nii.gz", hdr, data.astype(np.float32).tobytes()),
        "declares voxel sizes (pixdim) [2.0, 0.0, 2.0]")
    add("voxel_0p1_mm", _save(nib.Nifti1Image(data, np.diag([0.1, 0.1, 0.1, 1.0])), out / "voxel_0p1.nii.gz"),
        "has voxel sizes [0.1, 0.1, 0.1] mm; accepted 0.3-3.0 mm")
    add("voxel_5_mm", _save(nib.Nifti1Image(data, np.diag([5.0, 5.0, 5.0, 1.0])), out / "voxel_5mm.nii.gz"),
        "has voxel sizes [5.0, 5.0, 5.0] mm; accepted 0.3-3.0 mm")
    add("voxel_anisotropic_4mm_slices",
        _save(nib.Nifti1Image(data, affine @ np.diag([0.5, 0.5, 2.0, 1.0])), out / "thick_slices.nii.gz"),
        "has voxel sizes [1.0, 1.0, 4.0] mm; accepted 0.3-3.0 mm")
    slab = np.asarray(head.dataobj)[:, :, 60:80]  # 20 axial slices of 1 mm: 20 mm
    add("tiny_fov_slab", _save(nib.Nifti1Image(slab, head.affine), out / "slab.nii.gz"),
        "covers [181.0, 217.0, 20.0] mm; every axis must hold a whole head (120-600 mm)")
    singular = affine.copy()
    singular[:3, 2] = singular[:3, 0]  # two voxel axes point the same way
    add("singular_affine", _save(nib.Nifti1Image(data, singular), out / "singular_affine.nii.gz"),
        "has an invalid (singular or non-finite) voxel-to-world affine")
    nonfinite = affine.copy()
    nonfinite[0, 3] = np.nan
    add("nan_affine", _save(nib.Nifti1Image(data, nonfinite), out / "nan_affine.nii.gz"),
        "has an invalid (singular or non-finite) voxel-to-world affine")

    for unit, said in (("meter", "metres"), ("micron", "micrometres")):
        in_unit = nib.Nifti1Image(data, affine)
        in_unit.header.set_xyzt_units(unit)
        add(f"spatial_unit_{unit}", _save(in_unit, out / f"unit_{unit}.nii.gz"), said)

    # --- orientation: where left is must be unambiguous -------------------------------------
    def with_forms(sform, qform) -> nib.Nifti1Image:
        img = nib.Nifti1Image(data, affine)
        img.set_sform(sform, code=0 if sform is None else 1)
        img.set_qform(qform, code=0 if qform is None else 1)
        return img

    add("no_orientation", _save(with_forms(None, None), out / "no_orientation.nii.gz"), "no orientation")
    mirrored = np.diag([-1.0, 1.0, 1.0, 1.0]) @ affine  # the same grid, left and right swapped
    add("sform_qform_mirrored", _save(with_forms(affine, mirrored), out / "sform_qform_mirrored.nii.gz"),
        "mirror each other")
    shifted = affine.copy()
    shifted[1, 3] += 2.0  # 2 mm anterior
    add("sform_qform_2mm_apart", _save(with_forms(affine, shifted), out / "sform_qform_apart.nii.gz"),
        "2.0 mm apart")
    odd_qfac = _save(with_forms(None, affine), out / "qform_qfac_minus_2.nii")
    raw = bytearray(odd_qfac.read_bytes())
    struct.pack_into("<f", raw, 76, -2.0)  # pixdim[0]: ITK reads -1 (slices mirrored), nibabel +1
    odd_qfac.write_bytes(bytes(raw))
    add("qform_qfac_minus_2", odd_qfac, "so they would mirror its slices")
    resized = nib.Nifti1Image(data, None)  # pixdim stays 1 mm: the sform set after it, as editing tools do
    resized.set_sform(affine, code=1)
    resized.set_qform(None, code=0)
    add("sform_not_scaled_as_pixdim", _save(resized, out / "sform_not_scaled_as_pixdim.nii.gz"),
        "gives voxel sizes (pixdim) of [1.0, 1.0, 1.0] mm and an sform with voxels of [2.0, 2.0, 2.0] mm")

    # --- shape and type ---------------------------------------------------------------
    add("two_d", _save(nib.Nifti1Image(np.asarray(head.dataobj)[:, :, 90], head.affine), out / "slice_2d.nii.gz"),
        "is a 2-D image (181, 217)")
    add("three_d_single_slice",
        _save(nib.Nifti1Image(np.asarray(head.dataobj)[:, :, 90:91], head.affine), out / "slice_3d.nii.gz"),
        "is a 2-D image (181, 217, 1)")
    add("four_d_3_volumes", _save(nib.Nifti1Image(np.stack([data] * 3, axis=-1), affine), out / "fmri_like.nii.gz"),
        "3 volumes")
    add("five_d", _save(nib.Nifti1Image(data[..., None, None] * np.ones((1, 1, 1, 1, 2), np.float32), affine),
                        out / "five_d.nii.gz"), "2 volumes")
    add("complex_dtype", _save(nib.Nifti1Image(data.astype(np.complex64), affine), out / "complex.nii.gz"),
        "stores complex64 voxels: a scalar (integer or float) T1 is needed")
    rgb = np.zeros(data.shape, dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])
    rgb["R"] = data.astype(np.uint8)
    add("rgb_dtype", _save(nib.Nifti1Image(rgb, affine), out / "rgb.nii.gz"),
        "voxels: a scalar (integer or float) T1 is needed")

    # --- data that holds no image -----------------------------------------------------
    add("nan_filled", _save(nib.Nifti1Image(np.full(data.shape, np.nan, np.float32), affine), out / "nan.nii.gz"),
        "NaN/Inf voxels: re-export the T1")
    some_inf = data.astype(np.float32).copy()
    some_inf[40:43, 50, 40] = (np.inf, -np.inf, np.inf)
    add("inf_voxels", _save(nib.Nifti1Image(some_inf, affine), out / "inf.nii.gz"), "3 NaN/Inf")
    add("constant", _save(nib.Nifti1Image(np.full(data.shape, 100, np.int16), affine), out / "constant.nii.gz"),
        "is constant (every voxel = 100)")
    nearly_empty = np.zeros(data.shape, np.float32)
    nearly_empty[60:64, 70:74, 60:64] = 200.0  # 64 voxels of tissue, a thousandth of a head
    nearly_empty[30, 30, 30] = 1e30  # which reached Otsu unclipped and overflowed its variance
    add("nearly_empty", _save(nib.Nifti1Image(nearly_empty, affine), out / "nearly_empty.nii.gz"),
        "is nearly empty: 65 of its")
    # a segmentation whose labels follow T1 contrast (FSL FAST's: 0 air, then darker to
    # brighter tissue) registered as a T1 and was planned with the entry inside the skull
    classes = np.digitize(data, (20, 70, 95)).astype(np.int16)
    add("segmentation_in_t1_order", _save(nib.Nifti1Image(classes, affine), out / "t1_seg.nii.gz"),
        "holds only 4 distinct intensities")
    add("binary_mask", _save(nib.Nifti1Image((data > 60).astype(np.uint8), affine), out / "mask.nii.gz"),
        "holds only 2 distinct intensities")
    eight_levels = np.floor(data / (data.max() / 7.999)).astype(np.int16)
    add("head_in_8_grey_levels", _save(nib.Nifti1Image(eight_levels, affine), out / "eight_levels.nii.gz"),
        "holds only 8 distinct intensities")

    # 31 x 37 x 31 slices at 6 mm: enough for series grouping
    add_archive_cases(out, colin27(6), add, BOMB_BYTES)
    return cases


def main(argv: list[str] | None = None) -> int:
    """Write the corpus into the folder given on the command line and list it."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: make_bad_images.py OUT_DIR", file=sys.stderr)
        return 2
    for case in make_corpus(argv[0]):
        print(f"{case.name:36s} {case.path}  (message contains: {case.expected!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
