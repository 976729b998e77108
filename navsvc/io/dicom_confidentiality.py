"""The DICOM attribute rules of de-identification: what is blanked, removed or replaced.

A subset of the Basic Application Level Confidentiality Profile (DICOM PS3.15 Annex E,
Table E.1-1), chosen so that nothing the profile treats as identifying is stored and
everything a converter needs to rebuild the T1 volume (pixels, geometry, scaling,
acquisition parameters) is kept:

- the Patient module (group 0010) and every person name (VR PN), at any depth;
- the listed study, visit, equipment and free-text attributes (:data:`BLANKED_KEYWORDS`);
- every date, time and date-time (VR DA, TM, DT): the scan's date is not needed to
  place a coil, and the course keeps its own dates;
- private attributes, overlays (groups 60xx) and curves (50xx), which can hold names or
  burned-in text, and the 128-byte preamble;
- instance UIDs are replaced (profile action U): each becomes a ``2.25.`` UID derived
  from the original by a name-based UUID (RFC 4122 version 5, ISO/IEC 9834-8), so a
  series stays one series, references between files stay valid and the same upload
  gives the same bytes. UIDs under the DICOM root ``1.2.840.10008.`` name standard
  classes and transfer syntaxes, not people, and are kept.

The result is marked with Patient Identity Removed = YES and the method used.
"""

from __future__ import annotations

import uuid

from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

#: attributes outside group 0010 that name or locate a person, an institution, a device
#: or a visit, or hold free text (PS3.15 Table E.1-1); person names are caught by VR
BLANKED_KEYWORDS = (
    "AccessionNumber", "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName",
    "InstitutionCodeSequence", "ReferringPhysicianAddress", "ReferringPhysicianTelephoneNumbers",
    "ReferringPhysicianIdentificationSequence", "PhysiciansOfRecordIdentificationSequence",
    "PerformingPhysicianIdentificationSequence", "OperatorIdentificationSequence",
    "StationName", "DeviceSerialNumber", "DeviceUID", "StudyID", "StudyDescription",
    "SeriesDescription", "ProtocolName", "ImageComments", "DerivationDescription",
    "AcquisitionComments", "AdmittingDiagnosesDescription", "AdmittingDiagnosesCodeSequence",
    "ReferencedPatientSequence", "RequestAttributesSequence", "RequestedProcedureID",
    "RequestedProcedureDescription", "ReasonForStudy", "RequestingService", "StudyComments",
    "PerformedProcedureStepID", "PerformedProcedureStepDescription", "PerformedStationName",
    "PerformedLocation", "ScheduledProcedureStepID", "AdmissionID", "CurrentPatientLocation",
    "VisitComments", "ServiceEpisodeID", "ServiceEpisodeDescription",
)
BLANKED_TAGS = frozenset(tag_for_keyword(keyword) for keyword in BLANKED_KEYWORDS)
#: date and time value representations, blanked wherever they occur
DATE_TIME_VRS = frozenset({"DA", "TM", "DT"})
#: UIDs under this root are the standard's own (SOP classes, transfer syntaxes): kept
DICOM_STANDARD_UID_ROOT = "1.2.840.10008."
#: namespace of the replacement UIDs (a fixed UUID, so replacements are reproducible)
UID_NAMESPACE = uuid.UUID("6f1d5c3e-8a43-5b1e-9e57-2d0c8f4b7a10")
#: file meta elements naming the sending and receiving stations (AE titles)
FILE_META_STATION_TAGS = (0x00020016, 0x00020017, 0x00020018)
#: the file meta copy of the SOP Instance UID, replaced like it
MEDIA_STORAGE_SOP_INSTANCE_UID = 0x00020003
#: De-identification Method (LO, at most 64 characters per value, several values)
METHOD_DESCRIPTION = (
    "navsvc: DICOM PS3.15 E.1 basic profile subset",
    "patient, person names, institution, descriptions blanked",
    "dates and times blanked",
    "private attributes, overlays and curves removed",
    "instance UIDs replaced",
)


def replacement_uid(original: str) -> str:
    """The UID that replaces ``original``: ``2.25.`` and a name-based UUID as an integer.

    Parameters
    ----------
    original : str
        An instance UID from the uploaded file.

    Returns
    -------
    str
        At most 44 characters (DICOM allows 64); equal inputs give equal outputs.
    """
    return f"2.25.{uuid.uuid5(UID_NAMESPACE, original.strip().rstrip(chr(0))).int}"


def _mapped_uid(value):
    text = str(value)
    if not text or text.startswith(DICOM_STANDARD_UID_ROOT):
        return value
    return replacement_uid(text)


def _replace_uids(element: DataElement) -> None:
    if element.value is None:
        return
    if isinstance(element.value, (MultiValue, list, tuple)):
        element.value = [_mapped_uid(v) for v in element.value]
    else:
        element.value = _mapped_uid(element.value)


def _is_overlay_or_curve(group: int) -> bool:
    return 0x5000 <= group <= 0x50FF or 0x6000 <= group <= 0x60FF


def _clean(dataset: Dataset, element: DataElement) -> None:
    tag = element.tag
    if tag.is_private or _is_overlay_or_curve(tag.group):
        del dataset[tag]
    elif tag.group == 0x0010 or tag in BLANKED_TAGS or element.VR == "PN" or element.VR in DATE_TIME_VRS:
        element.value = Sequence() if element.VR == "SQ" else None
    elif element.VR == "UI":
        _replace_uids(element)


def deidentify_dataset(dataset: Dataset) -> None:
    """Apply the rules of this module to ``dataset`` (and its file meta) in place.

    Parameters
    ----------
    dataset : pydicom.dataset.Dataset
        One DICOM file as read by :func:`pydicom.dcmread`.
    """
    dataset.walk(_clean)
    meta = getattr(dataset, "file_meta", None)
    if meta is not None:
        # Only the elements named here are read: reading any other would decode it (a
        # damaged one by the dictionary's VR, see tests) where writing the raw element fails
        # and refuses the file.
        for tag in FILE_META_STATION_TAGS:
            if tag in meta:
                del meta[tag]
        if MEDIA_STORAGE_SOP_INSTANCE_UID in meta:
            _replace_uids(meta[MEDIA_STORAGE_SOP_INSTANCE_UID])
    dataset.preamble = b"\0" * 128
    dataset.PatientIdentityRemoved = "YES"
    dataset.DeidentificationMethod = list(METHOD_DESCRIPTION)
    dataset.LongitudinalTemporalInformationModified = "REMOVED"
