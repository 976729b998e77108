"""Resampled voxels: the same head on a grid of other voxel sizes."""

from __future__ import annotations

import nibabel as nib
import numpy as np
from scipy import ndimage

from navsvc.testing.heads.base import TransformedHead, _identity_map, _new_image, image_data


def resample(img: nib.Nifti1Image, voxel_size_mm=(1.2, 1.2, 1.5)) -> TransformedHead:
    """Resample onto a grid of other voxel sizes along the same axes (world unchanged).

    The new grid keeps the axis directions of ``img`` and covers its field of view
    (voxel edges to voxel edges). Before trilinear interpolation the data are
    smoothed along each axis that gets coarser with a Gaussian of standard deviation
    ``0.4 * sqrt(s**2 - 1)`` old voxels (s = new/old size), roughly the partial-volume
    blur of a scan acquired at the coarser resolution.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    voxel_size_mm : sequence of 3 float
        New voxel edge lengths along the array axes, mm.

    Returns
    -------
    TransformedHead
        float32 data; both point maps are the identity.
    """
    old_mm = np.sqrt((np.asarray(img.affine)[:3, :3] ** 2).sum(axis=0))
    new_mm = np.asarray(voxel_size_mm, dtype=np.float64)
    if new_mm.shape != (3,) or np.any(new_mm <= 0):
        raise ValueError(f"voxel_size_mm must be 3 positive lengths, got {voxel_size_mm}")
    step = new_mm / old_mm  # new voxel step in old voxel units
    shape = np.asarray(img.shape[:3])
    new_shape = tuple(int(n) for n in np.ceil(shape / step - 1e-9))
    # new index j sits at old index step*j + offset: first new voxel centre half a new
    # voxel inside the old grid's first voxel edge (old index -0.5)
    offset = -0.5 + step / 2.0
    new_to_old = np.eye(4)
    new_to_old[:3, :3] = np.diag(step)
    new_to_old[:3, 3] = offset
    data = np.asarray(image_data(img), dtype=np.float32)
    sigma = 0.4 * np.sqrt(np.clip(step**2 - 1.0, 0.0, None))
    if np.any(sigma > 0):
        data = ndimage.gaussian_filter(data, sigma=sigma, mode="nearest")
    new_data = ndimage.affine_transform(data, np.diag(step), offset=offset, output_shape=new_shape,
                                        order=1, mode="nearest")
    new_img = _new_image(new_data.astype(np.float32), np.asarray(img.affine) @ new_to_old)
    sizes = [round(float(v), 3) for v in new_mm]
    return TransformedHead(new_img, _identity_map, _identity_map, f"resample {sizes} mm", np.eye(4),
                           {"voxel_size_mm": sizes})


def widen_field_of_view(img: nib.Nifti1Image, shape) -> TransformedHead:
    """Put the voxel array in the middle of a larger one of zeros (world unchanged).

    What a scanner's larger field of view adds: air around the head. Along each axis the
    extra voxels are split evenly, the odd one after the data.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    shape : sequence of 3 int
        The new array shape, at least ``img.shape`` along every axis.

    Returns
    -------
    TransformedHead
        The data in their own type; both point maps are the identity.
    """
    old_shape = np.asarray(img.shape[:3])
    new_shape = np.asarray(shape, dtype=int)
    if new_shape.shape != (3,) or np.any(new_shape < old_shape):
        raise ValueError(f"shape must be 3 lengths of at least {tuple(old_shape)}, got {shape}")
    before = (new_shape - old_shape) // 2
    data = np.pad(image_data(img), [(int(b), int(n - o - b)) for b, n, o in zip(before, new_shape, old_shape)])
    shift = np.eye(4)
    shift[:3, 3] = -before  # new voxel before + i is old voxel i
    new_img = _new_image(data, np.asarray(img.affine) @ shift)
    return TransformedHead(new_img, _identity_map, _identity_map, f"field of view widened to {tuple(new_shape.tolist())}",
                           np.eye(4), {"shape": new_shape.tolist()})
