"""Bright markers placed in a head, and the intensity-weighted centroid that finds them again."""

from __future__ import annotations

import nibabel as nib
import numpy as np

from navsvc.coords import voxel_to_world, world_to_voxel
from navsvc.testing.heads.base import _new_image, image_data
from navsvc.testing.heads.intensity import robust_max


def add_marker(img: nib.Nifti1Image, centre_ras_mm, value: float | None = None,
               half_width_vox: int = 1) -> tuple[nib.Nifti1Image, np.ndarray]:
    """Add a bright cube of ``(2 h + 1)^3`` voxels around the voxel nearest a world point.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    centre_ras_mm : sequence of 3 float
        Wanted marker position, world RAS mm.
    value : float, optional
        Added intensity (default: 5 x :func:`robust_max`).
    half_width_vox : int
        ``h``: the cube spans ``2 h + 1`` voxels per axis.

    Returns
    -------
    image : nibabel.Nifti1Image
        float32 copy with the marker added.
    centre_ras_mm : ndarray (3,)
        World position of the marker's centre voxel (its exact centroid).
    """
    data = np.array(image_data(img), dtype=np.float32)
    ijk = np.round(world_to_voxel(img.affine, centre_ras_mm)[0]).astype(int)
    h = int(half_width_vox)
    if np.any(ijk - h < 0) or np.any(ijk + h >= np.asarray(data.shape)):
        raise ValueError(f"marker at {centre_ras_mm} mm falls outside the image")
    amount = 5.0 * robust_max(data) if value is None else float(value)
    data[ijk[0] - h: ijk[0] + h + 1, ijk[1] - h: ijk[1] + h + 1, ijk[2] - h: ijk[2] + h + 1] += amount
    return _new_image(data, img.affine), voxel_to_world(img.affine, ijk)[0]


def add_capsule(img: nib.Nifti1Image, centre_ras_mm, axis_ras, length_mm: float = 10.0,
                diameter_mm: float = 6.0, value: float | None = None) -> nib.Nifti1Image:
    """Add a capsule (a cylinder with round ends), as a vitamin-E marker taped to the scalp
    shows in a T1: its voxels are set to ``value``.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    centre_ras_mm : sequence of 3 float
        The capsule's centre, world RAS mm.
    axis_ras : sequence of 3 float
        Its long axis (any length).
    length_mm, diameter_mm : float
        Its size, end to end and across.
    value : float, optional
        Its intensity (default: :func:`robust_max`, as bright as the brightest tissue).

    Returns
    -------
    nibabel.Nifti1Image
        float32 copy with the capsule drawn in.
    """
    data = np.array(image_data(img), dtype=np.float32)
    inside = capsule_voxels(img, centre_ras_mm, axis_ras, length_mm, diameter_mm)
    data[inside[:, 0], inside[:, 1], inside[:, 2]] = robust_max(data) if value is None else float(value)
    return _new_image(data, img.affine)


def capsule_voxels(img: nib.Nifti1Image, centre_ras_mm, axis_ras, length_mm: float,
                   diameter_mm: float) -> np.ndarray:
    """Indices (N, 3) of the voxels of ``img`` whose centres lie in a capsule (a cylinder with
    round ends; a ball when ``length_mm`` equals ``diameter_mm``), world RAS mm.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image; its affine and voxel sizes are used, not its data.
    centre_ras_mm : sequence of 3 float
        The capsule's centre, world RAS mm.
    axis_ras : sequence of 3 float
        Its long axis (any non-zero length).
    length_mm : float
        Its length end to end, round ends included, mm (not less than ``diameter_mm``).
    diameter_mm : float
        Its diameter, mm.

    Returns
    -------
    numpy.ndarray of int, shape (n, 3)
        Voxel indices inside the capsule and the image.
    """
    centre = np.asarray(centre_ras_mm, dtype=np.float64)
    axis = np.asarray(axis_ras, dtype=np.float64) / np.linalg.norm(axis_ras)
    radius, half_length = diameter_mm / 2.0, length_mm / 2.0
    reach_vox = int(np.ceil(half_length / min(img.header.get_zooms()[:3]))) + 1
    around = np.round(world_to_voxel(img.affine, centre)[0]).astype(int)
    low, high = np.maximum(around - reach_vox, 0), np.minimum(around + reach_vox + 1, img.shape[:3])
    ijk = np.indices(np.maximum(high - low, 0)).reshape(3, -1).T + low
    offsets = voxel_to_world(img.affine, ijk) - centre
    along = offsets @ axis
    across = np.linalg.norm(offsets - along[:, None] * axis, axis=1)
    beyond_side = np.clip(np.abs(along) - (half_length - radius), 0.0, None)
    return ijk[beyond_side ** 2 + across ** 2 <= radius ** 2]


def weighted_centroid_ras_mm(weights: np.ndarray, affine: np.ndarray, min_fraction: float = 0.01) -> np.ndarray:
    """World (RAS mm) centroid of the positive ``weights`` (voxels below ``min_fraction`` of the peak ignored).

    Parameters
    ----------
    weights : numpy.ndarray, shape (i, j, k)
        Voxel weights, e.g. an image with a marker minus the image without it.
    affine : numpy.ndarray, shape (4, 4)
        Voxel-to-world (RAS mm) affine of the grid of ``weights``.
    min_fraction : float
        Voxels whose weight is not above this fraction of the largest weight are ignored.

    Returns
    -------
    numpy.ndarray, shape (3,)
        The weighted centroid, world RAS mm.
    """
    w = np.asarray(weights, dtype=np.float64)
    keep = w > min_fraction * w.max()
    ijk = np.argwhere(keep).astype(np.float64)
    centroid_ijk = (ijk * w[keep][:, None]).sum(axis=0) / w[keep].sum()
    return voxel_to_world(affine, centroid_ijk)[0]
