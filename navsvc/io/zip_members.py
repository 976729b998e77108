"""Unpack an uploaded .zip archive safely: every member is checked (count, unpacked size,
name, encryption, compression) before any is read, and a member whose data expand past
their declared size or fail their CRC is refused, with the member named."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path, PurePosixPath

from navsvc.errors import InputError, shown_text
from navsvc.io import limits

#: compression methods Python's zipfile can read (PKWARE APPNOTE 4.4.5)
_READABLE_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
#: what zipfile, zlib, bz2 and lzma raise on damaged member data
_MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError, NotImplementedError)


def checked_members(archive: zipfile.ZipFile, source: str) -> list[zipfile.ZipInfo]:
    """The file members of an open archive, once the archive as a whole is safe to read.

    Parameters
    ----------
    archive : zipfile.ZipFile
        The open archive.
    source : str
        Its name in error messages.

    Returns
    -------
    list of zipfile.ZipInfo
        Members that are files, in archive order.

    Raises
    ------
    InputError
        Too many members, too many bytes once unpacked (in all or in one member), a
        traversal or absolute name, an encrypted member or an unsupported compression method.
    """
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > limits.MAX_ARCHIVE_MEMBERS:
        raise InputError(f"{source} holds {len(members):,} files; at most {limits.MAX_ARCHIVE_MEMBERS:,}")
    total = sum(m.file_size for m in members)
    if total > limits.MAX_ARCHIVE_BYTES:
        raise InputError(
            f"{source} would unpack to {total / 2**30:.1f} GiB (limit "
            f"{limits.MAX_ARCHIVE_BYTES / 2**30:.0f} GiB): upload only the T1 series"
        )
    for member in members:
        if member.file_size > limits.MAX_DICOM_FILE_BYTES:
            raise InputError(
                f"{source}: member '{shown_text(member.filename)}' would unpack to "
                f"{member.file_size / 2**20:,.0f} MiB, more than one DICOM file of a T1 holds "
                f"(limit {limits.MAX_DICOM_FILE_BYTES / 2**20:,.0f} MiB): upload only the T1 series"
            )
        name = PurePosixPath(member.filename.replace("\\", "/"))
        if name.is_absolute() or ".." in name.parts:
            raise InputError(
                f"{source} contains an unsafe path '{shown_text(member.filename)}': refused"
            )
        if member.flag_bits & 0x1:
            raise InputError(
                f"{source}: member '{shown_text(member.filename)}' is encrypted: zip the "
                "DICOM folder again without a password"
            )
        if member.compress_type not in _READABLE_METHODS:
            raise InputError(
                f"{source}: member '{shown_text(member.filename)}' uses compression method "
                f"{member.compress_type}, which is not supported: zip the folder again with deflate"
            )
    return members


def extract_zip_safely(zip_path: Path, dest: Path) -> Path:
    """Unpack ``zip_path`` into ``dest`` refusing traversal names, bombs and huge archives.

    Parameters
    ----------
    zip_path : Path
        The ``.zip`` file; its name is used in error messages.
    dest : Path
        An existing folder; each file member is written to it flat, as ``000000.dcm``,
        ``000001.dcm``, ... in archive order (member names are not used).

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    InputError
        The file is not a readable zip archive, :func:`checked_members` refuses it, or a
        member's data are damaged or longer than declared.
    """
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError):
        raise InputError(f"{zip_path.name} is not a valid .zip archive: zip the DICOM folder again") from None
    with archive:
        for index, member in enumerate(checked_members(archive, zip_path.name)):
            _extract_member(archive, member, dest / f"{index:06d}.dcm", zip_path.name)
    return dest


def read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, source: str) -> bytes:
    """One member of an archive checked by :func:`checked_members`, read into memory.

    Parameters
    ----------
    archive : zipfile.ZipFile
        The open archive.
    member : zipfile.ZipInfo
        One of the members :func:`checked_members` returned.
    source : str
        The archive's name in error messages.

    Returns
    -------
    bytes
        The member's unpacked content.

    Raises
    ------
    InputError
        When its data are damaged or longer than declared.
    """
    try:
        with archive.open(member) as src:
            data = src.read(member.file_size + 1)
    except _MEMBER_ERRORS as exc:
        raise _corrupt_member(source, member, exc) from None
    if len(data) > member.file_size:
        raise InputError(f"{source}: member '{shown_text(member.filename)}' is larger than declared")
    return data


def _extract_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, source: str) -> None:
    """Copy one member to ``target`` in bounded chunks, turning damaged data into InputError.

    zipfile never returns more than the declared ``file_size`` and then checks the
    CRC, so a member whose stream expands beyond its declared size (a zip bomb) ends
    in a CRC error here, after at most ``file_size`` bytes.
    """
    written = 0
    try:
        src = archive.open(member)
    except _MEMBER_ERRORS as exc:
        raise _corrupt_member(source, member, exc) from None
    with src, open(target, "wb") as out:
        while True:
            try:
                chunk = src.read(1 << 20)
            except _MEMBER_ERRORS as exc:
                raise _corrupt_member(source, member, exc) from None
            if not chunk:
                break
            written += len(chunk)
            if written > member.file_size:  # defence in depth: zipfile already stops here
                raise InputError(f"{source}: member '{shown_text(member.filename)}' is larger than declared")
            out.write(chunk)


def _corrupt_member(source: str, member: zipfile.ZipInfo, exc: Exception) -> InputError:
    return InputError(
        f"{source}: member '{shown_text(member.filename)}' is corrupt or not what the archive declares "
        f"({type(exc).__name__}: {exc}): zip the DICOM folder again"
    )
