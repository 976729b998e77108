"""Reading one DICOM file: a Part 10 file or a bare data set, never a value by its
declared length from the file (see :func:`read_dicom`)."""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from navsvc.errors import InputError
from navsvc.io import limits

# pydicom's value checks only warn, and a warning quotes the value ("Invalid value for VR UI:
# '...'"): header values of the patient's files, read before they are de-identified, would
# reach the service log. Process-wide, because uploads are read in several threads at once.
pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE

#: a header-only read skips values longer than this, bytes
_DEFER_BYTES = 2**20
#: the first two bytes of a bare little-endian data set: its first element's group, 0008
_GROUP_0008 = b"\x08\x00"


def read_dicom(source, stop_before_pixels: bool = False) -> pydicom.Dataset:
    """Read one DICOM file, also one stored without the Part 10 header.

    Older systems and some CD exports write the bare data set: no 128-byte preamble and
    ``DICM``, no file meta information (PS3.10 7.1). pydicom reads such a file only when
    forced, and a forced read takes anything for DICOM, so it is accepted only when it
    holds an image's SOP Class UID, Rows and Columns. Its transfer syntax (the one pydicom
    detected) is then recorded in a file meta, as the pixel decoders and converters need.

    No value is read by its declared length from a file: pydicom's file reader allocates
    that length up front, so a crafted or misread length cost gigabytes. A header-only
    read skips long values; a whole file is read into memory (at most
    :data:`navsvc.io.limits.MAX_DICOM_FILE_BYTES`) and parsed from there.

    Parameters
    ----------
    source : str, Path or binary file-like
        The file.
    stop_before_pixels : bool
        Leave the pixel data out (headers only).

    Returns
    -------
    pydicom.Dataset

    Raises
    ------
    pydicom.errors.InvalidDicomError
        When ``source`` is not a DICOM file.
    InputError
        When the file is larger than any file of a T1 series.
    """
    try:
        if hasattr(source, "read"):
            return pydicom.dcmread(source, stop_before_pixels=stop_before_pixels)
        path = Path(source)
        if stop_before_pixels:
            return pydicom.dcmread(path, stop_before_pixels=True, defer_size=_DEFER_BYTES)
        size = path.stat().st_size
        if size > limits.MAX_DICOM_FILE_BYTES:
            raise InputError(f"{path.name} holds {size:,} bytes, more than a T1 series' file can "
                             f"(limit {limits.MAX_DICOM_FILE_BYTES:,}): upload only the T1 series")
        return pydicom.dcmread(io.BytesIO(path.read_bytes()))
    except InvalidDicomError:
        pass
    content = _bare_data_set(source)
    if content is None:
        raise InvalidDicomError("not a DICOM file")
    try:
        # from memory, as above: a README's text read as a value length asked for 1.6 GB
        ds = pydicom.dcmread(io.BytesIO(content), stop_before_pixels=stop_before_pixels, force=True)
        if not ("SOPClassUID" in ds and "Rows" in ds and "Columns" in ds and str(ds.SOPClassUID).startswith("1.2.")):
            raise InvalidDicomError("no image")
        implicit_vr, little_endian = ds.original_encoding
    except MemoryError:
        raise
    except Exception:  # noqa: BLE001 - a forced read of a non-DICOM file fails in many ways
        raise InvalidDicomError("not a DICOM file") from None
    syntax = (ImplicitVRLittleEndian if implicit_vr
              else ExplicitVRLittleEndian if little_endian else ExplicitVRBigEndian)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    if "SOPInstanceUID" in ds:
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.preamble = b"\0" * 128  # written back (de-identified copies) as a Part 10 file
    return ds


def _bare_data_set(source) -> bytes | None:
    """The bytes of ``source`` when they may be a bare little-endian image data set.

    Such a data set begins with an element of group 0008 (identifying attributes; there
    is no group 0002 without a file meta, and image objects have no lower group).
    """
    if hasattr(source, "read"):
        source.seek(0)
        content = source.read(limits.MAX_DICOM_FILE_BYTES + 1)
    else:
        path = Path(source)
        with path.open("rb") as handle:
            if handle.read(2) != _GROUP_0008:
                return None
        if path.stat().st_size > limits.MAX_DICOM_FILE_BYTES:
            return None
        content = path.read_bytes()
    if len(content) > limits.MAX_DICOM_FILE_BYTES or content[:2] != _GROUP_0008:
        return None
    return content
