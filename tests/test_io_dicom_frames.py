"""Putting the frames of an enhanced MR instance in stack order
(:func:`navsvc.io.dicom_frames.frames_in_stack_order`), unit by unit.

The loading tests (``test_io_dicom``) show that a reversed stack loads in place; here each case
the function must leave alone (no stack position, several stacks, a position twice) is built
from one real instance, and the reordering itself is checked frame by frame, pixels included.
"""

from __future__ import annotations

import copy

import numpy as np
import pydicom
import pytest

from corpus.dicom_series import write_enhanced_dicom
from corpus.make_bad_images import colin27
from navsvc.io.dicom_frames import frames_in_stack_order, is_multiframe


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
