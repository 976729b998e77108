"""Valid T1 inputs load unchanged: formats, shapes, scaling, voxel orders and oblique affines.

The inputs are the real Colin27 head (1 mm, and subsampled to 2 mm where speed matters)
saved the ways scanners and tools save T1s. Each must load with the same voxel values
at the same world (RAS mm) positions as the source: the loader must never reorder,
flip or resample behind the caller's back, and the strict header checks that refuse
the malformed corpus must not refuse real files.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import tracemalloc

import nibabel as nib
import numpy as np
import pytest

from corpus.make_bad_images import COLIN, colin27
from navsvc.errors import InputError
from navsvc.io import LoadedT1, limits, load_t1, validate_t1_file


@pytest.fixture(scope="module")
def head() -> nib.Nifti1Image:
    """Colin27 at 1 mm as stored (uint8, RAS)."""
    img = nib.load(str(COLIN))
    return nib.Nifti1Image(np.asarray(img.dataobj), img.affine)


@pytest.fixture(scope="module")
def small() -> nib.Nifti1Image:
    """Colin27 at 2 mm, float32."""
    return colin27(2)


def world_values(loaded: LoadedT1, source: nib.Nifti1Image) -> tuple[np.ndarray, np.ndarray]:
    """Values of ``loaded`` and ``source`` at the world positions of every loaded voxel.

    Asserts that those positions fall on source voxel centres (within 1e-3 voxel).
    """
    ijk = np.indices(loaded.shape).reshape(3, -1).T
    src = nib.affines.apply_affine(np.linalg.inv(source.affine) @ loaded.affine, ijk)
    nearest = np.rint(src)
    assert np.abs(src - nearest).max() < 1e-3
    values = np.asarray(source.dataobj, dtype=np.float32)[tuple(nearest.astype(int).T)]
    return loaded.data.reshape(-1), values


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_nifti_file_loads_exactly(head, tmp_path, suffix):
    """.nii and .nii.gz: same shape, values, affine; checksum of the file; RAS orientation."""
    path = tmp_path / f"t1{suffix}"
    nib.save(head, str(path))
    loaded = load_t1(path)
    assert loaded.source_format == "nifti"
    assert loaded.shape == (181, 217, 181)
    assert loaded.data.dtype == np.float32
    np.testing.assert_array_equal(loaded.data, np.asarray(head.dataobj, dtype=np.float32))
    np.testing.assert_allclose(loaded.affine, head.affine)
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert loaded.orientation == ("R", "A", "S")
    assert loaded.voxel_size_mm == pytest.approx((1.0, 1.0, 1.0))


# A gzip-compressed NIfTI named .nii, a plain one named .nii.gz (renamed by hand to fit an
# upload form), or either with no ending at all is the same image: read by its content.
@pytest.mark.parametrize("saved_as, named", [(".nii.gz", "t1.nii"), (".nii", "t1.nii.gz"), (".nii.gz", "T1"),
                                             (".nii", "T1"), (".nii", "t1.NII.GZ")])
def test_a_nifti_named_for_other_bytes_loads_exactly(small, tmp_path, saved_as, named):
    saved = tmp_path / f"saved{saved_as}"
    nib.save(small, str(saved))
    reference = load_t1(saved)
    path = tmp_path / named
    path.write_bytes(saved.read_bytes())
    work_dir = tmp_path / "work"
    work_dir.mkdir()
    loaded = load_t1(path, work_dir=work_dir)
    np.testing.assert_array_equal(loaded.data, reference.data)
    np.testing.assert_array_equal(loaded.affine, reference.affine)
    assert loaded.sha256 == reference.sha256 and loaded.source_format == "nifti"
    assert list(work_dir.iterdir()) == []  # the link read through is gone


@pytest.mark.parametrize("name, content_is_gzip, expected", [
    ("t1.nii", True, "t1.nii.gz"), ("t1.nii.gz", False, "t1.nii"), ("T1", True, "T1.nii.gz"), ("T1", False, "T1.nii"),
    ("t1.gz", False, "t1.nii"), ("t1.gz", True, "t1.nii.gz"), ("t1.NII.GZ", True, "t1.NII.GZ"), ("t1.Nii", False, "t1.Nii"),
    ("a.b.nii", True, "a.b.nii.gz")])
def test_the_name_a_file_is_read_under_follows_its_bytes(name, content_is_gzip, expected):
    from navsvc.io.nifti_names import name_for_content

    assert name_for_content(name, content_is_gzip) == expected


def test_a_head_in_64_grey_levels_loads(small, tmp_path):
    # the fewest-intensities refusal (navsvc/io/grey_levels.py) is for label maps, not for a
    # coarsely stored head (Colin27 itself holds 249)
    data = np.asarray(small.dataobj, dtype=np.float32)
    levels = np.floor(data / (data.max() / 63.999)).astype(np.int16)
    nib.save(nib.Nifti1Image(levels, small.affine), str(tmp_path / "t1.nii.gz"))
    assert load_t1(tmp_path / "t1.nii.gz").shape == levels.shape


@pytest.mark.parametrize("levels, refused", [(31, True), (32, False)])
def test_an_image_needs_32_grey_levels(levels, refused):
    from navsvc.io.grey_levels import require_grey_levels

    if refused:
        with pytest.raises(InputError, match="t1.nii holds only 31 distinct intensities, where an MRI holds hundreds"):
            require_grey_levels(levels, "t1.nii")
    else:
        require_grey_levels(levels, "t1.nii")


@pytest.mark.parametrize("side, counted", [(32, 32**3), (128, 64**3), (160, 80**3), (192, 64**3)])
def test_grey_levels_are_counted_on_a_grid_of_about_a_quarter_million_voxels(side, counted):
    # every voxel distinct: the count is the number of voxels sampled (all of a small image;
    # every second of a 128- or 160-cube, every third of a 192-cube)
    from navsvc.io.grey_levels import count_grey_levels

    assert count_grey_levels(np.arange(side**3, dtype=np.int32).reshape(side, side, side)) == counted


def test_shipped_colin27_loads(head):
    """The bundled example head itself passes every check."""
    loaded = load_t1(COLIN)
    assert loaded.shape == head.shape


def test_validate_t1_file_describes_the_volume(small, tmp_path):
    """validate_t1_file returns the plan's ``input`` facts."""
    path = tmp_path / "t1.nii.gz"
    nib.save(small, str(path))
    info = validate_t1_file(path)
    assert info == {
        "shape": [91, 109, 91],
        "voxel_size_mm": [2.0, 2.0, 2.0],
        "orientation": ["R", "A", "S"],
        "affine": small.affine.tolist(),
        "format": "nifti",
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "series_uid": None,  # a NIfTI image comes from no DICOM series
    }


@pytest.mark.parametrize("extra_shape", [(1,), (1, 1)], ids=["4d_one_volume", "5d_one_volume"])
def test_single_volume_with_extra_axes_loads_as_3d(small, tmp_path, extra_shape):
    """A 4-D (or 5-D) image holding one volume is a 3-D T1."""
    data = np.asarray(small.dataobj).reshape(small.shape + extra_shape)
    path = tmp_path / "t1.nii.gz"
    nib.save(nib.Nifti1Image(data, small.affine), str(path))
    loaded = load_t1(path)
    assert loaded.shape == small.shape
    np.testing.assert_array_equal(loaded.data, np.asarray(small.dataobj))


def test_int16_with_scl_slope_is_scaled(small, tmp_path):
    """Stored integers are scaled by scl_slope / scl_inter (as scanners write them); the
    intercept, which lifts the air too, is taken away with the air level."""
    raw = np.asarray(small.dataobj).astype(np.int16)
    path = tmp_path / "scaled.nii"
    nib.save(nib.Nifti1Image(raw, small.affine), str(path))
    block = bytearray(path.read_bytes())
    # nibabel recomputes scaling on save, so write the fields directly (nifti1.h offsets 112, 116)
    struct.pack_into("<ff", block, 112, 0.5, 10.0)
    path.write_bytes(bytes(block))
    proxy = nib.load(str(path)).dataobj  # nibabel moves the scaling from the header to the proxy
    assert (proxy.slope, proxy.inter) == (0.5, 10.0)
    loaded = load_t1(path)
    assert float(np.min(raw)) == 0.0  # the head's air, lifted to 10 by the intercept
    np.testing.assert_allclose(loaded.data, raw.astype(np.float64) * 0.5, atol=1e-4)


def test_big_endian_and_nifti2_load(small, tmp_path):
    """Big-endian int16 data and a NIfTI-2 single file are valid inputs."""
    data = np.asarray(small.dataobj)
    be = tmp_path / "big_endian.nii"
    nib.save(nib.Nifti1Image(data.astype(">i2"), small.affine), str(be))
    n2 = tmp_path / "nifti2.nii.gz"
    nib.save(nib.Nifti2Image(data, small.affine), str(n2))
    for path in (be, n2):
        np.testing.assert_array_equal(load_t1(path).data, data)


def test_header_extension_within_limit_loads(small, tmp_path):
    """A header with a modest extension (e.g. a JSON comment) is not mistaken for a bomb."""
    img = nib.Nifti1Image(np.asarray(small.dataobj), small.affine)
    img.header.extensions.append(nib.nifti1.Nifti1Extension(6, b'{"Manufacturer": "navsvc-test"}' + b" " * 100_000))
    path = tmp_path / "with_extension.nii.gz"
    nib.save(img, str(path))
    assert load_t1(path).shape == small.shape


@pytest.mark.parametrize("axcodes", [("L", "A", "S"), ("L", "I", "A"), ("P", "S", "R"), ("I", "R", "P")], ids="".join)
def test_permuted_and_flipped_orientation_keeps_world_positions(small, tmp_path, axcodes):
    """Any voxel order loads as stored, each voxel at the same world position with the same value."""
    ornt = nib.orientations.ornt_transform(nib.orientations.io_orientation(small.affine),
                                           nib.orientations.axcodes2ornt(axcodes))
    img = small.as_reoriented(ornt)
    path = tmp_path / "reoriented.nii.gz"
    nib.save(img, str(path))
    loaded = load_t1(path)
    assert loaded.orientation == axcodes
    np.testing.assert_allclose(loaded.affine, img.affine, atol=1e-5)
    got, expected = world_values(loaded, small)
    np.testing.assert_array_equal(got, expected)
    # the left half of the world (x < 0) holds the same tissue as the source's left half
    x = nib.affines.apply_affine(loaded.affine, np.indices(loaded.shape).reshape(3, -1).T)[:, 0]
    src_x = nib.affines.apply_affine(small.affine, np.indices(small.shape).reshape(3, -1).T)[:, 0]
    src = np.asarray(small.dataobj).reshape(-1)
    assert got[x < 0].sum() == pytest.approx(src[src_x < 0].sum())


def rotation(axis: np.ndarray, degrees: float) -> np.ndarray:
    """4x4 rotation about ``axis`` through the origin (Rodrigues' formula)."""
    axis = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    theta = np.radians(degrees)
    out = np.eye(4)
    out[:3, :3] = np.eye(3) + np.sin(theta) * k + (1 - np.cos(theta)) * k @ k
    return out


def test_oblique_affine_is_kept(small, tmp_path):
    """An oblique acquisition (rotated 20 deg about an oblique axis, anisotropic voxels) loads with
    its exact affine: voxel sizes, orientation codes and world positions unchanged, no resampling."""
    affine = rotation([1.0, 0.3, 0.2], 20.0) @ small.affine @ np.diag([0.75, 0.75, 1.25, 1.0])
    img = nib.Nifti1Image(np.asarray(small.dataobj), affine)
    path = tmp_path / "oblique.nii.gz"
    nib.save(img, str(path))
    loaded = load_t1(path)
    np.testing.assert_allclose(loaded.affine, affine, atol=1e-4)
    assert loaded.voxel_size_mm == pytest.approx((1.5, 1.5, 2.5), abs=1e-5)
    assert loaded.orientation == nib.aff2axcodes(affine)
    np.testing.assert_array_equal(loaded.data, np.asarray(small.dataobj))


@pytest.mark.parametrize("sform_set, qform_set, qform_offset_mm", [
    (False, True, 0.0),  # qform only (as some converters write)
    (True, False, 0.0),  # sform only (nibabel's and dicom2nifti's default)
    (True, True, 0.0),  # both, the same oblique affine (the qform rounded to a float32 quaternion)
    (True, True, 0.3),  # both, within the 0.5 mm tolerance: the sform defines the world
])
def test_either_orientation_transform_is_accepted(small, tmp_path, sform_set, qform_set, qform_offset_mm):
    """A header whose sform or qform (or both, agreeing) says where the head is loads with the
    world the sform gives when set, else the qform's."""
    affine = rotation([0.2, 1.0, 0.4], 17.0) @ small.affine
    qform = affine.copy()
    qform[2, 3] += qform_offset_mm
    img = nib.Nifti1Image(np.asarray(small.dataobj), affine)
    img.set_sform(affine if sform_set else None, code=1 if sform_set else 0)
    img.set_qform(qform if qform_set else None, code=1 if qform_set else 0)
    path = tmp_path / "forms.nii.gz"
    nib.save(img, str(path))
    loaded = load_t1(path)
    np.testing.assert_allclose(loaded.affine, affine if sform_set else qform, atol=1e-4)


def test_a_long_gzip_tail_is_refused_without_decompressing_it(small, tmp_path, inflated_bytes):
    """512 MiB of zeros appended to a valid .nii.gz (as further gzip members) are refused after
    at most MAX_TRAILING_BYTES of them, at no memory cost: no writer puts anything there, and a
    stream checked only part of the way would be stored with its end (and CRC) unchecked."""
    path = tmp_path / "padded.nii.gz"
    nib.save(nib.Nifti1Image(np.asarray(small.dataobj).astype(np.int16), small.affine), str(path))
    zeros = gzip.compress(bytes(16 * 2**20), compresslevel=9, mtime=0)
    with open(path, "ab") as handle:
        handle.write(zeros * 32)
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match="goes on for more than 16 MiB after its image data"):
            load_t1(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 * 2**20
    image_bytes = small.shape[0] * small.shape[1] * small.shape[2] * 2
    # the tail is read up to the limit, once: the image may be inflated a few times over
    assert inflated_bytes[0] < 3 * image_bytes + limits.MAX_TRAILING_BYTES + 2**20, inflated_bytes[0]
    nib.save(nib.Nifti1Image(np.asarray(small.dataobj).astype(np.int16), small.affine), str(path))
    with open(path, "ab") as handle:  # a tail 1 MiB short of the limit is read to its end, checked and accepted
        handle.write(gzip.compress(bytes(limits.MAX_TRAILING_BYTES - 2**20), mtime=0))
    assert load_t1(path).shape == small.shape


def test_voxel_sizes_at_the_limits_load(tmp_path):
    from navsvc.testing.heads import load_colin27, resample, rigid

    # rotated, 3 mm voxel columns read back from the float32 header with norms above 3.0
    coarse = rigid(resample(load_colin27(), (limits.MAX_VOXEL_MM,) * 3).image, (20.0, 10.0, 5.0), (0.0, 0.0, 0.0)).image
    nib.save(coarse, str(tmp_path / "coarse.nii.gz"))
    assert load_t1(tmp_path / "coarse.nii.gz").voxel_size_mm == pytest.approx((3.0, 3.0, 3.0), abs=1e-3)


def test_example_head_is_stored_as_a_converter_writes_scanner_images(tmp_path):
    """The demo's head carries its scanner orientation in both the sform and the qform (code 1,
    the same transform), and loads as Colin27 moved rigidly: each voxel at its known world place."""
    from navsvc.examples import example_head_affine_change, write_example_head

    path = write_example_head(tmp_path / "example.nii.gz")
    header = nib.load(str(path)).header
    assert (int(header["sform_code"]), int(header["qform_code"])) == (1, 1)
    np.testing.assert_allclose(header.get_sform(), header.get_qform(), atol=1e-4)
    loaded = load_t1(path)
    assert loaded.orientation == ("L", "I", "A")
    colin = nib.load(str(COLIN))
    ijk = np.array([[10, 20, 30], [90, 100, 110]])
    # LIA voxel (i, j, k) holds Colin27's RAS voxel (180 - i, k, 180 - j) (181 x 217 x 181, RAS)
    colin_ijk = np.column_stack([180 - ijk[:, 0], ijk[:, 2], 180 - ijk[:, 1]])
    np.testing.assert_allclose(nib.affines.apply_affine(loaded.affine, ijk),
                               nib.affines.apply_affine(example_head_affine_change() @ colin.affine, colin_ijk),
                               atol=1e-3)
    np.testing.assert_array_equal(loaded.data[tuple(ijk.T)], np.asarray(colin.dataobj)[tuple(colin_ijk.T)])


@pytest.mark.parametrize("sform_code, qform_code, world", [
    (1, 1, "scanner"),   # dcm2niix
    (2, 1, "aligned"),   # the sform, which defines the world, names it
    (0, 1, "scanner"),   # qform only
    (4, 0, "mni"),
    (5, 0, "template"),
])
def test_the_world_the_header_names_is_recorded(small, tmp_path, sform_code, qform_code, world):
    img = nib.Nifti1Image(np.asarray(small.dataobj), small.affine)
    img.set_sform(small.affine if sform_code else None, code=sform_code)
    img.set_qform(small.affine if qform_code else None, code=qform_code)
    nib.save(img, str(tmp_path / "coded.nii.gz"))
    assert load_t1(tmp_path / "coded.nii.gz").world_space == world


def test_a_folders_checksum_covers_every_file_in_path_order(tmp_path):
    """A DICOM folder's sha256 is that of its files' bytes in sorted path order, subfolders
    included, whatever order they were written in and the folder lists them in (insertion or
    name-hash order, by file system): a change in any file, however deep, changes it."""
    from navsvc.io.loader import file_sha256

    files = [(f"IM{i:04d}", f"slice {i}".encode()) for i in range(16)] + [("sub/IM0000", b"deeper")]
    expected = hashlib.sha256(b"".join(content for _, content in files)).hexdigest()
    for written in ("forward", "backward"):
        folder = tmp_path / written
        (folder / "sub").mkdir(parents=True)
        for name, content in files if written == "forward" else files[::-1]:
            (folder / name).write_bytes(content)
        assert file_sha256(folder) == expected, written
    (folder / "sub" / "IM0000").write_bytes(b"DEEPER")
    assert file_sha256(folder) != expected
    assert file_sha256(folder / "IM0000") == hashlib.sha256(b"slice 0").hexdigest()
