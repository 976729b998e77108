"""A fluid-filled ball in the brain, as an old infarct, a cyst or a resection cavity shows in a T1."""

from __future__ import annotations

import nibabel as nib
import numpy as np

from navsvc.testing.heads.base import TransformedHead, _identity_map, _new_image, image_data
from navsvc.testing.heads.markers import capsule_voxels


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
    ijk = capsule_voxels(img, centre_ras_mm, (0.0, 0.0, 1.0), diameter_mm, diameter_mm)  # a ball
    if within is not None:
        ijk = ijk[within[ijk[:, 0], ijk[:, 1], ijk[:, 2]]]
    data[ijk[:, 0], ijk[:, 1], ijk[:, 2]] = fluid_value
    return TransformedHead(_new_image(data, img.affine), _identity_map, _identity_map,
                           f"fluid ball {diameter_mm:g} mm", np.eye(4),
                           {"centre_ras_mm": [float(v) for v in centre_ras_mm], "diameter_mm": float(diameter_mm),
                            "voxels": len(ijk)})
