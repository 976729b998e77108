"""De-identification of one DICOM image against the confidentiality profile's attribute table
(DICOM PS3.15 Table E.1-1): what an MR export carries beyond names and dates, every attribute
the table lists, and UIDs with several values or padding.

The series-level checks (a whole upload, references between files, the stored volume) are in
``test_io_deidentify_dicom``.
"""

from __future__ import annotations

import copy
import io

import numpy as np
import pydicom
import pytest
from dicomanonymizer.dicomfields_selector import dicom_anonymization_database_selector
from pydicom.datadict import dictionary_has_tag, dictionary_VR
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag

from corpus.dicom_series import write_dicom_series
from corpus.make_bad_images import colin27
from navsvc.io.deidentify import deidentify_dicom_bytes
from navsvc.io.dicom_confidentiality import PROFILE_TABLE_EDITION, deidentify_dataset, replacement_uid


@pytest.fixture(scope="module")
def mr_slice(tmp_path_factory) -> Dataset:
    """One slice of a 3 mm sagittal Colin27 series, as a scanner writes it (no identifying text)."""
    paths = write_dicom_series(colin27(3), tmp_path_factory.mktemp("slice") / "t1", orientation="sagittal")
    return pydicom.dcmread(paths[len(paths) // 2])


#: attributes an MR export may carry that Table E.1-1 lists, written from the standard (PS3.15
#: E.1-1), not from the table the code reads: keyword -> (value, action: "X" removed, "Z" blanked)
MR_EXPORT_EXTRAS = {
    "IdentifyingComments": ("pt Zebulon, claustrophobic", "X"),
    "FrameComments": ("Zebulon moved", "X"),
    "TimezoneOffsetFromUTC": ("+0100", "X"),
    "PatientState": ("sedated, Zebulon", "X"),
    "RequestedProcedureComments": ("call Zebulon's wife", "X"),
    "ImagingServiceRequestComments": ("Zebulon: urgent", "X"),
    "ReasonForTheRequestedProcedure": ("Zebulon depression", "X"),
    "ScheduledStationName": ("ZEBULONSTAT", "X"),
    "StationAETitle": ("ZEBULON_AE", "X"),
    "RequestedContrastAgent": ("none for Zebulon", "X"),
    "AcquisitionProtocolDescription": ("Zebulon protocol", "X"),
    "RequestedSeriesDescription": ("t1 Zebulon", "X"),
    "StudyIDIssuer": ("Zebulon clinic", "X"),
    "ContrastBolusAgent": ("Zebulon agent", "Z"),
    "ClinicalTrialSubjectID": ("ZEBULON-01", "Z"),
}


def _identifying_icon() -> Dataset:
    """An icon image (a thumbnail a viewer may burn the patient's name into)."""
    icon = Dataset()
    icon.Rows, icon.Columns, icon.SamplesPerPixel = 2, 4, 1
    icon.BitsAllocated, icon.BitsStored, icon.HighBit, icon.PixelRepresentation = 8, 8, 7, 0
    icon.PhotometricInterpretation = "MONOCHROME2"
    icon.PixelData = b"ZEBULONQ"
    return icon


def _with_original_attributes(ds: Dataset) -> None:
    """Original Attributes Sequence: what an earlier edit changed, the old values included."""
    old = Dataset()
    old.PatientID = "MRN4711"
    old.InstitutionName = "St Elsewhere Hospital"
    item = Dataset()
    item.ModifiedAttributesSequence = Sequence([old])
    item.ModifyingSystem = "Zebulon's PACS"
    item.ReasonForTheAttributeModification = "CORRECT"
    ds.OriginalAttributesSequence = Sequence([item])


def test_what_an_mr_export_adds_beyond_names_and_dates_is_removed(mr_slice):
    """Free-text comments, station and AE names, a thumbnail, old values kept after an edit:
    each names the patient in no attribute the earlier keyword list had."""
    ds = copy.deepcopy(mr_slice)  # Dataset.copy() shares its elements with the fixture
    for keyword, (value, _) in MR_EXPORT_EXTRAS.items():
        setattr(ds, keyword, value)
    ds.IconImageSequence = Sequence([_identifying_icon()])
    _with_original_attributes(ds)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    assert b"Zebulon" in buffer.getvalue() and b"ZEBULONQ" in buffer.getvalue()

    cleaned = deidentify_dicom_bytes(buffer.getvalue())
    assert b"Zebulon" not in cleaned and b"ZEBULON" not in cleaned and b"MRN4711" not in cleaned
    kept = pydicom.dcmread(io.BytesIO(cleaned))
    for keyword, (_, action) in MR_EXPORT_EXTRAS.items():
        assert (keyword in kept) is (action == "Z"), keyword
        assert not kept.get(keyword), keyword
    assert "IconImageSequence" not in kept and "OriginalAttributesSequence" not in kept
    np.testing.assert_array_equal(kept.pixel_array, ds.pixel_array)
    assert kept.ImagePositionPatient == ds.ImagePositionPatient
    assert kept.ImageOrientationPatient == ds.ImageOrientationPatient


#: a value of each value representation that holds the text MARKER wherever the VR can hold text
MARKER = "ZEBULON7"
_VALUES = {"AE": MARKER, "AS": "047Y", "CS": MARKER, "DA": "20240317", "DS": "4711", "DT": "20240317101112",
           "IS": "4711", "LO": MARKER, "LT": MARKER, "PN": MARKER, "SH": MARKER, "ST": MARKER,
           "TM": "101112", "UC": MARKER, "UI": "1.2.3.4711", "UR": "http://zebulon7.example",
           "UT": MARKER, "AT": 0x00100010, "FL": 47.11, "FD": 47.11, "SL": 4711, "SS": 4711,
           "SV": 4711, "UL": 4711, "US": 4711, "UV": 4711}


def _marked_element(tag) -> DataElement:
    """An element of ``tag`` whose value names the patient (in a nested item, for a sequence)."""
    vr = dictionary_VR(tag).split(" or ")[0] if dictionary_has_tag(tag) else "LO"
    if vr == "SQ":
        item = Dataset()
        item.CodeMeaning = MARKER  # an attribute the table does not list: only the sequence's rule removes it
        return DataElement(tag, "SQ", Sequence([item]))
    if vr in ("OB", "OD", "OF", "OL", "OV", "OW", "UN"):
        return DataElement(tag, vr, MARKER.encode())
    return DataElement(tag, vr, _VALUES[vr])


def test_every_attribute_of_the_profile_table_is_removed_or_blanked(mr_slice):
    """Each of Table E.1-1's attributes (all but its UIDs and its overlay and curve ranges),
    set at once on one slice: the X ones are gone, the D and Z ones empty, the slice intact."""
    table = dicom_anonymization_database_selector(PROFILE_TABLE_EDITION)
    actions = {Tag(*entry): action for action, entries in table.items() if action not in ("ALL_TAGS", "U_TAGS")
               for entry in entries if len(entry) == 2 and entry[0] not in (0x0000, 0x0002)}  # command, file meta
    assert len(actions) > 550
    ds = copy.deepcopy(mr_slice)
    for tag in actions:
        ds[tag] = _marked_element(tag)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    assert buffer.getvalue().count(MARKER.encode()) > 300

    cleaned = deidentify_dicom_bytes(buffer.getvalue())
    assert MARKER.encode() not in cleaned
    kept = pydicom.dcmread(io.BytesIO(cleaned))
    for tag, action in actions.items():
        if action.startswith("X"):
            assert tag not in kept, (hex(tag), action)
        elif tag in kept:
            assert kept[tag].value in (None, "", b"") or kept[tag].VR == "SQ" and len(kept[tag].value) == 0, hex(tag)
    np.testing.assert_array_equal(kept.pixel_array, ds.pixel_array)


def test_each_value_of_a_multi_valued_uid_is_replaced_and_standard_ones_kept():
    """A UID attribute with several values (references to several instances; SOP classes)."""
    instances = ["1.2.826.0.1.3680043.8.498.11", "1.2.826.0.1.3680043.8.498.12"]
    classes = ["1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.5.1.4.1.1.4.1"]  # MR, enhanced MR
    ds = Dataset()
    ds.add_new(0x00081155, "UI", instances)  # Referenced SOP Instance UID
    ds.add_new(0x0008001A, "UI", classes)  # Related General SOP Class UID
    deidentify_dataset(ds)
    assert list(ds[0x00081155].value) == [replacement_uid(uid) for uid in instances]
    assert len(set(ds[0x00081155].value)) == 2
    assert list(ds[0x0008001A].value) == classes


def test_a_uid_padded_to_even_length_maps_like_the_bare_one():
    """DICOM pads an odd-length UID with a NUL byte: the same UID either way, one replacement."""
    assert replacement_uid("1.2.3.45\x00") == replacement_uid("1.2.3.45") == replacement_uid(" 1.2.3.45 ")
    assert replacement_uid("1.2.3.45") != replacement_uid("1.2.3.46")
