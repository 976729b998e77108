"""Remove identifying text from an uploaded T1 before it is stored.

- NIfTI (``.nii``, ``.nii.gz``, NIfTI-1 or -2): the free-text header fields ``descrip``,
  ``aux_file``, ``intent_name``, NIfTI-1's unused ``db_name`` and ``data_type`` and NIfTI-2's
  ``unused_str`` are blanked and header extensions are dropped, because converters may embed
  the whole DICOM header (patient name included) there. Every other header field and the voxel
  bytes are copied unchanged, so the geometry is exactly the uploaded one; bytes after the data
  block (which no reader uses and which may hold anything) are not copied.
- DICOM series in a ``.zip``: every DICOM file goes through the attribute rules of
  :mod:`navsvc.io.dicom_confidentiality` (DICOM PS3.15 Table E.1-1 applied whole; the patient
  module, person names, dates and times blanked; private attributes removed; instance UIDs
  replaced); members that are not DICOM images (other files, reports, encapsulated PDFs) are
  left out and members are renamed by index, because folder and file names often carry the
  patient's name.
  A member that is DICOM but cannot be read cannot be de-identified, nor can an image
  whose pixels show text (Burned In Annotation YES, PS3.15 E.1.1): the archive is refused.

Outputs are deterministic (gzip and zip timestamps fixed), so the same upload gives
the same stored bytes and the same content address.
"""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from pathlib import Path

import nibabel as nib
from pydicom.errors import InvalidDicomError

from navsvc.errors import InputError, shown_text
from navsvc.io.dicom import is_image_instance, series_uid_of
from navsvc.io.zip_members import checked_members, read_member
from navsvc.io.dicom_read import read_dicom
from navsvc.io.dicom_confidentiality import deidentify_dataset
from navsvc.io.nifti import damaged_gzip_error, data_block_bytes

#: NIfTI header text fields that may hold identifying free text: every text field but ``magic``
#: and NIfTI-1's one-byte ``regular`` (the last three are unused, so any writer may fill them)
NIFTI_TEXT_FIELDS = ("descrip", "aux_file", "intent_name", "db_name", "data_type", "unused_str")

_COPY_BYTES = 1024 * 1024
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _header_class(first4: bytes):
    for klass, size in ((nib.Nifti1Header, 348), (nib.Nifti2Header, 540)):
        if size in (int.from_bytes(first4, "little"), int.from_bytes(first4, "big")):
            return klass
    raise InputError("not a single-file NIfTI image (.nii or .nii.gz)")


def deidentify_nifti(source: Path, target: Path) -> None:
    """Write ``source`` to ``target`` with identifying header text removed.

    Parameters
    ----------
    source, target : Path
        Input and output files; a ``.gz`` suffix means gzip-compressed.
    """
    opener = gzip.open if source.name.lower().endswith(".gz") else open
    with opener(source, "rb") as src:
        klass = _header_class(src.read(4))
        src.seek(0)
        header = klass.from_fileobj(src, check=False)
        if bytes(header["magic"]).rstrip(b"\x00") not in (b"n+1", b"n+2"):
            raise InputError("only single-file NIfTI is accepted (.nii/.nii.gz, not .hdr/.img)")
        data_offset = max(int(header["vox_offset"]), src.tell())
        src.seek(data_offset)
        for field in NIFTI_TEXT_FIELDS:
            if field in header:
                header[field] = b""
        header.extensions.clear()
        header["vox_offset"] = header.single_vox_offset
        with open(target, "wb") as raw:
            out = (gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)
                   if target.name.lower().endswith(".gz") else raw)
            header.write_to(out)
            try:
                _copy_bytes(src, out, data_block_bytes(header), source.name)
            except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
                raise damaged_gzip_error(source.name, exc) from None
            if out is not raw:
                out.close()


def _copy_bytes(src, out, n_bytes: int, name: str) -> None:
    """Copy exactly ``n_bytes`` from ``src`` to ``out``.

    Whatever follows the data block is left behind: no reader uses it, and it may hold
    anything, identifying text included.
    """
    left = n_bytes
    while left:
        chunk = src.read(min(left, _COPY_BYTES))
        if not chunk:
            raise InputError(f"{name} ends before its data block does: the file is truncated; export it again")
        out.write(chunk)
        left -= len(chunk)


def deidentify_dicom_bytes(data: bytes, series_uid: str | None = None) -> bytes | None:
    """Return a de-identified copy of one DICOM file, or ``None`` if it is not DICOM.

    Parameters
    ----------
    data : bytes
        The file's content.
    series_uid : str, optional
        Keep only an image of this series (SeriesInstanceUID, before de-identification).

    Returns
    -------
    bytes or None
        ``None`` when ``data`` is not DICOM (:func:`navsvc.io.dicom_read.read_dicom`) or is not an
        image: reports, encapsulated documents (a PDF keeps the patient's name inside,
        out of reach of attribute rules) and presentation states are left out, and so
        are images of another series than ``series_uid``.

    Raises
    ------
    InputError
        If the image says its pixels show identifying text (Burned In Annotation YES).
    Exception
        Of many types (pydicom's) when ``data`` is a damaged DICOM file.
    """
    try:
        dataset = read_dicom(io.BytesIO(data))
    except InvalidDicomError:
        return None
    if not is_image_instance(dataset):
        return None
    if series_uid is not None and series_uid_of(dataset) != series_uid:
        return None
    # PS3.15 E.1.1: text burned into the pixels is out of reach of any attribute rule
    if str(dataset.get("BurnedInAnnotation", "")).strip().upper() == "YES":
        raise InputError("an image of the series says its pixels show text that may identify the patient "
                         "(Burned In Annotation: YES), which de-identification cannot remove: export the T1 "
                         "series without annotations")
    deidentify_dataset(dataset)
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=False)
    return buffer.getvalue()


def deidentify_dicom_zip(source: Path, target: Path, series_uid: str | None = None) -> int:
    """Write a de-identified copy of the DICOM archive ``source`` to ``target`` (of its
    images of series ``series_uid`` only, when given).

    Parameters
    ----------
    source : Path
        The uploaded ``.zip``.
    target : Path
        The zip file to write: one member per kept image, named ``000000.dcm``,
        ``000001.dcm``, ... in the order of the source members' names.
    series_uid : str, optional
        SeriesInstanceUID (before de-identification) of the images to keep; None keeps the
        images of every series.

    Returns
    -------
    int
        Number of DICOM files written.

    Raises
    ------
    InputError
        If the archive is unreadable, too large, holds no DICOM image or a damaged DICOM file,
        or an image whose pixels show text (Burned In Annotation YES).
    """
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError):
        raise InputError("not a valid .zip archive: zip the DICOM folder again") from None
    written = 0
    with archive, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        members = sorted(checked_members(archive, "the archive"), key=lambda m: m.filename)
        for member in members:
            data = read_member(archive, member, "the archive")
            try:
                cleaned = deidentify_dicom_bytes(data, series_uid)
            except (MemoryError, InputError):
                raise
            except Exception as exc:  # noqa: BLE001 - pydicom raises many types on damaged files
                raise InputError(
                    f"the archive's member '{shown_text(member.filename)}' is a damaged DICOM file "
                    f"({type(exc).__name__}) and cannot be de-identified: remove it from the archive "
                    "or export the series again"
                ) from None
            if cleaned is None:
                continue
            info = zipfile.ZipInfo(f"{written:06d}.dcm", date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(info, cleaned)
            written += 1
    if written == 0:
        raise InputError("the archive holds no DICOM image: zip the folder of the T1 series"
                         if series_uid is None else
                         f"the archive holds no image of series {series_uid}: choose one of its series")
    return written


def deidentify_file(source: Path, target: Path, series_uid: str | None = None) -> None:
    """De-identify ``source`` (NIfTI or DICOM zip, by suffix) into ``target``; of a DICOM
    zip, keep the images of series ``series_uid`` only, when given.

    Parameters
    ----------
    source : Path
        The uploaded file: a name ending in ``.zip`` (any case) is read as a DICOM archive
        (:func:`deidentify_dicom_zip`), any other as a NIfTI file, gzip-compressed when it
        ends in ``.gz`` (:func:`deidentify_nifti`).
    target : Path
        The file to write; a NIfTI is gzip-compressed when its name ends in ``.gz``.
    series_uid : str, optional
        SeriesInstanceUID (before de-identification) of the DICOM images to keep; None keeps
        every series; unused for a NIfTI file.
    """
    if source.name.lower().endswith(".zip"):
        deidentify_dicom_zip(source, target, series_uid)
    else:
        deidentify_nifti(source, target)
