"""Every bad upload of the malformed-image corpus is refused with a clear InputError.

The corpus (``tests/corpus/make_bad_images.py``) is made from the real Colin27 head.
For each case: :func:`navsvc.io.load_t1` raises :class:`~navsvc.errors.InputError`
(never another exception type), the message names the problem, and the peak Python
memory of the call stays bounded (the header- and archive-bomb cases would allocate
hundreds of MB to exabytes if a header were trusted before it was checked), and so do
the bytes it decompresses (a bomb read in chunks would cost time, not memory). A few
cases also go through ``navsvc plan``: exit code 2, one error line, no traceback.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tracemalloc

import pytest

from corpus.make_bad_images import BOMB_BYTES, make_corpus
from navsvc.errors import InputError
from navsvc.io import load_t1, validate_t1_file

#: every case the corpus must hold (kept in sync by test_corpus_lists_every_case)
CASES = (
    "truncated_nii_gz", "truncated_in_header_nii_gz", "corrupt_deflate_stream", "short_data_block_nii",
    "gzip_bad_crc", "gzip_trailer_cut_off", "gzip_trailing_garbage", "gzip_bad_crc_named_nii", "truncated_gzip_named_nii",
    "zero_bytes", "text_named_nii", "png_named_nii_gz", "png_file", "wrong_magic", "unknown_datatype",
    "fake_zip",
    "dims_2pow31_nifti2", "dims_2pow15_nifti2", "dims_32767_nifti1", "negative_dim", "dims_overflow_5d",
    "gzip_bomb_header_extension", "vox_offset_1tb", "nifti_pair_hdr", "gzip_bomb_zero_data",
    "negative_pixdim", "zero_pixdim", "voxel_0p1_mm", "voxel_5_mm", "voxel_anisotropic_4mm_slices",
    "tiny_fov_slab", "singular_affine", "nan_affine",
    "spatial_unit_meter", "spatial_unit_micron",
    "no_orientation", "sform_qform_mirrored", "sform_qform_2mm_apart", "qform_qfac_minus_2",
    "sform_not_scaled_as_pixdim",
    "two_d", "three_d_single_slice", "four_d_3_volumes", "five_d", "complex_dtype", "rgb_dtype",
    "nan_filled", "inf_voxels", "constant", "nearly_empty", "segmentation_in_t1_order", "binary_mask",
    "head_in_8_grey_levels",
    "dicom_zip_no_pixel_data", "dicom_zip_two_series", "dicom_two_echoes_one_series", "dicom_element_length_bomb", "dicom_folder_three_slices", "dicom_rows_columns_bomb",
    "zip_path_traversal", "zip_absolute_path", "zip_name_with_newlines", "zip_bomb_member_lies_about_size",
    "zip_huge_declared_size",
    "zip_member_bad_crc", "zip_encrypted_member", "zip_unsupported_compression",
    "empty_zip", "folder_without_dicom", "folder_with_bare_data_set_bomb", "empty_folder",
)
#: peak Python memory allowed for one refusal (the largest case is a 7 MB uint8 head)
MAX_PEAK_BYTES = 200 * 2**20
#: bytes a refusal may decompress: a few reads of the largest case's 7 MB (a bomb holds BOMB_BYTES)
MAX_INFLATED_BYTES = 64 * 2**20
#: the command-line cases (each process pays ~5 s of start-up): a NIfTI header bomb, a DICOM archive,
#: an image whose voxel at 1e30 printed a numpy warning above the error line before it was refused at loading
CLI_CASES = ("gzip_bomb_header_extension", "dicom_zip_two_series", "nearly_empty", "unknown_datatype")
PROGRESS_LINE = re.compile(r"^\[\s*[\d.]+ s\] [\w -]+ \.\.\.$")



@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict:
    """The corpus written once for this module, by case name."""
    return {case.name: case for case in make_corpus(tmp_path_factory.mktemp("bad_images"))}


def test_corpus_lists_every_case(corpus):
    """The corpus holds exactly the listed cases, at least 22 of them, each on disk."""
    assert sorted(corpus) == sorted(CASES)
    assert len(CASES) >= 22
    assert all(case.path.exists() for case in corpus.values())


def test_bombs_are_small_on_disk_and_large_when_expanded(corpus):
    """The decompression bombs are real: kB-MB on disk, BOMB_BYTES if expanded."""
    for name in ("gzip_bomb_header_extension", "gzip_bomb_zero_data", "zip_bomb_member_lies_about_size"):
        assert corpus[name].path.stat().st_size < BOMB_BYTES / 100, name


@pytest.mark.parametrize("name", CASES)
def test_load_t1_refuses_with_clear_message_and_bounded_memory(corpus, name, inflated_bytes, capfd):
    """load_t1 raises InputError naming the problem, with bounded memory, without inflating
    a bomb (streamed decompression would keep the memory low but not the bytes), and
    without a line of its own or a library's on stdout or stderr."""
    case = corpus[name]
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as info:
            load_t1(case.path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert type(info.value) is InputError
    assert case.said_in(message), message
    assert "\n" not in message and len(message) < 600, message
    assert peak < MAX_PEAK_BYTES, f"peak {peak / 2**20:.0f} MB"
    assert inflated_bytes[0] < MAX_INFLATED_BYTES, f"{inflated_bytes[0] / 2**20:.0f} MiB inflated"
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize("name", ["gzip_bomb_header_extension", "dims_overflow_5d", "zip_member_bad_crc"])
def test_validate_t1_file_refuses_the_same_way(corpus, name):
    """The validation entry point (used by the upload route) refuses like load_t1."""
    with pytest.raises(InputError) as info:
        validate_t1_file(corpus[name].path)
    assert corpus[name].said_in(str(info.value)), info.value


def test_missing_path_is_an_input_error(tmp_path):
    """A path that does not exist is the caller's mistake, said so."""
    with pytest.raises(InputError, match="does not exist"):
        load_t1(tmp_path / "nowhere.nii.gz")


def test_zip_is_unpacked_nowhere_but_its_temporary_folder(corpus, tmp_path, monkeypatch):
    """The traversal archive writes nothing outside the loader's temporary folder."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError):
        load_t1(corpus["zip_path_traversal"].path)
    assert list(tmp_path.iterdir()) == []


def test_cli_exit_2_with_one_error_line(corpus, tmp_path):
    """``navsvc plan`` exits 2 with one ``navsvc: error:`` line, no traceback, no plan.

    The commands run in parallel (each pays the interpreter and ANTs start-up).
    Progress lines (``[   0.0 s] load ...``) may precede the error line.
    """
    procs = {}
    for name in CLI_CASES:
        out = tmp_path / name
        procs[name] = (out, subprocess.Popen(
            [sys.executable, "-m", "navsvc.cli", "plan", str(corpus[name].path), "--out", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for name, (out, proc) in procs.items():
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 2, (name, stderr)
        assert "Traceback" not in stderr and "Traceback" not in stdout
        lines = stderr.strip().splitlines()
        errors = [line for line in lines if line.startswith("navsvc: error: ")]
        assert len(errors) == 1, (name, stderr)
        assert corpus[name].said_in(errors[0]), errors[0]
        assert all(PROGRESS_LINE.match(line) for line in lines if line not in errors), (name, stderr)
        assert not (out / "plan.json").exists()
