"""A series that holds two volumes (two different images at each slice position) is refused,
naming the header attributes that tell the volumes apart, or saying that none does.

The bad-input corpus holds the multi-echo case (echo numbers and times); here two repeated
acquisitions in one series, and two volumes with nothing in their headers to tell them apart.
"""

from __future__ import annotations

import re

import nibabel as nib
import numpy as np
import pydicom
import pytest

from corpus.dicom_series import write_dicom_series
from corpus.make_bad_images import colin27
from navsvc.errors import InputError
from navsvc.io import load_t1


@pytest.mark.parametrize("attributes, said", [
    ({"AcquisitionNumber": (1, 2)}, "acquisition numbers 1, 2"),
    ({"TemporalPositionIdentifier": (1, 2)}, "temporal positions 1, 2"),
    ({"ImageType": (["ORIGINAL", "PRIMARY", "M"], ["DERIVED", "PRIMARY", "M"])},
     "image types DERIVED\\PRIMARY\\M, ORIGINAL\\PRIMARY\\M"),
    ({"EchoNumbers": (1, 2), "EchoTime": (2.5, 5.5)}, "echo numbers 1, 2; echo times (ms) 2.5, 5.5"),
    ({}, "no header attribute tells them apart"),
])
def test_two_volumes_in_one_series_are_refused_naming_what_differs(tmp_path, attributes, said):
    head = colin27(3)
    series_uid, study_uid = pydicom.uid.generate_uid(), pydicom.uid.generate_uid()
    for number, scale in ((1, 1.0), (2, 0.8)):  # the repeat moved: other pixel values
        volume = nib.Nifti1Image((np.asanyarray(head.dataobj) * scale).astype(np.float32), head.affine)
        for path in write_dicom_series(volume, tmp_path / "series" / f"a{number}", series_uid=series_uid,
                                       study_uid=study_uid, prefix=f"A{number}_"):
            ds = pydicom.dcmread(path)
            for attribute, values in attributes.items():
                setattr(ds, attribute, values[number - 1])
            ds.save_as(path)
    with pytest.raises(InputError, match=re.escape(f"holds 2 different images at the same slice position ({said}): "
                                                   "it is more than one 3-D volume")):
        load_t1(tmp_path / "series")
