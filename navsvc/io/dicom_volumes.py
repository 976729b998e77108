"""A single-frame DICOM series that holds more than one volume: several different images at
one slice position (the echoes of a multi-echo MPRAGE saved in one series, repeated
acquisitions, an image and its derived copy).

dicom2nifti refused such a series with "MISSING_DICOM_FILES", and the message sent the
user looking for lost files. What sets the images apart is named instead, so the user can
export the one T1 volume. Exact copies of a file (the same pixels at the same position,
as some exports write) are not counted: dicom2nifti drops them.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

import numpy as np

from navsvc.errors import InputError

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
        values = sorted({_printable_value(ds.get(keyword)) for ds in datasets if keyword in ds})
        if len(values) > 1:
            differences.append(f"{name} {', '.join(values[:6])}{', ...' if len(values) > 6 else ''}")
    told_apart = "; ".join(differences) or "no header attribute tells them apart"
    raise InputError(
        f"{label} holds {most} different images at the same slice position ({told_apart}): it is "
        "more than one 3-D volume. Export the T1 volume as its own series (for a multi-echo "
        "MPRAGE, the combined RMS image) and upload that")


def _printable_value(value) -> str:
    from pydicom.multival import MultiValue

    from navsvc.io.dicom import printable  # (dicom imports this module)

    return printable("\\".join(str(v) for v in value) if isinstance(value, MultiValue) else str(value), 40)
