"""DICOM series (a folder or a .zip) -> one NIfTI file, with the series chosen explicitly.

Conversion is done by dicom2nifti (maintained, pure Python); this module only finds
the image series, unpacks archives safely and says clearly when the choice is ambiguous.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pydicom
from pydicom.errors import InvalidDicomError

from navsvc.errors import InputError
from navsvc.io import limits


@dataclass(frozen=True)
class DicomSeries:
    """One image series found in a DICOM folder."""

    uid: str
    number: str
    description: str
    files: tuple[Path, ...]

    def label(self) -> str:
        """Short human description used in error messages."""
        return f"series {self.number or '?'} '{self.description}' ({len(self.files)} files, UID {self.uid})"


def extract_zip_safely(zip_path: Path, dest: Path) -> Path:
    """Unpack ``zip_path`` into ``dest`` refusing traversal names, bombs and huge archives."""
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError):
        raise InputError(f"{zip_path.name} is not a valid .zip archive: zip the DICOM folder again") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > limits.MAX_ARCHIVE_MEMBERS:
            raise InputError(f"{zip_path.name} holds {len(members):,} files; at most {limits.MAX_ARCHIVE_MEMBERS:,}")
        total = sum(m.file_size for m in members)
        if total > limits.MAX_ARCHIVE_BYTES:
            raise InputError(
                f"{zip_path.name} would unpack to {total / 2**30:.1f} GiB (limit "
                f"{limits.MAX_ARCHIVE_BYTES / 2**30:.0f} GiB): upload only the T1 series"
            )
        for member in members:
            name = PurePosixPath(member.filename.replace("\\", "/"))
            if name.is_absolute() or ".." in name.parts:
                raise InputError(f"{zip_path.name} contains an unsafe path '{member.filename}': refused")
        for index, member in enumerate(members):
            target = dest / f"{index:06d}.dcm"
            written = 0
            with archive.open(member) as src, open(target, "wb") as out:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > member.file_size:  # header lied about the size: a zip bomb
                        raise InputError(f"{zip_path.name}: member '{member.filename}' is larger than declared")
                    out.write(chunk)
    return dest


def find_series(folder: Path) -> list[DicomSeries]:
    """Group the DICOM image files under ``folder`` by SeriesInstanceUID."""
    groups: dict[str, list[Path]] = defaultdict(list)
    meta: dict[str, tuple[str, str]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, OSError, ValueError, EOFError, AttributeError):
            continue
        if "PixelData" not in ds and not _declares_pixels(ds):
            continue
        uid = str(getattr(ds, "SeriesInstanceUID", "unknown"))
        groups[uid].append(path)
        meta[uid] = (str(getattr(ds, "SeriesNumber", "")), str(getattr(ds, "SeriesDescription", "")))
    return [DicomSeries(uid, *meta[uid], tuple(files)) for uid, files in groups.items()]


def _declares_pixels(ds) -> bool:
    # stop_before_pixels drops PixelData; Rows/Columns tell an image instance from a report.
    return "Rows" in ds and "Columns" in ds


def choose_series(series: list[DicomSeries], wanted: str | None, source: str) -> DicomSeries:
    """Return the one series to convert, or raise naming the candidates."""
    if not series:
        raise InputError(f"{source} contains no DICOM image series: upload the folder of the T1 series")
    if wanted is not None:
        for s in series:
            if wanted in (s.uid, s.number):
                return s
        raise InputError(f"{source} has no series '{wanted}'; found: " + "; ".join(s.label() for s in series))
    if len(series) > 1:
        raise InputError(
            f"{source} contains {len(series)} image series: "
            + "; ".join(s.label() for s in series)
            + ". Say which one is the T1 (series number or UID)"
        )
    return series[0]


def dicom_to_nifti(source: Path, out_dir: Path, series: str | None = None) -> Path:
    """Convert the T1 series in a DICOM folder or ``.zip`` into ``out_dir/t1.nii.gz``.

    Parameters
    ----------
    source : Path
        A folder of DICOM files or a ``.zip`` of one.
    out_dir : Path
        Where the NIfTI file is written.
    series : str, optional
        SeriesNumber or SeriesInstanceUID to use when there are several.
    """
    import dicom2nifti.convert_dicom
    from dicom2nifti.exceptions import ConversionError, ConversionValidationError

    folder = source
    if source.is_file():
        folder = extract_zip_safely(source, Path(tempfile.mkdtemp(dir=out_dir, prefix="dicom-")))
    chosen = choose_series(find_series(folder), series, source.name)
    datasets = [pydicom.dcmread(p) for p in chosen.files]
    out_file = out_dir / "t1.nii.gz"
    try:
        dicom2nifti.convert_dicom.dicom_array_to_nifti(datasets, str(out_file), reorient_nifti=False)
    except (ConversionError, ConversionValidationError, ValueError, AttributeError, KeyError) as exc:
        raise InputError(f"{chosen.label()} could not be converted to a volume: {exc}") from None
    return out_file
