"""DICOM input: a real head written as an MR series loads at the right place in the world.

Colin27 is subsampled to 2 mm (91 x 109 x 91), given a bright marker in the LEFT
hemisphere (RAS x < 0), written as single-frame MR DICOM series in scanner slice
orientations (LPS patient coordinates, see ``tests/corpus/dicom_series.py``) and loaded
through :func:`navsvc.io.load_t1` as a folder and as a ``.zip``. Every voxel of the
result must sit on the source grid (within 0.5 mm) with the source's value there, and
the marker must come out at negative x: a left/right flip cannot pass.
"""

from __future__ import annotations

import zipfile

import nibabel as nib
import numpy as np
import pydicom
import pytest

from corpus.dicom_series import ORIENTATIONS, reorient, strip_part10_header, write_dicom_series, write_enhanced_dicom
from corpus.make_bad_images import colin27
from navsvc.errors import InputError
from navsvc.io import load_t1
from navsvc.testing.heads import add_marker

#: world (RAS mm) centre of the marker in the left hemisphere (near the left DLPFC)
MARKER_RAS = np.array([-40.0, 20.0, 30.0])
#: added to the marker's voxels: they are then brighter than any tissue (Colin27 reaches 254)
#: and below 3 times its 99.9th percentile (624), where loading clips (navsvc.io.outliers)
MARKER_VALUE = 350.0


def marker_centre(data: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """World coordinate of the centroid of the marker voxels of a loaded volume."""
    ijk = np.argwhere(data >= MARKER_VALUE - 0.5)
    assert len(ijk) == 27
    return nib.affines.apply_affine(affine, ijk.mean(axis=0))


def assert_same_head(loaded, source: nib.Nifti1Image, tolerance_mm: float = 0.5) -> None:
    """Every loaded voxel lies within ``tolerance_mm`` of a source voxel centre and has its value."""
    shape = loaded.shape
    ijk = np.indices(shape).reshape(3, -1).T
    world = nib.affines.apply_affine(loaded.affine, ijk)
    src_ijk = nib.affines.apply_affine(np.linalg.inv(source.affine), world)
    nearest = np.rint(src_ijk)
    offset_mm = np.linalg.norm(nib.affines.apply_affine(source.affine, nearest) - world, axis=1)
    assert offset_mm.max() < tolerance_mm
    idx = nearest.astype(int)
    assert np.all((idx >= 0) & (idx < np.array(source.shape))), "loaded grid leaves the source volume"
    source_values = np.asarray(source.dataobj)[tuple(idx.T)]
    np.testing.assert_allclose(loaded.data.reshape(-1), source_values, atol=0.5)


def assert_head_in_place(loaded, source: nib.Nifti1Image, marker_ras) -> np.ndarray:
    """:func:`assert_same_head`, and the marker at ``marker_ras`` (0.5 mm); returns its centre."""
    assert_same_head(loaded, source)
    centre = marker_centre(loaded.data, loaded.affine)
    np.testing.assert_allclose(centre, marker_ras, atol=0.5)
    return centre


@pytest.fixture(scope="module")
def head() -> tuple[nib.Nifti1Image, np.ndarray]:
    """The 2 mm Colin27 head with the left marker, and the marker's world centre."""
    return add_marker(colin27(2), MARKER_RAS, value=MARKER_VALUE)


@pytest.fixture(scope="module")
def axial_folder(head, tmp_path_factory):
    """The marked head as an axial series in a folder (with a nested sub-folder, as PACS exports do)."""
    folder = tmp_path_factory.mktemp("axial")
    write_dicom_series(head[0], folder / "DICOM" / "S0001", orientation="axial", series_number=4)
    return folder


@pytest.mark.parametrize("orientation", sorted(ORIENTATIONS))
def test_series_loads_at_the_same_world_position(head, tmp_path, orientation):
    """Axial, sagittal and coronal series load on the source grid with the marker on the left."""
    img, marker_ras = head
    write_dicom_series(img, tmp_path, orientation=orientation)
    loaded = load_t1(tmp_path)
    assert loaded.source_format == "dicom"
    assert sorted(loaded.shape) == sorted(img.shape)
    np.testing.assert_allclose(loaded.voxel_size_mm, (2.0, 2.0, 2.0), atol=1e-3)
    centre = assert_head_in_place(loaded, img, marker_ras)
    assert centre[0] < -30.0, "marker written in the left hemisphere must stay at negative x (RAS)"


@pytest.mark.parametrize("numbering", ["counting down", "shuffled", "one missing"])
@pytest.mark.parametrize("axcodes", [("L", "P", "I"), ("P", "I", "R"), ("L", "I", "A")])
def test_slices_running_against_the_plane_normal_and_numbered_out_of_order_load_in_place(head, tmp_path, axcodes,
                                                                                        numbering):
    """A series whose slices step opposite to the normal of their rows and columns (head to
    foot, right to left, anterior to posterior), InstanceNumber counting down, in no order
    (dicom2nifti refused that: "MISSING_DICOM_FILES") or missing from one file (refused too),
    loads as the head."""
    img, marker_ras = head
    paths = write_dicom_series(reorient(img, axcodes), tmp_path, orientation=None)
    numbers = list(range(len(paths), 0, -1))
    if numbering == "shuffled":
        np.random.default_rng(len(paths)).shuffle(numbers)
    for k, (number, path) in enumerate(zip(numbers, paths)):
        ds = pydicom.dcmread(path)
        ds.InstanceNumber = number
        if numbering == "one missing" and k == 20:
            del ds.InstanceNumber
        ds.save_as(path)
    loaded = load_t1(tmp_path)
    assert_head_in_place(loaded, img, marker_ras)


@pytest.mark.parametrize("storage", ["single-frame", "enhanced, frames reversed"])
def test_an_oblique_series_loads_in_place(head, tmp_path, storage):
    """A series tilted 15 degrees about x and -10 about y (an oblique acquisition) loads on
    its tilted grid, with every image found where its header places it."""
    img, marker_ras = head
    pitch, roll = np.radians(15.0), np.radians(-10.0)
    rotation = (np.array([[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]])
                @ np.array([[np.cos(roll), 0, np.sin(roll)], [0, 1, 0], [-np.sin(roll), 0, np.cos(roll)]]))
    tilted = nib.Nifti1Image(np.asanyarray(img.dataobj), np.vstack([rotation @ img.affine[:3], [0, 0, 0, 1]]))
    if storage == "single-frame":
        write_dicom_series(tilted, tmp_path / "s", orientation=None)
    else:
        write_enhanced_dicom(tilted, tmp_path / "s" / "IM0001.dcm", frame_order="descending")
    loaded = load_t1(tmp_path / "s")
    assert_head_in_place(loaded, tilted, rotation @ marker_ras)


#: dicom2nifti picks its reader by Manufacturer: its GE and Hitachi readers failed on an
#: enhanced (multi-frame) instance ("no attribute 'ImagePositionPatient'")
MANUFACTURERS = ("SIEMENS", "GE MEDICAL SYSTEMS", "Philips Medical Systems", "Hitachi Medical Corporation",
                 "navsvc-test")


@pytest.mark.parametrize("manufacturer", MANUFACTURERS[:4])
def test_a_single_frame_series_of_each_manufacturer_loads_in_place(head, tmp_path, manufacturer):
    """dicom2nifti converts each manufacturer's single-frame series with its own reader:
    each one, sagittal and numbered out of order, loads on the source grid."""
    img, marker_ras = head
    paths = write_dicom_series(img, tmp_path, orientation="sagittal")
    numbers = np.random.default_rng(3).permutation(len(paths)) + 1
    for number, path in zip(numbers, paths):
        ds = pydicom.dcmread(path)
        ds.Manufacturer = manufacturer
        ds.InstanceNumber = int(number)
        ds.save_as(path)
    loaded = load_t1(tmp_path)
    assert_head_in_place(loaded, img, marker_ras)


@pytest.mark.parametrize("manufacturer", MANUFACTURERS)
@pytest.mark.parametrize("orientation", sorted(ORIENTATIONS))
def test_an_enhanced_multiframe_instance_loads_at_the_same_world_position(head, tmp_path, orientation,
                                                                          manufacturer):
    """One enhanced MR file (every slice a frame) loads on the source grid, the marker on the left."""
    img, marker_ras = head
    write_enhanced_dicom(img, tmp_path / "t1" / "IM0001.dcm", orientation=orientation, manufacturer=manufacturer)
    loaded = load_t1(tmp_path / "t1")
    assert loaded.source_format == "dicom"
    np.testing.assert_allclose(loaded.voxel_size_mm, (2.0, 2.0, 2.0), atol=1e-3)
    centre = assert_head_in_place(loaded, img, marker_ras)
    assert centre[0] < -30.0, "marker written in the left hemisphere must stay at negative x (RAS)"


@pytest.mark.parametrize("manufacturer", ["SIEMENS", "GE MEDICAL SYSTEMS", "Philips Medical Systems"])
@pytest.mark.parametrize("orientation", ["axial", "sagittal"])
def test_frames_stored_against_their_stack_order_load_in_place(head, tmp_path, orientation, manufacturer):
    """Frames stored in descending slice order (each one's InStackPositionNumber and position
    say where it belongs) load as the same head: a reversed stack must not mirror it."""
    img, marker_ras = head
    write_enhanced_dicom(img, tmp_path / "t1" / "IM0001.dcm", orientation=orientation, manufacturer=manufacturer,
                         frame_order="descending")
    loaded = load_t1(tmp_path / "t1")
    assert_head_in_place(loaded, img, marker_ras)


@pytest.mark.parametrize("mirrored_axis", [0, 1, 2])
def test_a_single_frame_series_converted_mirrored_is_refused(head, axial_folder, mirrored_axis):
    """Each file's pixels are looked up where its own header places them: a converted volume
    mirrored along any axis (left/right first of all) under the right affine is refused."""
    from dicom2nifti import convert_dicom

    from navsvc.io.dicom_frames import check_frame_placement, placed_frames

    datasets = [pydicom.dcmread(p) for p in sorted(axial_folder.rglob("*.dcm"))]
    volume = convert_dicom.dicom_array_to_nifti(datasets, None, reorient_nifti=False)["NII"]
    data = np.asanyarray(volume.dataobj)
    frames = placed_frames(datasets)
    assert len(frames) == len(datasets)
    check_frame_placement(frames, data, volume.affine, "series 4")
    with pytest.raises(InputError, match="could be mirrored"):
        check_frame_placement(frames, np.flip(data, axis=mirrored_axis), volume.affine, "series 4")


def test_a_compressed_reversed_stack_loads_in_place(head, tmp_path):
    """Frames reordered out of RLE-compressed pixel data (PACS exports compress) load in place."""
    img, marker_ras = head
    path = write_enhanced_dicom(img, tmp_path / "t1" / "IM0001.dcm", orientation="sagittal",
                                frame_order="descending")
    ds = pydicom.dcmread(path)
    ds.compress(pydicom.uid.RLELossless)
    ds.save_as(path)
    loaded = load_t1(tmp_path / "t1")
    assert_head_in_place(loaded, img, marker_ras)


def test_a_series_of_several_multiframe_files_is_refused(head, tmp_path):
    """dicom2nifti converts the first multi-frame file of a series only: two are refused."""
    img, _ = head
    first = write_enhanced_dicom(img, tmp_path / "t1" / "IM0001.dcm")
    second = pydicom.dcmread(first)
    second.SOPInstanceUID = second.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    second.InstanceNumber = 2
    second.save_as(tmp_path / "t1" / "IM0002.dcm")
    with pytest.raises(InputError, match="holds 2 files, the first of them a multi-frame image"):
        load_t1(tmp_path / "t1")


def test_the_converters_mirror_of_a_reversed_stack_is_refused(head, tmp_path):
    """dicom2nifti alone mirrors a sagittal stack stored in reverse (left and right exchanged);
    the frame placement check refuses that volume and passes the one converted in stack order."""
    from dicom2nifti import convert_generic

    from navsvc.io.dicom_frames import check_frame_placement, frames_in_stack_order, placed_frames

    img, marker_ras = head
    path = write_enhanced_dicom(img, tmp_path / "IM0001.dcm", orientation="sagittal", frame_order="descending")
    ds = pydicom.dcmread(path)
    mirrored = convert_generic.multiframe_to_nifti([ds], None)["NII"]
    data = np.asanyarray(mirrored.dataobj)
    ijk = np.argwhere(data >= MARKER_VALUE - 0.5).mean(axis=0)
    assert nib.affines.apply_affine(mirrored.affine, ijk)[0] > 30.0  # the left marker came out on the right
    with pytest.raises(InputError, match="could be mirrored"):
        check_frame_placement(placed_frames([ds]), data, mirrored.affine, "series 3")
    assert frames_in_stack_order(ds)
    assert not frames_in_stack_order(ds)  # now in order
    fixed = convert_generic.multiframe_to_nifti([ds], None)["NII"]
    check_frame_placement(placed_frames([ds]), np.asanyarray(fixed.dataobj), fixed.affine, "series 3")
    ijk = np.argwhere(np.asanyarray(fixed.dataobj) >= MARKER_VALUE - 0.5).mean(axis=0)
    np.testing.assert_allclose(nib.affines.apply_affine(fixed.affine, ijk), marker_ras, atol=0.5)


@pytest.mark.parametrize("orientation", ["axial", "sagittal"])
def test_written_series_follows_the_dicom_standard(head, tmp_path, orientation):
    """Independent of any converter: the marker pixels, placed by the DICOM Image Plane formula
    (PS3.3 C.7.6.2.1.1) from each file's own tags, lie at the marker's RAS position."""
    img, marker_ras = head
    points = []
    for path in write_dicom_series(img, tmp_path, orientation=orientation):
        ds = pydicom.dcmread(path)
        rows, cols = np.nonzero(ds.pixel_array >= MARKER_VALUE - 0.5)
        iop = np.asarray(ds.ImageOrientationPatient, dtype=float)
        row_step, col_step = (float(v) for v in ds.PixelSpacing)
        for r, c in zip(rows, cols):
            lps = (np.asarray(ds.ImagePositionPatient, dtype=float)
                   + c * col_step * iop[:3] + r * row_step * iop[3:])
            points.append(lps * [-1, -1, 1])  # LPS -> RAS
    assert len(points) == 27
    np.testing.assert_allclose(np.mean(points, axis=0), marker_ras, atol=1e-3)


def test_series_slice_axis_is_what_the_scanner_wrote(axial_folder):
    """An axial LPS series keeps the left/posterior in-plane axes (no silent reorientation)."""
    loaded = load_t1(axial_folder)
    assert loaded.orientation[:2] == ("L", "P")
    assert loaded.orientation[2] in ("S", "I")


@pytest.mark.parametrize("implicit_vr", [True, False])
def test_files_without_the_part10_header_load_in_place(head, tmp_path, implicit_vr):
    """Bare data sets (no preamble, no file meta: older systems' exports) load as the head;
    a text file and random bytes beside them are still not taken for images."""
    img, marker_ras = head
    for path in write_dicom_series(img, tmp_path / "s"):
        strip_part10_header(path, implicit_vr)
    assert path.read_bytes()[128:132] != b"DICM"
    (tmp_path / "s" / "README.txt").write_text("exported by the PACS\n" * 20)
    (tmp_path / "s" / "random.bin").write_bytes(np.random.default_rng(0).bytes(5000))
    loaded = load_t1(tmp_path / "s")
    assert_head_in_place(loaded, img, marker_ras)


def test_exact_copies_of_some_files_load_as_the_series(head, axial_folder, tmp_path):
    """Some exports write a file twice: the same pixels at the same position are one slice."""
    import shutil

    folder = tmp_path / "series"
    shutil.copytree(axial_folder, folder)
    for path in sorted(folder.rglob("*.dcm"))[30:40]:
        shutil.copy(path, path.with_name("copy_" + path.name))
    loaded = load_t1(folder)
    np.testing.assert_array_equal(loaded.data, load_t1(axial_folder).data)


def test_zip_and_folder_give_the_same_volume(axial_folder, tmp_path):
    """A .zip of the folder loads to the identical volume and affine."""
    archive = tmp_path / "t1_series.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(axial_folder.rglob("*.dcm")):
            zf.write(f, f.relative_to(axial_folder).as_posix())
    from_folder = load_t1(axial_folder)
    from_zip = load_t1(archive)
    assert from_zip.source_format == "dicom"
    np.testing.assert_array_equal(from_zip.data, from_folder.data)
    np.testing.assert_allclose(from_zip.affine, from_folder.affine, atol=1e-6)


def test_dicom_and_nifti_of_the_same_head_agree(head, axial_folder, tmp_path):
    """The same head saved as NIfTI and loaded from DICOM maps each world point to the same value."""
    img, _ = head
    nifti = tmp_path / "head.nii.gz"
    nib.save(img, str(nifti))
    from_nifti = load_t1(nifti)
    from_dicom = load_t1(axial_folder)
    world = np.array([MARKER_RAS, [30.0, -20.0, 10.0], [0.0, 40.0, -10.0]])
    for loaded in (from_nifti, from_dicom):
        ijk = np.rint(nib.affines.apply_affine(np.linalg.inv(loaded.affine), world)).astype(int)
        back = nib.affines.apply_affine(loaded.affine, ijk)
        assert np.abs(back - world).max() <= 1.0 + 1e-6  # within half a 2 mm voxel per axis
    centres = [marker_centre(t.data, t.affine) for t in (from_nifti, from_dicom)]
    np.testing.assert_allclose(centres[0], centres[1], atol=0.5)


@pytest.fixture(scope="module")
def two_series(head, tmp_path_factory):
    """A folder with the T1 (series 3, marker left) and a second series (series 8, marker right)."""
    img, _ = head
    right, _ = add_marker(colin27(2), MARKER_RAS * [-1, 1, 1], value=MARKER_VALUE)
    folder = tmp_path_factory.mktemp("two_series")
    write_dicom_series(img, folder / "a", series_number=3, description="t1_mprage_sag",
                       orientation="sagittal", series_uid="1.2.826.0.1.3680043.8.498.3")
    write_dicom_series(right, folder / "b", series_number=8, description="t1_mprage_ax_repeat",
                       orientation="axial", series_uid="1.2.826.0.1.3680043.8.498.8")
    return folder


def test_two_series_error_names_both(two_series):
    """Without ``series=`` the error lists both series (number, description, UID) and asks which."""
    with pytest.raises(InputError) as info:
        load_t1(two_series)
    message = str(info.value)
    for expected in ("2 image series", "series 3 't1_mprage_sag'", "series 8 't1_mprage_ax_repeat'",
                     "1.2.826.0.1.3680043.8.498.3", "1.2.826.0.1.3680043.8.498.8", "Say which one"):
        assert expected in message, message


@pytest.mark.parametrize(("series", "side"), [("3", -1), ("8", 1), ("1.2.826.0.1.3680043.8.498.8", 1)])
def test_series_argument_picks_one(two_series, series, side):
    """``series=`` (number or UID) picks that series: its marker is on its own side."""
    loaded = load_t1(two_series, series=series)
    assert np.sign(marker_centre(loaded.data, loaded.affine)[0]) == side


def test_unknown_series_lists_what_exists(two_series):
    """Asking for a series that is not there names the ones that are."""
    with pytest.raises(InputError, match=r"no series '99'.*series 3.*series 8|no series '99'.*series 8.*series 3"):
        load_t1(two_series, series="99")


def test_non_dicom_files_beside_the_series_are_ignored(head, tmp_path):
    """A DICOMDIR-like export with text files and a report next to the images still loads."""
    write_dicom_series(head[0], tmp_path / "IMAGES", orientation="coronal")
    (tmp_path / "README.TXT").write_text("burned by PACS\n")
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4\n")
    loaded = load_t1(tmp_path)
    assert marker_centre(loaded.data, loaded.affine)[0] < 0


def test_a_series_with_a_slice_missing_is_refused(head, tmp_path):
    # an incomplete PACS transfer: stacking the rest would squeeze the head along the slices
    files = write_dicom_series(head[0], tmp_path / "series", orientation="axial")
    files[len(files) // 2].unlink()
    with pytest.raises(InputError, match="could not be converted to a volume.*whole 3-D T1 series"):
        load_t1(tmp_path / "series")
