"""DICOM files damaged in ways that make pydicom fail when it reads, walks or writes them."""

from __future__ import annotations

import struct


#: ways :func:`damage_dicom` damages one DICOM file; each makes pydicom fail differently when
#: the file is read, walked or written (found by fuzzing files of ``write_dicom_series``)
DICOM_DAMAGES = ("unknown_vr", "odd_length_us", "short_meta_group_length", "non_text_meta_vr",
                 "two_transfer_syntaxes", "meta_element_in_dataset")


def damage_dicom(raw: bytes, kind: str) -> bytes:
    """Damage one DICOM file written by ``write_dicom_series`` (explicit VR little endian).

    These are not corpus cases: beside a good series in an archive, ``load_t1`` uses the
    series and skips or tolerates the damaged file, so only de-identification meets it.

    Parameters
    ----------
    raw : bytes
        The file's bytes.
    kind : str
        One of :data:`DICOM_DAMAGES`: ``unknown_vr`` (SeriesInstanceUID has VR 'ZZ'),
        ``odd_length_us`` (Rows is 3 bytes long), ``short_meta_group_length`` ((0002,0000)
        is 2 bytes long), ``non_text_meta_vr`` (ImplementationVersionName has VR bytes 00 00),
        ``two_transfer_syntaxes`` (TransferSyntaxUID holds a backslash),
        ``meta_element_in_dataset`` (Manufacturer is tagged in group 0002).

    Returns
    -------
    bytes
    """
    def at(group: int, element: int, vr: bytes) -> int:
        found = raw.find(struct.pack("<HH", group, element) + vr)
        if found < 0:
            raise ValueError(f"no ({group:04X},{element:04X}) {vr!r} element")
        return found

    # an element is: tag (4 bytes), VR (2), value length (2), value
    if kind == "unknown_vr":
        i = at(0x0020, 0x000E, b"UI")
        return raw[: i + 4] + b"ZZ" + raw[i + 6 :]
    if kind == "odd_length_us":
        i = at(0x0028, 0x0010, b"US")
        return raw[: i + 6] + b"\x03\x00" + raw[i + 8 : i + 10] + b"\x00" + raw[i + 10 :]
    if kind == "short_meta_group_length":
        i = at(0x0002, 0x0000, b"UL")
        return raw[: i + 6] + b"\x02\x00" + raw[i + 8 : i + 10] + raw[i + 12 :]
    if kind == "non_text_meta_vr":
        i = at(0x0002, 0x0013, b"SH")
        return raw[: i + 4] + b"\x00\x00" + raw[i + 6 :]
    if kind == "two_transfer_syntaxes":
        i = at(0x0002, 0x0010, b"UI")
        return raw[: i + 8] + raw[i + 8 :].replace(b"1.2.840.10008.1.2.1\x00", b"1.2.840.10008.1.2\\1\x00", 1)
    if kind == "meta_element_in_dataset":
        i = at(0x0008, 0x0070, b"LO")
        return raw[:i] + struct.pack("<H", 0x0002) + raw[i + 2 :]
    raise ValueError(f"unknown damage {kind!r}")
