"""The frames of a DICOM series before and after conversion, unit by unit: putting an enhanced
instance's frames in stack order (:func:`navsvc.io.dicom_frames.frames_in_stack_order`) and
listing each image with its own placement (:func:`navsvc.io.dicom_frames.placed_frames`) and
checking the converted volume against it (:func:`navsvc.io.dicom_frames.check_frame_placement`).

The loading tests (``test_io_dicom``) show that a reversed stack loads in place; here each case
the function must leave alone (no stack position, several stacks, a position twice) is built
from one real instance, and the reordering itself is checked frame by frame, pixels included.
"""

from __future__ import annotations

import copy
import dataclasses

import nibabel as nib
import numpy as np
import pydicom
import pytest

from corpus.dicom_series import write_dicom_series, write_enhanced_dicom
from corpus.make_bad_images import colin27
from navsvc.errors import InputError
from navsvc.io import load_t1
from navsvc.io.dicom_frames import check_frame_placement, frames_in_stack_order, is_multiframe, placed_frames


@pytest.fixture(scope="module")
def descending(tmp_path_factory) -> pydicom.Dataset:
    """A 3 mm Colin27 stored as one enhanced instance, its frames against their stack order."""
    path = write_enhanced_dicom(colin27(3), tmp_path_factory.mktemp("enhanced") / "IM0001.dcm",
                                orientation="sagittal", frame_order="descending")
    return pydicom.dcmread(path)


def _stack_positions(ds) -> list[int]:
    return [int(frame.FrameContentSequence[0].InStackPositionNumber)
            for frame in ds.PerFrameFunctionalGroupsSequence]


def _positions_lps_mm(ds) -> np.ndarray:
    return np.array([[float(v) for v in frame.PlanePositionSequence[0].ImagePositionPatient]
                     for frame in ds.PerFrameFunctionalGroupsSequence])


def test_frames_stored_against_their_stack_order_are_put_in_it_pixels_and_all(descending):
    ds = copy.deepcopy(descending)
    before_pixels, before_positions = ds.pixel_array.copy(), _positions_lps_mm(ds)
    n = len(before_pixels)
    assert _stack_positions(ds) == list(range(n, 0, -1))

    assert frames_in_stack_order(ds) is True
    assert _stack_positions(ds) == list(range(1, n + 1))
    np.testing.assert_array_equal(ds.pixel_array, before_pixels[::-1])
    np.testing.assert_array_equal(_positions_lps_mm(ds), before_positions[::-1])
    assert int(ds.NumberOfFrames) == n
    assert frames_in_stack_order(ds) is False  # now in order: nothing more to do


def _with(ds, change) -> pydicom.Dataset:
    copied = copy.deepcopy(ds)
    change(copied.PerFrameFunctionalGroupsSequence)
    return copied


LEFT_ALONE = {
    "a frame without a stack position": lambda frames: delattr(frames[5].FrameContentSequence[0],
                                                               "InStackPositionNumber"),
    "a frame without frame content": lambda frames: delattr(frames[5], "FrameContentSequence"),
    "two stacks": lambda frames: setattr(frames[0].FrameContentSequence[0], "StackID", "2"),
    "a stack position twice": lambda frames: setattr(frames[0].FrameContentSequence[0], "InStackPositionNumber",
                                                     int(frames[1].FrameContentSequence[0].InStackPositionNumber)),
}


@pytest.mark.parametrize("case", LEFT_ALONE)
def test_what_is_not_one_numbered_stack_is_left_to_the_converter(descending, case):
    """Reordering needs every frame's place in one stack; without it the frames stay as stored
    (the converted volume is then checked against every frame's position all the same)."""
    ds = _with(descending, LEFT_ALONE[case])
    before_pixels = ds.pixel_array.copy()
    before_frames = copy.deepcopy(list(ds.PerFrameFunctionalGroupsSequence))
    assert frames_in_stack_order(ds) is False
    np.testing.assert_array_equal(ds.pixel_array, before_pixels)
    assert list(ds.PerFrameFunctionalGroupsSequence) == before_frames


def test_one_stack_without_stack_ids_is_one_stack(descending):
    ds = _with(descending, lambda frames: [delattr(f.FrameContentSequence[0], "StackID") for f in frames])
    assert frames_in_stack_order(ds) is True
    assert _stack_positions(ds) == sorted(_stack_positions(ds))


@pytest.mark.parametrize("n_frames, expected", [(0, False), (1, False), (2, True)])
def test_a_stack_is_two_frames_or_more(descending, n_frames, expected):
    ds = copy.deepcopy(descending)
    ds.PerFrameFunctionalGroupsSequence = list(ds.PerFrameFunctionalGroupsSequence)[:n_frames]
    assert is_multiframe(ds) is expected


def test_a_two_frame_stack_is_put_in_order_too(descending):
    ds = copy.deepcopy(descending)
    pixels = ds.pixel_array[:2].copy()
    ds.PerFrameFunctionalGroupsSequence = list(ds.PerFrameFunctionalGroupsSequence)[:2]
    ds.NumberOfFrames = 2
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    assert frames_in_stack_order(ds) is True
    assert _stack_positions(ds) == sorted(_stack_positions(ds))
    np.testing.assert_array_equal(ds.pixel_array, pixels[::-1])


@pytest.fixture(scope="module")
def sagittal_files(tmp_path_factory) -> list[pydicom.Dataset]:
    """The same head as single-frame files, sagittal, and one axial file of it (a stray image)."""
    folder = tmp_path_factory.mktemp("single")
    sagittal = [pydicom.dcmread(p) for p in write_dicom_series(colin27(3), folder / "sag", orientation="sagittal")]
    axial = pydicom.dcmread(write_dicom_series(colin27(3), folder / "ax", orientation="axial")[30])
    return sagittal + [axial]


def test_frames_and_files_are_named_by_their_place_from_one(descending, sagittal_files):
    """The names the refusal quotes: "frame k" of an instance, "file k" of a series (counted
    among all the series' files, skipped ones too, so that the user finds the file)."""
    frames = placed_frames([descending])
    assert [f.name for f in frames] == [f"frame {k}" for k in range(1, len(frames) + 1)]
    localizer = copy.deepcopy(sagittal_files[0])
    localizer.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    files = placed_frames([localizer, *sagittal_files[1:4]])
    assert [f.name for f in files] == ["file 2", "file 3", "file 4"]


def test_an_image_of_another_orientation_is_left_out_of_a_single_frame_series(sagittal_files):
    """dicom2nifti drops images whose orientation differs from the series' usual one (a
    localizer not marked as such); the placement check must not look for them in the volume."""
    frames = placed_frames(sagittal_files)
    assert len(frames) == len(sagittal_files) - 1
    assert all(np.allclose(f.orientation_lps, frames[0].orientation_lps) for f in frames)
    assert f"file {len(sagittal_files)}" not in [f.name for f in frames]


def test_a_series_of_localizers_only_gives_no_frames(sagittal_files):
    localizers = [copy.deepcopy(ds) for ds in sagittal_files[:3]]
    for ds in localizers:
        ds.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    assert placed_frames(localizers) == []


@pytest.mark.parametrize("keyword", ["ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing"])
def test_an_image_without_its_placement_is_refused_by_name(sagittal_files, keyword):
    files = [copy.deepcopy(ds) for ds in sagittal_files[:3]]
    delattr(files[1], keyword)
    with pytest.raises(InputError, match="^file 2 of the series has no position, orientation or pixel spacing: "
                                         "export the series again, or the T1 as NIfTI$"):
        placed_frames(files)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """(placed frames, volume data, affine) of a sagittal series converted by the loader."""
    folder = tmp_path_factory.mktemp("converted") / "sag"
    paths = write_dicom_series(colin27(3), folder, orientation="sagittal")
    loaded = load_t1(folder)
    return placed_frames([pydicom.dcmread(p) for p in paths]), np.asarray(loaded.data), loaded.affine


def _slice_axis(affine) -> int:
    """The volume axis along x (the sagittal series' slice direction)."""
    return int(np.argmax(np.abs(affine[0, :3])))


def test_the_converted_series_passes_the_placement_check(converted):
    frames, data, affine = converted
    check_frame_placement(frames, data, affine, "series 3")


def test_a_blank_first_image_does_not_end_the_check(converted):
    """An image of air has nothing to compare and is skipped; the images after it are still
    checked, so a mirrored volume is refused though its first image is blank."""
    frames, data, affine = converted
    blank_first = [dataclasses.replace(frames[0], pixels=np.zeros_like(frames[0].pixels)), *frames[1:]]
    check_frame_placement(blank_first, data, affine, "series 3")
    mirrored = np.flip(data, axis=_slice_axis(affine))
    with pytest.raises(InputError, match="^series 3: the converted volume does not hold file 2 where its header "
                                         "places it"):
        check_frame_placement(blank_first, mirrored, affine, "series 3")


def test_a_volume_short_of_an_image_is_refused_not_indexed_past_its_end(converted):
    frames, data, affine = converted
    axis = _slice_axis(affine)
    short = np.take(data, range(data.shape[axis] - 1), axis=axis)
    with pytest.raises(InputError, match="does not hold file"):
        check_frame_placement(frames, short, affine, "series 3")


@pytest.mark.parametrize("volume", ["all zero", "constant 500"])
def test_a_constant_volume_holds_no_image(converted, volume):
    frames, data, affine = converted
    constant = np.zeros_like(data) + (0.0 if volume == "all zero" else 500.0)
    with pytest.raises(InputError, match="does not hold file 1 where its header places it"):
        check_frame_placement(frames, constant, affine, "series 3")


def test_a_volume_half_a_voxel_off_its_images_is_refused(converted):
    """Each image's pixel centres must land on voxel centres (within a quarter voxel): a volume
    placed half a voxel along its rows is not the series, whatever its values."""
    frames, data, affine = converted
    moved = affine.copy()
    moved[:3, 3] += 0.5 * affine[:3, 0]
    with pytest.raises(InputError, match="does not hold file 1 where its header places it"):
        check_frame_placement(frames, data, moved, "series 3")


@pytest.fixture(scope="module")
def oblong_pixels(tmp_path_factory):
    """(placed frames, volume data, affine) of a sagittal series of 2 x 3 mm pixels (rows and
    columns a different distance apart), converted by the loader."""
    head = colin27(1)
    data = np.asarray(head.dataobj)[::3, ::2, ::3]
    img = nib.Nifti1Image(np.ascontiguousarray(data), head.affine @ np.diag([3.0, 2.0, 3.0, 1.0]))
    paths = write_dicom_series(img, tmp_path_factory.mktemp("oblong") / "sag", orientation="sagittal")
    datasets = [pydicom.dcmread(p) for p in paths]
    assert sorted(float(v) for v in datasets[0].PixelSpacing) == [2.0, 3.0]
    loaded = load_t1(paths[0].parent)  # converting runs the placement check
    return placed_frames(datasets), np.asarray(loaded.data), loaded.affine


def test_rows_and_columns_are_placed_by_their_own_spacing(oblong_pixels):
    """PixelSpacing is (row spacing, column spacing): rows step down the columns. A volume
    whose two in-plane spacings were swapped puts every pixel but the first off its place."""
    frames, data, affine = oblong_pixels
    check_frame_placement(frames, data, affine, "series 3")
    in_plane = sorted(range(3), key=lambda axis: abs(affine[0, axis]))[:2]  # the axes not along x
    swapped = affine.copy()
    lengths = np.linalg.norm(affine[:3, in_plane], axis=0)
    for axis, length in zip(in_plane, lengths[::-1]):
        swapped[:3, axis] = affine[:3, axis] / np.linalg.norm(affine[:3, axis]) * length
    assert not np.allclose(swapped, affine)
    with pytest.raises(InputError, match="does not hold file 1 where its header places it"):
        check_frame_placement(frames, data, swapped, "series 3")
