"""Defacing: the face of a head set to zero, as defacing tools leave it."""

from __future__ import annotations

import nibabel as nib
import numpy as np

from navsvc.coords import voxel_to_world
from navsvc.testing.heads.base import TransformedHead, _identity_map, _new_image, image_data


def deface(img: nib.Nifti1Image, brow_height_mm: float = -10.0, brow_front_mm: float = 80.0,
           slope: float = 0.9, behind_mm: float = 20.0) -> TransformedHead:
    """Set the face of a head in MNI-like world coordinates (Colin27's) to zero.

    The removed region lies below a plane through ``(y, z) = (brow_front_mm,
    brow_height_mm)`` falling ``slope`` mm per mm towards the back, and in front of
    ``y = behind_mm``: the nose, the eyes and the nasion, as common defacing masks do.
    Defacing follows acquisition: add noise first (``add_rician_noise(...).then(deface)``),
    or the removed region holds noise like air.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D head image in MNI-like world coordinates.
    brow_height_mm : float
        World z of the plane at ``y = brow_front_mm``, mm.
    brow_front_mm : float
        World y at which the plane is at ``brow_height_mm``, mm.
    slope : float
        How far the plane falls per mm towards the back (decreasing y), mm per mm.
    behind_mm : float
        World y, mm; only voxels in front of it (greater y) are removed.

    Returns
    -------
    TransformedHead
        float32 data with the face zeroed; world unchanged (identity maps).
    """
    data = np.array(image_data(img), dtype=np.float32)
    ijk = np.indices(data.shape).reshape(3, -1).T
    xyz = voxel_to_world(img.affine, ijk)
    face = (xyz[:, 2] < brow_height_mm - (brow_front_mm - xyz[:, 1]) * slope) & (xyz[:, 1] > behind_mm)
    data.reshape(-1)[face] = 0.0
    return TransformedHead(_new_image(data, img.affine), _identity_map, _identity_map, "defaced", np.eye(4),
                           {"brow_height_mm": brow_height_mm, "brow_front_mm": brow_front_mm, "slope": slope,
                            "behind_mm": behind_mm})
