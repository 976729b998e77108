"""A fluid-filled ball in the brain, as an old infarct, a cyst or a resection cavity shows in a T1."""

from __future__ import annotations

import nibabel as nib
import numpy as np

from navsvc.testing.heads.base import TransformedHead, _grid_world, _identity_map, _new_image, image_data


def add_fluid_ball(img: nib.Nifti1Image, centre_ras_mm, diameter_mm: float, fluid_value: float,
                   within: np.ndarray | None = None) -> TransformedHead:
    """Set the voxels of a ball to the intensity of fluid (world unchanged).

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    centre_ras_mm : sequence of 3 float
        The ball's centre, world RAS mm.
    diameter_mm : float
        Its diameter, mm.
    fluid_value : float
        The intensity of cerebrospinal fluid in this image (Colin27's reads about 30, its white
        matter 113).
    within : bool array, optional
        Only these voxels change (the brain, so that skull and scalp stay as they are).

    Returns
    -------
    TransformedHead
        float32 data; identity maps.
    """
    data = np.array(image_data(img), dtype=np.float32)
    x, y, z = _grid_world(img.affine, list(np.indices(data.shape)))
    cx, cy, cz = (float(v) for v in centre_ras_mm)
    ball = (x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2 <= (diameter_mm / 2.0) ** 2
    if within is not None:
        ball &= within
    data[ball] = fluid_value
    return TransformedHead(_new_image(data, img.affine), _identity_map, _identity_map,
                           f"fluid ball {diameter_mm:g} mm", np.eye(4),
                           {"centre_ras_mm": [cx, cy, cz], "diameter_mm": float(diameter_mm), "voxels": int(ball.sum())})
