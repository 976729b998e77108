"""The DICOM attribute rules of de-identification: what is removed, blanked or replaced.

The Basic Application Level Confidentiality Profile (DICOM PS3.15 Annex E), with every
attribute of its Table E.1-1 handled, plus wider rules where the table names attributes
one by one. Nothing the profile treats as identifying is stored; everything a converter
needs to rebuild the T1 volume (pixels, geometry, scaling, acquisition parameters) is kept,
because the table lists none of it.

- Table E.1-1 (:data:`PROFILE_TABLE_EDITION`, as the ``dicom-anonymizer`` package ships it):
  attributes whose action includes X are removed (:data:`REMOVED_TAGS`, 456 of them in
  this edition: comments, reasons, station and AE names, icons, original-attribute
  sequences, references to other images...); those whose action is D or Z are blanked
  (:data:`BLANKED_TAGS`); those whose action is U are UIDs, replaced below.
- The Patient module (group 0010) and every person name (VR PN), at any depth, are blanked.
- Every date, time and date-time (VR DA, TM, DT) is blanked: the scan's date is not needed to
  place a coil, and the course keeps its own dates.
- Private attributes, overlays (groups 60xx) and curves (50xx), which can hold names or
  burned-in text, and the 128-byte preamble are removed.
- Instance UIDs are replaced (profile action U): each becomes a ``2.25.`` UID derived
  from the original by a name-based UUID (RFC 4122 version 5, ISO/IEC 9834-8), so a
  series stays one series, references between files stay valid and the same upload
  gives the same bytes. UIDs under the DICOM root ``1.2.840.10008.`` name standard
  classes and transfer syntaxes, not people, and are kept.

The result is marked with Patient Identity Removed = YES and the method used.
"""

from __future__ import annotations

import uuid

from dicomanonymizer.dicomfields_selector import dicom_anonymization_database_selector
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag, Tag

#: edition of PS3.15 Table E.1-1, named as the dicom-anonymizer package names its copies
PROFILE_TABLE_EDITION = "dicomfields_2026c"
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
    "navsvc: DICOM PS3.15 E.1 basic profile, table " + PROFILE_TABLE_EDITION.split("_")[-1],
    "table E.1-1: X removed, D and Z blanked, U replaced",
    "patient module, person names, dates and times blanked",
    "private attributes, overlays and curves removed",
)


def _is_overlay_or_curve(group: int) -> bool:
    return 0x5000 <= group <= 0x50FF or 0x6000 <= group <= 0x60FF


def profile_table_tags(edition: str = PROFILE_TABLE_EDITION) -> tuple[frozenset[BaseTag], frozenset[BaseTag]]:
    """The attributes of Table E.1-1 that are removed and those that are blanked.

    Parameters
    ----------
    edition : str
        Name of the table's edition in the ``dicom-anonymizer`` package.

    Returns
    -------
    removed, blanked : frozenset of pydicom.tag.BaseTag
        Attributes whose action includes X (X, X/Z, X/D, X/Z/D, X/Z/U*), and those whose
        action is D, Z or Z/D. Attributes with action U (UIDs) are in neither.

    Raises
    ------
    ValueError
        If the table masks a range of tags outside the overlay and curve groups, which
        these rules remove whole (so a new edition cannot be taken in unread).
    """
    removed: set[BaseTag] = set()
    blanked: set[BaseTag] = set()
    for action, entries in dicom_anonymization_database_selector(edition).items():
        if action in ("ALL_TAGS", "U_TAGS"):
            continue
        for entry in entries:
            if len(entry) != 2:  # (group, element, group mask, element mask)
                if not _is_overlay_or_curve(entry[0]):
                    raise ValueError(f"Table E.1-1 ({edition}) masks tags outside groups 50xx and 60xx: {entry}")
                continue
            (removed if action.startswith("X") else blanked).add(Tag(*entry))
    return frozenset(removed), frozenset(blanked)


REMOVED_TAGS, BLANKED_TAGS = profile_table_tags()


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


def _clean(dataset: Dataset, element: DataElement) -> None:
    tag = element.tag
    if tag.is_private or _is_overlay_or_curve(tag.group) or tag in REMOVED_TAGS:
        del dataset[tag]
    elif tag.group == 0x0010 or tag in BLANKED_TAGS or element.VR == "PN" or element.VR in DATE_TIME_VRS:
        element.value = None  # pydicom makes an empty sequence of an SQ's None
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
