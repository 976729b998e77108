"""The one door every T1 input goes through: validated once here, trusted after."""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from navsvc.errors import InputError
from navsvc.io.background import put_background_at_zero
from navsvc.io.dicom import dicom_to_nifti
from navsvc.io.grey_levels import count_grey_levels, require_grey_levels
from navsvc.io.nifti import check_gzip_stream, read_nifti_data, read_nifti_header
from navsvc.io.nifti_names import named_for_its_content
from navsvc.io.nifti_orientation import world_space
from navsvc.io.outliers import clip_intensity_outliers


@dataclass(frozen=True)
class LoadedT1:
    """A validated T1 volume in its own voxel order.

    Attributes
    ----------
    data : ndarray, float32, 3-D
        Voxel intensities (scaling applied), shifted so that the air is at zero
        (:func:`navsvc.io.background.put_background_at_zero`), hot voxels clipped
        (:func:`navsvc.io.outliers.clip_intensity_outliers`).
    affine : ndarray (4, 4)
        Voxel-to-world (NIfTI RAS mm) affine.
    sha256 : str
        Checksum of the input file (or of the sorted files of a DICOM folder).
    source_format : str
        ``"nifti"`` or ``"dicom"``.
    world_space : str
        What the header says the world of ``affine`` is: the nibabel label of the code of
        the transform used (the sform when set, else the qform): ``"scanner"``,
        ``"aligned"``, ``"talairach"``, ``"mni"`` or ``"template"``.
    series_uid : str or None
        The SeriesInstanceUID of the DICOM series the volume was converted from (None
        for NIfTI).
    """

    data: np.ndarray
    affine: np.ndarray
    sha256: str
    source_format: str
    world_space: str
    series_uid: str | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        """Voxel counts along the three array axes."""
        return tuple(int(n) for n in self.data.shape)

    @property
    def voxel_size_mm(self) -> tuple[float, float, float]:
        """Voxel edge lengths along the array axes, mm."""
        return tuple(float(v) for v in np.sqrt((self.affine[:3, :3] ** 2).sum(axis=0)))

    @property
    def orientation(self) -> tuple[str, str, str]:
        """Closest world axis codes of the array axes (e.g. ``('L', 'I', 'A')``)."""
        return tuple(nib.aff2axcodes(self.affine))

    def to_nifti(self) -> nib.Nifti1Image:
        """The volume as an in-memory NIfTI image."""
        return nib.Nifti1Image(self.data, self.affine)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, or of a folder's files in sorted order."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        with open(f, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def _is_dicom_source(path: Path) -> bool:
    return path.is_dir() or (path.suffix.lower() == ".zip" and zipfile.is_zipfile(path))


def load_t1(path: str | Path, series: str | None = None, work_dir: str | Path | None = None) -> LoadedT1:
    """Load and validate a T1 from NIfTI (``.nii``/``.nii.gz``) or DICOM (folder or ``.zip``).

    Parameters
    ----------
    path : str or Path
        Input file or DICOM folder.
    series : str, optional
        DICOM SeriesNumber or SeriesInstanceUID when the input holds several series.
    work_dir : str or Path, optional
        Where a DICOM input is unpacked and converted (in a private folder inside it,
        deleted after reading): the raw files carry the patient's identity, so callers
        keep them in their own data folder. Default: the system temporary folder.

    Returns
    -------
    LoadedT1

    Raises
    ------
    InputError
        With a message that says what is wrong and what to do.
    """
    path = existing_input(path)
    checksum = file_sha256(path)
    dicom = _is_dicom_source(path)
    if path.suffix.lower() == ".zip" and not dicom:
        raise InputError(f"{path.name} is not a readable ZIP archive (damaged or not a zip): zip "
                         "the DICOM series folder again, or give the T1 as .nii/.nii.gz")
    if dicom:
        with tempfile.TemporaryDirectory(prefix="navsvc-dicom-", dir=work_dir) as tmp:
            nifti_path, chosen = dicom_to_nifti(path, Path(tmp), series)
            img = read_nifti_header(nifti_path)
            data = read_nifti_data(img, path.name)
        _put_intensities_in_range(data, path.name)
        return LoadedT1(data, img.affine.copy(), checksum, "dicom", world_space(img), chosen.uid)
    if series is not None:
        raise InputError(f"a DICOM series was named ({series!r}), but {path.name} is a NIfTI image: leave "
                         "the series out, or give the DICOM folder or .zip")
    with named_for_its_content(path, work_dir) as readable:
        img = read_nifti_header(readable, path.name)
        data = read_nifti_data(img, path.name)
        check_gzip_stream(readable, img, path.name)
    _put_intensities_in_range(data, path.name)
    return LoadedT1(data, img.affine.copy(), checksum, "nifti", world_space(img))


def _put_intensities_in_range(data: np.ndarray, name: str) -> None:
    """The air at zero, then hot voxels clipped (relative to that zero), in place; an image
    with a handful of intensities (a label map) refused."""
    levels = count_grey_levels(data)  # as stored: putting padding at the air level can merge two
    put_background_at_zero(data)
    clip_intensity_outliers(data, name)  # first: a nearly empty image is refused as that
    require_grey_levels(levels, name)


def existing_input(path: str | Path) -> Path:
    """Return ``path`` as a Path; InputError when nothing is there."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} does not exist: give the path of the T1 file")
    return path


def validate_t1_file(path: str | Path, series: str | None = None, work_dir: str | Path | None = None) -> dict:
    """Run every input check on ``path`` and describe the volume (no plan is made).

    Parameters
    ----------
    path, series, work_dir
        As for :func:`load_t1`.

    Returns
    -------
    dict
        ``shape``, ``voxel_size_mm``, ``orientation``, ``affine`` (voxel to RAS mm, 4x4
        nested list), ``format``, ``sha256``, ``series_uid`` (DICOM: the series checked;
        None for NIfTI).
    """
    t1 = load_t1(path, series, work_dir)
    return {
        "shape": list(t1.shape),
        "voxel_size_mm": [round(v, 4) for v in t1.voxel_size_mm],
        "orientation": list(t1.orientation),
        "affine": np.asarray(t1.affine, dtype=float).tolist(),
        "format": t1.source_format,
        "sha256": t1.sha256,
        "series_uid": t1.series_uid,
    }
