"""The slices of a single-frame series as one volume, unit by unit, on bare headers:
different images at one position refused (:func:`navsvc.io.dicom_volumes.check_one_image_per_position`)
and slices renumbered in their order in space (:func:`navsvc.io.dicom_volumes.number_slices_by_position`).

The loading tests (``test_io_dicom``, ``test_io_dicom_two_volumes``) run real series through the
converter; here each guard and boundary is built on purpose.
"""

from __future__ import annotations

import re

import pytest
from pydicom.dataset import Dataset

from navsvc.errors import InputError
from navsvc.io.dicom_volumes import check_one_image_per_position, number_slices_by_position

AXIAL = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]  # rows along x, columns along y: the normal is z


def _slice(z_mm: float, number: int | None, pixels: bytes = b"\x01\x00", **attributes) -> Dataset:
    ds = Dataset()
    ds.ImageOrientationPatient = AXIAL
    ds.ImagePositionPatient = [-90.0, -120.0, z_mm]
    if number is not None:
        ds.InstanceNumber = number
    ds.PixelData = pixels
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return ds


def _numbers(datasets) -> list[int]:
    return [int(ds.InstanceNumber) for ds in datasets]


@pytest.mark.parametrize("numbers", [[1, 2, 3, 4], [4, 3, 2, 1]], ids=["up", "down"])
def test_slices_numbered_in_their_order_either_way_are_left_as_they_are(numbers):
    datasets = [_slice(z, n) for z, n in zip([0.0, 2.0, 4.0, 6.0], numbers)]
    assert number_slices_by_position(datasets) is False
    assert _numbers(datasets) == numbers


def test_slices_numbered_out_of_their_order_are_renumbered_along_the_normal():
    datasets = [_slice(z, n) for z, n in zip([4.0, 0.0, 6.0, 2.0], [1, 2, 3, 4])]
    assert number_slices_by_position(datasets) is True
    assert _numbers(datasets) == [3, 1, 4, 2]


def test_slices_without_numbers_are_numbered():
    datasets = [_slice(z, None) for z in [2.0, 0.0, 4.0]]
    assert number_slices_by_position(datasets) is True
    assert _numbers(datasets) == [2, 1, 3]


def _second_tilted(datasets):
    datasets[1].ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 0.0, -1.0]


def _second_without_position(datasets):
    del datasets[1].ImagePositionPatient


def _all_without_orientation(datasets):
    for ds in datasets:
        del ds.ImageOrientationPatient


@pytest.mark.parametrize("change", [_second_tilted, _second_without_position, _all_without_orientation])
def test_what_is_not_one_stack_of_positioned_slices_is_not_renumbered(change):
    datasets = [_slice(z, n) for z, n in zip([4.0, 0.0, 6.0], [1, 2, 3])]
    for ds, y_mm in zip(datasets, [0.0, 10.0, 5.0]):  # out of order along y too, whichever normal were taken
        ds.ImagePositionPatient = [-90.0, y_mm, float(ds.ImagePositionPatient[2])]
    change(datasets)
    assert number_slices_by_position(datasets) is False
    assert _numbers(datasets) == [1, 2, 3]


@pytest.mark.parametrize("number", [7, None])
def test_one_slice_is_not_renumbered(number):
    datasets = [_slice(0.0, number)]
    assert number_slices_by_position(datasets) is False
    assert datasets[0].get("InstanceNumber") == number


def test_two_images_a_hundredth_of_a_mm_apart_are_at_one_position():
    """Positions are written to a few decimals; images within 0.005 mm share a position."""
    datasets = [_slice(0.0, 1, b"\x01\x00", EchoNumbers=1), _slice(0.001, 2, b"\x02\x00", EchoNumbers=2),
                _slice(2.0, 3, b"\x03\x00", EchoNumbers=1)]
    with pytest.raises(InputError, match=r"^S3 holds 2 different images at the same slice position "
                                         r"\(echo numbers 1, 2\): it is more than one 3-D volume"):
        check_one_image_per_position(datasets, "S3")
    datasets[1].ImagePositionPatient = [-90.0, -120.0, 0.02]
    check_one_image_per_position(datasets, "S3")


def test_exact_copies_at_one_position_are_one_image():
    check_one_image_per_position([_slice(0.0, 1), _slice(0.0, 2), _slice(2.0, 3)], "S3")


@pytest.mark.parametrize("n_images, listed", [(6, "1, 2, 3, 4, 5, 6"), (7, "1, 2, 3, 4, 5, 6, ...")])
def test_more_than_six_different_values_are_cut_short(n_images, listed):
    datasets = [_slice(0.0, k, bytes([k, 0]), AcquisitionNumber=k) for k in range(1, n_images + 1)]
    with pytest.raises(InputError, match=rf"holds {n_images} different images at the same slice position "
                                         rf"\(acquisition numbers {re.escape(listed)}\)"):
        check_one_image_per_position(datasets, "S3")


def _two_volumes_and_one_more() -> list[Dataset]:
    """Two different images at z = 0 (refused as they are) and a third slice."""
    return [_slice(0.0, 1, b"\x01\x00"), _slice(0.0, 2, b"\x02\x00"), _slice(2.0, 3, b"\x03\x00")]


@pytest.mark.parametrize("keyword", ["ImagePositionPatient", "PixelData"])
def test_a_series_with_an_image_without_position_or_pixels_is_left_to_the_converter(keyword):
    """Not a plain stack of slices: no refusal here, whatever else the series holds (the
    converter and the placement check decide)."""
    with pytest.raises(InputError, match="holds 2 different images"):
        check_one_image_per_position(_two_volumes_and_one_more(), "S3")
    datasets = _two_volumes_and_one_more()
    delattr(datasets[2], keyword)
    check_one_image_per_position(datasets, "S3")


def test_a_series_with_a_position_of_two_numbers_is_left_to_the_converter():
    datasets = _two_volumes_and_one_more()
    datasets[2].ImagePositionPatient = [-90.0, 2.0]
    check_one_image_per_position(datasets, "S3")
