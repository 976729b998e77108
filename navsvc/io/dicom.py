"""DICOM series (a folder or a .zip) -> one NIfTI file, with the series chosen explicitly.

Conversion is done by dicom2nifti (maintained, pure Python); this module reads the files
(:func:`navsvc.io.dicom_read.read_dicom`), unpacks archives (:mod:`navsvc.io.zip_members`), finds the image
series and says clearly when the choice is ambiguous. On the way to the converter, a single-frame series is checked to
be one volume and its slices numbered in their order in space
(:mod:`navsvc.io.dicom_volumes`), an enhanced (multi-frame) instance gets its frames in
stack order, and every image is then found where its header places it
(:mod:`navsvc.io.dicom_frames`).
"""

from __future__ import annotations

import logging
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from navsvc.errors import InputError, shown_text
from navsvc.io import limits
from navsvc.io.dicom_frames import check_frame_placement, frames_in_stack_order, placed_frames
from navsvc.io.dicom_read import read_dicom
from navsvc.io.dicom_volumes import check_one_image_per_position, number_slices_by_position
from navsvc.io.zip_members import extract_zip_safely

# dicom2nifti logs its complaints as warnings; without a handler they would reach stderr
# through logging's last-resort handler (one line per slice). The InputError says it once.
logging.getLogger("dicom2nifti").addHandler(logging.NullHandler())

@dataclass(frozen=True)
class DicomSeries:
    """One image series found in a DICOM folder."""

    uid: str
    number: str
    description: str
    files: tuple[Path, ...]
    #: voxels the files' headers declare (Rows x Columns x frames, summed), before any pixel is read
    voxels: int = 0

    def label(self) -> str:
        """Short human description used in error messages."""
        return (f"series {shown_text(self.number) or '?'} '{shown_text(self.description)}' "
                f"({len(self.files)} files, UID {shown_text(self.uid)})")


def find_series(folder: Path) -> list[DicomSeries]:
    """Group the DICOM image files under ``folder`` by SeriesInstanceUID."""
    groups: dict[str, list[Path]] = defaultdict(list)
    meta: dict[str, tuple[str, str]] = {}
    voxels: dict[str, int] = defaultdict(int)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            # pydicom parses element values lazily, so every access below may raise too
            ds = read_dicom(path, stop_before_pixels=True)
            if not is_image_instance(ds):
                continue
            uid = series_uid_of(ds)
            info = (str(getattr(ds, "SeriesNumber", "")), str(getattr(ds, "SeriesDescription", "")))
            n_voxels = _declared_voxels(ds)
        except MemoryError:
            raise
        except Exception:  # noqa: BLE001 - pydicom raises many types on damaged files (fuzzed)
            continue  # not a readable DICOM image: not part of any image series
        groups[uid].append(path)
        meta[uid] = info
        voxels[uid] += n_voxels
    return [DicomSeries(uid, *meta[uid], tuple(files), voxels[uid]) for uid, files in groups.items()]


def series_uid_of(ds) -> str:
    """The series a DICOM dataset belongs to: its SeriesInstanceUID (``"unknown"`` without one,
    so the images that lack it form one series)."""
    return str(getattr(ds, "SeriesInstanceUID", "unknown"))


def _declared_voxels(ds) -> int:
    """Rows x Columns x NumberOfFrames as the header declares them (garbage counts as huge)."""
    try:
        return int(ds.get("Rows") or 0) * int(ds.get("Columns") or 0) * max(1, int(ds.get("NumberOfFrames") or 1))
    except (TypeError, ValueError):
        return limits.MAX_VOXELS + 1


def is_image_instance(ds) -> bool:
    """Whether a DICOM dataset is an image (not a report, document or presentation state).

    Works on datasets read with ``stop_before_pixels`` too, which drops PixelData: then
    Rows and Columns tell an image instance from a report.
    """
    return "PixelData" in ds or ("Rows" in ds and "Columns" in ds)


def choose_series(series: list[DicomSeries], wanted: str | None, source: str) -> DicomSeries:
    """Return the one series to convert, or raise naming the candidates.

    Parameters
    ----------
    series : list of DicomSeries
        The image series found (:func:`find_series`).
    wanted : str or None
        SeriesNumber or SeriesInstanceUID of the series to use; None when there must be only
        one series.
    source : str
        Name of the folder or archive in error messages.

    Returns
    -------
    DicomSeries
        The series matching ``wanted``, or the only series.

    Raises
    ------
    InputError
        No series; no series or more than one series matching ``wanted``; or several series
        and ``wanted`` is None.
    """
    if not series:
        raise InputError(f"{source} contains no DICOM image series: upload the folder of the T1 series")
    if wanted is not None:
        matches = [s for s in series if wanted in (s.uid, s.number)]
        if len(matches) > 1:  # scanners restart numbering per study: a zip of two has repeats
            raise InputError(f"{source} has {len(matches)} series numbered '{shown_text(wanted)}': "
                             + "; ".join(s.label() for s in matches) + ". Give the T1's UID instead")
        if matches:
            return matches[0]
        raise InputError(f"{source} has no series '{shown_text(wanted)}'; found: "
                         + "; ".join(s.label() for s in series))
    if len(series) > 1:
        raise InputError(
            f"{source} contains {len(series)} image series: "
            + "; ".join(s.label() for s in series)
            + ". Say which one is the T1 by its series number or UID (navsvc plan --series; "
            "on upload, the query parameter series)"
        )
    return series[0]


def dicom_to_nifti(source: Path, out_dir: Path, series: str | None = None) -> tuple[Path, DicomSeries]:
    """Convert the T1 series in a DICOM folder or ``.zip`` into ``out_dir/t1.nii.gz``.

    Parameters
    ----------
    source : Path
        A folder of DICOM files or a ``.zip`` of one.
    out_dir : Path
        Where the NIfTI file is written.
    series : str, optional
        SeriesNumber or SeriesInstanceUID to use when there are several.

    Returns
    -------
    tuple of (Path, DicomSeries)
        The NIfTI file and the series it was converted from.
    """
    folder = source
    if source.is_file():
        folder = extract_zip_safely(source, Path(tempfile.mkdtemp(dir=out_dir, prefix="dicom-")))
    chosen = choose_series(find_series(folder), series, source.name)
    if chosen.voxels > limits.MAX_VOXELS:
        # checked before pydicom and dicom2nifti load every pixel into memory
        raise InputError(
            f"{chosen.label()} declares {chosen.voxels:,} voxels, more than a head T1 needs "
            f"(limit {limits.MAX_VOXELS:,}): upload only the T1 series"
        )
    try:
        datasets = [read_dicom(p) for p in chosen.files]
    except (MemoryError, InputError):
        raise
    except Exception as exc:  # noqa: BLE001 - pydicom raises many types on damaged files
        raise InputError(
            f"{chosen.label()} has an unreadable file ({type(exc).__name__}): export the series again"
        ) from None
    without_pixels = sum(1 for ds in datasets if "PixelData" not in ds)
    if without_pixels:
        raise InputError(
            f"{chosen.label()}: {without_pixels} of {len(datasets)} files have no pixel data "
            "(headers only): export the series again with its images"
        )
    out_file = out_dir / "t1.nii.gz"
    try:
        check_one_image_per_position(datasets, chosen.label())
        number_slices_by_position(datasets)
        _convert_to_nifti(datasets, out_file, chosen.label())
    except (MemoryError, InputError):
        raise
    except Exception as exc:  # noqa: BLE001
        # pydicom and dicom2nifti raise ConversionError, ValueError, IndexError,
        # NotImplementedError, BytesLengthException, ... on damaged or odd series (found by
        # fuzzing); the series was size-checked above, so a failure here is about the input.
        raise InputError(
            f"{chosen.label()} could not be converted to a volume ({exc}): check that it is the "
            "whole 3-D T1 series"
        ) from None
    return out_file, chosen


def _convert_to_nifti(datasets: list, out_file: Path, label: str) -> None:
    """Write the series ``datasets`` (read by pydicom) as a NIfTI file, with dicom2nifti.

    dicom2nifti picks a converter by manufacturer. Its GE and Hitachi converters read
    classic single-frame images only, and failed on an enhanced (multi-frame) MR
    instance, the export format of newer scanners, with "no attribute
    'ImagePositionPatient'"; its Siemens and generic routes convert such an instance with
    its generic multi-frame converter, which every manufacturer but Philips now gets (its
    own converter reads Philips' private scaling). The frames of such an instance are put
    in stack order first. Every image of the series is then found at its own position in
    the converted volume (:mod:`navsvc.io.dicom_frames`).
    """
    from dicom2nifti import common, convert_dicom, convert_generic

    multiframe = common.is_multiframe_dicom(datasets)
    if multiframe and len(datasets) > 1:
        # dicom2nifti's multi-frame converters read the first instance only
        raise InputError(f"{label} holds {len(datasets)} files, the first of them a multi-frame image: "
                         "navsvc reads a series stored as one multi-frame file or as single-frame files. "
                         "Export the T1 volume as one series in one of those forms")
    if multiframe:
        frames_in_stack_order(datasets[0])
    if multiframe and not common.is_philips(datasets):
        converted = convert_generic.multiframe_to_nifti(datasets, str(out_file))
    else:
        converted = convert_dicom.dicom_array_to_nifti(datasets, str(out_file), reorient_nifti=False)
    volume = converted["NII"]
    data = np.asanyarray(volume.dataobj)
    if data.ndim == 3:  # several volumes are refused on loading
        check_frame_placement(placed_frames(datasets), data, volume.affine, label)
