"""Atrophy: a brain shrunk inside its skull, its sulci widened, the space left filled with fluid."""

from __future__ import annotations

import nibabel as nib
import numpy as np
from scipy import ndimage

from navsvc.coords import as_points, voxel_to_world
from navsvc.testing.heads.base import TransformedHead, _identity_map, _new_image, image_data


def _brain_mask_of(img: nib.Nifti1Image, brain_mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(brain_mask, dtype=bool)
    if mask.shape != img.shape[:3] or not mask.any():
        raise ValueError(f"brain mask of shape {mask.shape} is empty or not on the image's grid {img.shape[:3]}")
    return mask


def shrink_brain(img: nib.Nifti1Image, brain_mask: np.ndarray, factor: float, fluid_value: float,
                 centre_ras_mm=None) -> TransformedHead:
    """Shrink the brain towards a centre by ``factor``; the skull and scalp stay where they are.

    Every voxel of ``brain_mask`` is set to ``fluid_value``, then the brain is drawn in again
    scaled about ``centre_ras_mm``: a voxel at world point ``y`` of the mask takes the
    (trilinear) intensity of the original at ``c + (y - c) / factor`` when that point lies in
    the mask. The space the brain leaves between itself and the skull (and across the mask's
    cut through the brainstem) reads as fluid: the widened extra-axial space of an atrophic
    brain, which puts the cortex deeper under the scalp. About the brain's centroid the shrink
    is generalized; about a point at the back of the brain the frontal lobes move most, as the
    scalp-to-cortex distance grows with age over the left DLPFC but not over M1 (214
    cognitively normal adults, J Alzheimers Dis 2019, doi:10.3233/JAD-180732).

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image of a head.
    brain_mask : bool array
        The brain (with its sulcal fluid) on the grid of ``img``.
    factor : float
        Linear scale of the brain, 0.8 to 1 (0.95 moves a point 70 mm from the centre 3.5 mm
        towards it).
    fluid_value : float
        The intensity of cerebrospinal fluid in this image (Colin27's reads about 30).
    centre_ras_mm : sequence of 3 float, optional
        The point the brain shrinks towards, world RAS mm (default: the mask's centroid).

    Returns
    -------
    TransformedHead
        float32 data. The point maps are the brain's (``p -> c + factor (p - c)``); they do not
        hold for the skull and scalp, which do not move.

    Raises
    ------
    ValueError
        If ``factor`` lies outside 0.8-1 or the mask is empty or not on the image's grid.
    """
    if not 0.8 <= factor <= 1.0:
        raise ValueError(f"brain shrink factor {factor} outside 0.8-1")
    mask = _brain_mask_of(img, brain_mask)
    affine = np.asarray(img.affine, dtype=np.float64)
    inside = np.argwhere(mask)
    centre = (voxel_to_world(affine, inside.mean(axis=0))[0] if centre_ras_mm is None
              else np.asarray(centre_ras_mm, dtype=np.float64))
    data = np.asarray(image_data(img), dtype=np.float32)
    # source voxel of each mask voxel: inv(A) (c + (A ijk - c) / factor), affine in ijk
    centre_ijk = np.linalg.solve(affine[:3, :3], centre - affine[:3, 3])
    source_ijk = (centre_ijk + (inside - centre_ijk) / factor).T
    in_source_brain = ndimage.map_coordinates(mask.astype(np.float32), source_ijk, order=1, cval=0.0) >= 0.5
    values = ndimage.map_coordinates(data, source_ijk, order=1, mode="nearest")
    out = data.copy()
    out[mask] = fluid_value
    kept = inside[in_source_brain]
    out[kept[:, 0], kept[:, 1], kept[:, 2]] = values[in_source_brain]

    def original_to_new(points_ras_mm) -> np.ndarray:
        return centre + factor * (as_points(points_ras_mm) - centre)

    def new_to_original(points_ras_mm) -> np.ndarray:
        return centre + (as_points(points_ras_mm) - centre) / factor

    return TransformedHead(_new_image(out, affine), original_to_new, new_to_original,
                           f"brain shrunk x{factor:g}", None,
                           {"factor": float(factor), "centre_ras_mm": np.round(centre, 3).tolist()})


def widen_sulci(img: nib.Nifti1Image, brain_mask: np.ndarray, steps_vox: int, fluid_value: float,
                fluid_below: float, white_from: float) -> TransformedHead:
    """Turn the grey matter next to fluid into fluid: sulci widen and the cortex thins, as
    atrophy leaves them.

    Within ``brain_mask``, voxels darker than ``fluid_below`` are fluid and voxels from
    ``white_from`` up are white matter; every voxel between (grey matter) that lies within
    ``steps_vox`` face-neighbour steps of fluid is set to ``fluid_value``. One step widens a
    sulcus by about two voxels (one on each bank) and deepens the crowns facing the skull by
    one; white matter stays.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image of a head.
    brain_mask : bool array
        The brain (with its sulcal fluid) on the grid of ``img``.
    steps_vox : int
        How far into the grey matter the fluid reaches, voxels (1 or more).
    fluid_value : float
        The intensity the lost grey matter takes (Colin27's cerebrospinal fluid reads about 30).
    fluid_below, white_from : float
        The intensities that separate fluid from grey matter and grey from white matter
        (Colin27: 55 and 99, ``navsvc.testing.atrophy_cases``; its fluid, grey and white matter
        read about 30, 85 and 113, its thin sulci mostly above 55, blurred with the grey matter
        beside them, so one step widens only the sulci its image resolves).

    Returns
    -------
    TransformedHead
        float32 data; identity maps (nothing moves; grey matter is lost).
        ``parameters['voxels']`` counts the voxels turned to fluid.
    """
    mask = _brain_mask_of(img, brain_mask)
    if steps_vox < 1:
        raise ValueError(f"sulci widen by 1 voxel step or more, got {steps_vox}")
    data = np.array(image_data(img), dtype=np.float32)
    fluid = mask & (data < fluid_below)
    grey = mask & (data >= fluid_below) & (data < white_from)
    lost = ndimage.binary_dilation(fluid, iterations=int(steps_vox)) & grey
    data[lost] = fluid_value
    return TransformedHead(_new_image(data, img.affine), _identity_map, _identity_map,
                           f"sulci widened {steps_vox} voxel(s)", np.eye(4),
                           {"steps_vox": int(steps_vox), "voxels": int(lost.sum())})
