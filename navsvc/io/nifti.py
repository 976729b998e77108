"""Read a NIfTI T1 safely: header first, then the data block it promises."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import nibabel as nib
import numpy as np

from navsvc.errors import InputError
from navsvc.io import limits


def read_nifti_header(path: Path) -> nib.Nifti1Image:
    """Open ``path`` lazily (header only) and check what the header promises.

    Parameters
    ----------
    path : Path
        A ``.nii`` or ``.nii.gz`` file.

    Returns
    -------
    nibabel.Nifti1Image
        The lazily loaded image; its data has not been read.

    Raises
    ------
    InputError
        If the file is not a NIfTI image or its header describes something that
        cannot be a head T1 (dimensions, voxel size, field of view, memory).
    """
    if path.stat().st_size == 0:
        raise InputError(f"{path.name} is empty (0 bytes): upload the T1 file again")
    try:
        img = nib.load(str(path))
    except (nib.filebasedimages.ImageFileError, EOFError, OSError, zlib.error, ValueError) as exc:
        raise InputError(
            f"{path.name} is not a readable NIfTI image ({type(exc).__name__}): "
            "export the T1 as .nii/.nii.gz or upload the DICOM series as a .zip"
        ) from None
    if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
        raise InputError(f"{path.name} is a {type(img).__name__}, not NIfTI: convert it to .nii.gz")
    check_header(img, path.name)
    return img


def check_header(img: nib.Nifti1Image, name: str) -> None:
    """Raise :class:`InputError` if the header cannot describe a single head T1 volume."""
    shape = tuple(int(n) for n in img.header.get_data_shape())
    if any(n <= 0 for n in shape):
        raise InputError(f"{name} declares dimensions {shape}: every dimension must be positive")
    if len(shape) < 3 or (len(shape) == 3 and min(shape) == 1):
        raise InputError(f"{name} is a 2-D image {shape}: a 3-D T1 volume of the whole head is needed")
    if len(shape) > 3 and int(np.prod(shape[3:])) > 1:
        raise InputError(
            f"{name} holds {int(np.prod(shape[3:]))} volumes {shape}: upload a single 3-D T1 volume"
        )
    n_voxels = int(np.prod(shape[:3], dtype=np.float64))
    if n_voxels > limits.MAX_VOXELS:
        raise InputError(
            f"{name} declares {shape[:3]} = {n_voxels:,} voxels, more than a head T1 needs "
            f"(limit {limits.MAX_VOXELS:,}): check the file or downsample it"
        )
    dtype = img.header.get_data_dtype()
    if dtype.kind not in "iuf" or dtype.fields is not None:
        raise InputError(f"{name} stores {dtype} voxels: a scalar (integer or float) T1 is needed")
    affine = img.affine
    if not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-9:
        raise InputError(f"{name} has an invalid (singular or non-finite) voxel-to-world affine")
    voxel_mm = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    if np.any(voxel_mm < limits.MIN_VOXEL_MM) or np.any(voxel_mm > limits.MAX_VOXEL_MM):
        raise InputError(
            f"{name} has voxel sizes {np.round(voxel_mm, 3).tolist()} mm; accepted "
            f"{limits.MIN_VOXEL_MM}-{limits.MAX_VOXEL_MM} mm: use a structural T1 (about 1 mm)"
        )
    fov_mm = voxel_mm * np.asarray(shape[:3])
    if np.any(fov_mm < limits.MIN_FOV_MM) or np.any(fov_mm > limits.MAX_FOV_MM):
        raise InputError(
            f"{name} covers {np.round(fov_mm).tolist()} mm; every axis must hold a whole head "
            f"({limits.MIN_FOV_MM:.0f}-{limits.MAX_FOV_MM:.0f} mm): use a whole-head T1"
        )


def read_nifti_data(img: nib.Nifti1Image, name: str) -> np.ndarray:
    """Read the data block as a 3-D float32 array, refusing truncated or non-finite data."""
    try:
        data = np.asarray(img.dataobj, dtype=np.float32)
    except (EOFError, OSError, zlib.error, gzip.BadGzipFile, ValueError) as exc:
        raise InputError(
            f"{name} is truncated or corrupt: its data block could not be read "
            f"({type(exc).__name__}); copy the file again from the scanner or PACS"
        ) from None
    data = data.reshape(data.shape[:3])
    if not np.all(np.isfinite(data)):
        bad = int(np.size(data) - np.count_nonzero(np.isfinite(data)))
        raise InputError(f"{name} contains {bad:,} NaN/Inf voxels: re-export the T1 from the scanner")
    if float(data.max()) == float(data.min()):
        raise InputError(f"{name} is constant (every voxel = {float(data.min()):g}): it holds no image")
    return data
