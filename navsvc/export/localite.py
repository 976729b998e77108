"""Localite TMS Navigator: InstrumentMarkerList export, Instrument/TriggerMarker reader.

File layout (Localite TMS Navigator session folders; checked against the
Localite files shipped as SimNIBS test data)::

    <InstrumentMarkerList coordinateSpace="RAS">
      <InstrumentMarker alwaysVisible="false" index="0" selected="false">
        <Marker additionalInformation="" color="#ff0000" description="..." set="true">
          <Matrix4D data00=".." ... data33=".."/>      (dataRC = row R, column C)

Delivered pulses are in ``TMSTrigger/TriggerMarkers_Coil<N>_<date>.xml``: a
``TriggerMarkerList`` (attribute ``startTime``, wall-clock ``HH:MM:SS.fff``) of
``TriggerMarker`` elements (attributes ``description``, ``recordingTime`` in ms
since ``startTime``, ``set``) each holding a ``Matrix4D``. Pulses given while the
coil was not tracked are written with ``set="false"`` and an identity matrix;
the reader skips them.

Coil axes: Localite x = SimNIBS z (into the head), y = -SimNIBS y, z = SimNIBS
x; ``coordinateSpace`` is ``RAS`` for NIfTI images or ``LPS`` for DICOM.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import numpy as np

from navsvc.errors import InputError
from navsvc.export.conventions import (
    check_pose,
    check_space,
    localite_to_simnibs,
    plain_decimal,
    ras_to_space,
    simnibs_to_localite,
    space_to_ras,
)
from navsvc.export.poses import DELIVERED, PLANNED, ExportFile, PlanExport, RecordedPose
from navsvc.export.poses import check_size

MEDIA_TYPE = "application/xml"


def _comment_text(text: str) -> str:
    # XML 1.0 §2.5: a comment may not contain "--" nor end with "-"; a space after each
    # such hyphen keeps every character of the plan id and strategy readable
    return re.sub(r"-(?=-|$)", "- ", text)


def write_localite(export: PlanExport, space: str = "ras") -> ExportFile:
    """Write the plan's coil poses as a Localite ``InstrumentMarkerList``.

    Parameters
    ----------
    export : PlanExport
        Poses of the plan (planned coil, optional along-normal alternative).
    space : str
        ``"ras"`` (NIfTI project) or ``"lps"`` (DICOM project).

    Returns
    -------
    ExportFile
        ``<stem>_InstrumentMarker.xml``, one ``InstrumentMarker`` per pose.
    """
    space = check_space(space)
    root = ET.Element("InstrumentMarkerList", coordinateSpace=space.upper())
    root.append(ET.Comment(_comment_text(
        f" {export.label}. Written by navsvc. Positions in mm, {space.upper()} world "
        "space; Localite coil axes (x into the head). ")))
    for index, pose in enumerate(export.poses):
        matrix = ras_to_space(simnibs_to_localite(pose.matrix_ras), space)
        instrument = ET.SubElement(root, "InstrumentMarker", alwaysVisible="false",
                                   index=str(index), selected="false")
        marker = ET.SubElement(instrument, "Marker", additionalInformation="",
                               color="#ff0000", description=pose.name, set="true")
        ET.SubElement(marker, "Matrix4D", {f"data{r}{c}": plain_decimal(matrix[r, c])
                                           for r in range(4) for c in range(4)})
    ET.indent(root, space="    ")
    content = b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")
    return ExportFile(f"{export.stem}_InstrumentMarker.xml", MEDIA_TYPE, content + b"\n")


def _parse_xml(data: bytes) -> ET.Element:
    data = check_size(data, "Localite file")
    # no Localite file declares a DTD; refusing them rules out entity expansion attacks
    if re.search(rb"<!(DOCTYPE|ENTITY)", data, re.IGNORECASE):
        raise InputError("Localite file: XML document type declarations are not accepted")
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise InputError(f"Localite file: not well-formed XML ({exc})") from None
    except LookupError as exc:  # the XML declaration names an encoding Python does not know
        raise InputError(f"Localite file: {exc}: save it again as UTF-8") from None


def _matrix(element: ET.Element | None, what: str) -> np.ndarray:
    if element is None:
        raise InputError(f"Localite file: {what} has no Matrix4D")
    try:
        values = [[float(element.attrib[f"data{r}{c}"]) for c in range(4)] for r in range(4)]
    except KeyError as exc:
        raise InputError(f"Localite file: {what} Matrix4D lacks attribute {exc}") from None
    except ValueError as exc:
        raise InputError(f"Localite file: {what} Matrix4D has a non-number ({exc})") from None
    return np.array(values)


def _clock(start: str | None, offset_ms: str | None) -> str | None:
    if offset_ms is None:
        return None
    try:
        offset = timedelta(milliseconds=float(offset_ms))
    except (ValueError, OverflowError):  # not a number, or beyond any clock ("inf", "1e300")
        return None
    try:
        clock = datetime.strptime(start or "", "%H:%M:%S.%f") + offset
    except (ValueError, OverflowError):  # no start time, or a sum past the calendar's end
        return f"{offset_ms} ms after list start"
    return clock.strftime("%H:%M:%S.%f")[:-3]


def _to_pose(matrix: np.ndarray, space: str, what: str) -> np.ndarray:
    return check_pose(space_to_ras(localite_to_simnibs(matrix), space), f"Localite {what}")


def read_localite(data: bytes) -> list[RecordedPose]:
    """Read a Localite ``InstrumentMarkerList`` or ``TriggerMarkerList``.

    Parameters
    ----------
    data : bytes
        Content of the XML file.

    Returns
    -------
    list of RecordedPose
        Poses in the SimNIBS convention, RAS, mm: ``kind="planned"`` for
        instrument markers, ``kind="delivered"`` for trigger markers (with
        ``session`` = list start time, ``index`` = 1-based pulse number and
        ``recorded_at`` = wall-clock time of the pulse). Untracked pulses and
        markers with ``set="false"`` are skipped.
    """
    root = _parse_xml(data)
    if root.tag not in ("InstrumentMarkerList", "TriggerMarkerList"):
        raise InputError(f"Localite file: root element <{root.tag}> is neither "
                         "InstrumentMarkerList nor TriggerMarkerList")
    declared = root.get("coordinateSpace")
    if declared is None:
        raise InputError("Localite file: no coordinateSpace attribute, cannot tell RAS from LPS")
    if declared.strip().lower() not in ("ras", "lps"):
        raise InputError(f"Localite file: coordinateSpace {declared!r} is not RAS or LPS")
    space = check_space(declared)
    poses: list[RecordedPose] = []
    if root.tag == "InstrumentMarkerList":
        for number, instrument in enumerate(root.iter("InstrumentMarker"), start=1):
            marker = instrument.find("Marker")
            if marker is None:
                raise InputError(f"Localite file: InstrumentMarker {number} has no Marker")
            if marker.get("set", "true").lower() == "false":
                continue
            name = marker.get("description") or f"marker {number}"
            matrix = _matrix(marker.find("Matrix4D"), f"marker {name!r}")
            poses.append(RecordedPose(name, _to_pose(matrix, space, f"marker {name!r}"),
                                      index=number, kind=PLANNED))
    else:
        start = root.get("startTime")
        session = f"TriggerMarkerList {start}" if start else None
        for number, trigger in enumerate(root.iter("TriggerMarker"), start=1):
            matrix = _matrix(trigger.find("Matrix4D"), f"TriggerMarker {number}")
            if trigger.get("set", "true").lower() == "false" or np.allclose(matrix, np.eye(4)):
                continue
            name = trigger.get("description") or f"pulse {number}"
            poses.append(RecordedPose(
                name, _to_pose(matrix, space, f"TriggerMarker {number}"), session=session,
                index=number, recorded_at=_clock(start, trigger.get("recordingTime")),
                kind=DELIVERED))
    if not poses:
        raise InputError(f"Localite file: {root.tag} holds no tracked coil pose")
    return poses
