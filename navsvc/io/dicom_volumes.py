"""The slices of a single-frame DICOM series as one volume: a series that holds more than
one volume is refused, and the slices of one volume are numbered in their order in space.

Several different images at one slice position (the echoes of a multi-echo MPRAGE saved
in one series, repeated acquisitions, an image and its derived copy) were refused by
dicom2nifti with "MISSING_DICOM_FILES", and the message sent the user looking for lost
files. What sets the images apart is named instead, so the user can export the one T1
volume. Exact copies of a file (the same pixels at the same position, as some exports
write) are not counted: dicom2nifti drops them.

dicom2nifti orders slices by ``InstanceNumber`` and starts a new stack where the step
between consecutive positions changes direction: a series whose numbers do not follow
the slices' order in space (renumbered by an archive, merged from parts) was split into
stacks of unequal size and refused, again as "MISSING_DICOM_FILES".
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

import numpy as np

from navsvc.errors import InputError, shown_text

#: header attributes that tell the volumes of one series apart, with how to name them
DISTINGUISHING_ATTRIBUTES = (
    ("EchoNumbers", "echo numbers"),
    ("EchoTime", "echo times (ms)"),
    ("AcquisitionNumber", "acquisition numbers"),
    ("TemporalPositionIdentifier", "temporal positions"),
    ("ImageType", "image types"),
)
#: slice positions are compared rounded to this many decimals of a mm
POSITION_DECIMALS = 2


def check_one_image_per_position(datasets: list, label: str) -> None:
    """Refuse a single-frame series with different images at one slice position.

    Parameters
    ----------
    datasets : list of pydicom.Dataset
        The series' files, pixel data included.
    label : str
        The series, for the message (:meth:`navsvc.io.dicom.DicomSeries.label`).

    Raises
    ------
    InputError
        Naming how many images share a position and the attributes whose values differ.
    """
    images_at: dict[tuple, set[bytes]] = defaultdict(set)
    for ds in datasets:
        position = ds.get("ImagePositionPatient")
        if position is None or len(position) != 3 or "PixelData" not in ds:
            return  # not a plain stack of slices: left to the converter
        key = tuple(np.round(np.asarray(position, float), POSITION_DECIMALS))
        images_at[key].add(hashlib.sha256(ds.PixelData).digest())
    most = max((len(images) for images in images_at.values()), default=0)
    if most < 2:
        return
    differences = []
    for keyword, name in DISTINGUISHING_ATTRIBUTES:
        values = sorted({_shown_value(ds.get(keyword)) for ds in datasets if keyword in ds})
        if len(values) > 1:
            differences.append(f"{name} {', '.join(values[:6])}{', ...' if len(values) > 6 else ''}")
    told_apart = "; ".join(differences) or "no header attribute tells them apart"
    raise InputError(
        f"{label} holds {most} different images at the same slice position ({told_apart}): it is "
        "more than one 3-D volume. Export the T1 volume as its own series (for a multi-echo "
        "MPRAGE, the combined RMS image) and upload that")


def _shown_value(value) -> str:
    from pydicom.multival import MultiValue

    return shown_text("\\".join(str(v) for v in value) if isinstance(value, MultiValue) else str(value), 40)


def number_slices_by_position(datasets: list) -> bool:
    """Renumber the slices of a one-orientation series in their order along its normal, in place.

    The numbers are changed in memory only, for the converter; the placement check
    (:func:`navsvc.io.dicom_frames.check_frame_placement`) verifies the volume it builds.

    Parameters
    ----------
    datasets : list of pydicom.Dataset
        The series' files (one image per position: :func:`check_one_image_per_position`).

    Returns
    -------
    bool
        Whether any ``InstanceNumber`` changed (False also when the files do not share one
        orientation, or lack a position).
    """
    orientations = {tuple(np.round(np.asarray(ds.get("ImageOrientationPatient", []), float), 3)) for ds in datasets}
    if len(datasets) < 2 or len(orientations) != 1 or len(next(iter(orientations))) != 6:
        return False
    if any(len(ds.get("ImagePositionPatient", [])) != 3 for ds in datasets):
        return False
    iop = np.asarray(next(iter(orientations)))
    normal = np.cross(iop[:3], iop[3:])
    along = [float(np.asarray(ds.ImagePositionPatient, float) @ normal) for ds in datasets]
    order = np.argsort(along, kind="stable")
    numbered = _instance_numbers(datasets)
    if numbered is not None:
        by_number = np.argsort(numbered, kind="stable")
        if np.array_equal(by_number, order) or np.array_equal(by_number, order[::-1]):
            return False  # already in spatial order, either way round
    wanted = np.empty(len(datasets), dtype=int)
    wanted[order] = np.arange(1, len(datasets) + 1)
    for ds, number in zip(datasets, wanted):
        ds.InstanceNumber = int(number)
    return True


def _instance_numbers(datasets: list) -> list[int] | None:
    """Every file's ``InstanceNumber``, or None when one is missing or not a number."""
    try:
        return [int(ds.InstanceNumber) for ds in datasets]
    except (AttributeError, TypeError, ValueError):
        return None
