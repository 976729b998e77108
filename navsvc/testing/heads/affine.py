"""The head moved in world space by an affine map (only the image affine changes)."""

from __future__ import annotations

import nibabel as nib
import numpy as np

from navsvc.coords import apply_affine, rotation_deg_to_matrix
from navsvc.testing.heads.base import TransformedHead, _new_image, grid_centre_ras_mm, image_data


def _about_centre(linear: np.ndarray, centre_ras_mm, translation_mm) -> np.ndarray:
    """4x4 world map ``p -> centre + linear (p - centre) + translation``."""
    matrix = np.eye(4)
    matrix[:3, :3] = linear
    centre = np.asarray(centre_ras_mm, float)
    matrix[:3, 3] = centre - linear @ centre + np.asarray(translation_mm, float)
    return matrix


def move_in_world(img: nib.Nifti1Image, world_affine: np.ndarray, description: str,
                  parameters: dict | None = None) -> TransformedHead:
    """Move the head in world space by a 4x4 by changing only the affine (no resampling).

    The new affine is ``world_affine @ img.affine``: the voxel that was at world point
    ``p`` is now at ``world_affine @ p``.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    world_affine : ndarray (4, 4)
        Invertible map from original world RAS mm to new world RAS mm.
    description : str
        Summary for the result.
    parameters : dict, optional
        Parameters to record.

    Returns
    -------
    TransformedHead
        Same voxel array; maps are ``world_affine`` and its inverse.
    """
    world_affine = np.asarray(world_affine, dtype=np.float64)
    inverse = np.linalg.inv(world_affine)
    new_img = _new_image(image_data(img), world_affine @ np.asarray(img.affine))
    return TransformedHead(
        new_img,
        lambda p: apply_affine(world_affine, p),
        lambda q: apply_affine(inverse, q),
        description, world_affine.copy(), dict(parameters or {}),
    )


def rigid(img: nib.Nifti1Image, rotation_deg=(0.0, 0.0, 0.0), translation_mm=(0.0, 0.0, 0.0),
          centre_ras_mm=None) -> TransformedHead:
    """Rotate and translate the head in world space (affine changed, voxels untouched).

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    rotation_deg : sequence of 3 float
        Rotation about the world x, then y, then z axis, degrees (right-hand rule;
        :func:`navsvc.coords.rotation_deg_to_matrix`).
    translation_mm : sequence of 3 float
        Translation in world RAS mm, applied after the rotation.
    centre_ras_mm : sequence of 3 float, optional
        Centre of rotation, world RAS mm (default: centre of the voxel grid).

    Returns
    -------
    TransformedHead
        ``original_to_new(p) = R (p - c) + c + t``.
    """
    centre = grid_centre_ras_mm(img) if centre_ras_mm is None else np.asarray(centre_ras_mm, float)
    rotation = rotation_deg_to_matrix(*rotation_deg)
    matrix = _about_centre(rotation, centre, translation_mm)
    rot = [round(float(a), 2) for a in rotation_deg]
    shift = [round(float(t), 2) for t in translation_mm]
    return move_in_world(img, matrix, f"rigid rot={rot} deg shift={shift} mm",
                         {"rotation_deg": rot, "translation_mm": shift, "centre_ras_mm": centre.tolist()})


def mirror_left_right(img: nib.Nifti1Image, plane_x_mm: float = 0.0) -> TransformedHead:
    """Mirror the head across the world plane ``x = plane_x_mm`` (affine changed only).

    The patient's left becomes the right: the worst failure a navigation system can
    make, so tests need a head on which it is the *right* answer.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    plane_x_mm : float
        World x of the mirror plane, RAS mm (Colin27's midsagittal plane is about 0).

    Returns
    -------
    TransformedHead
        Maps: ``(x, y, z) -> (2 plane_x_mm - x, y, z)`` (its own inverse).
    """
    matrix = np.diag([-1.0, 1.0, 1.0, 1.0])
    matrix[0, 3] = 2.0 * float(plane_x_mm)
    return move_in_world(img, matrix, f"mirror left-right about x = {plane_x_mm} mm",
                         {"mirror_plane_x_mm": float(plane_x_mm)})


def oblique_affine(img: nib.Nifti1Image, rng: np.random.Generator, max_rot_deg: float = 30.0,
                   max_shift_mm: float = 30.0, max_scale: float = 0.10, max_shear: float = 0.10,
                   centre_ras_mm=None) -> TransformedHead:
    """Random 12-parameter affine move of the head in world space (affine changed only).

    The world map is ``p -> c + R Sh Z (p - c) + t`` with R a rotation of uniform
    random angles in ``[-max_rot_deg, max_rot_deg]`` about x, y, z; Sh an upper
    triangular shear with off-diagonal terms uniform in ``[-max_shear, max_shear]``;
    Z = diag of per-axis scales uniform in ``[1 - max_scale, 1 + max_scale]``; t a
    translation uniform in ``[-max_shift_mm, max_shift_mm]`` per axis; c the centre of
    the voxel grid (or ``centre_ras_mm``). The head is really rotated, sheared and
    scaled in world space, so the voxel axes end up oblique and non-orthogonal.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    rng : numpy.random.Generator
        Source of the random parameters.
    max_rot_deg, max_shift_mm, max_scale, max_shear : float
        Bounds of the parameters (degrees, mm, fraction, fraction).
    centre_ras_mm : sequence of 3 float, optional
        Centre of the linear part, world RAS mm.

    Returns
    -------
    TransformedHead
        Maps: the 4x4 above and its inverse.
    """
    angles = rng.uniform(-max_rot_deg, max_rot_deg, 3)
    shift = rng.uniform(-max_shift_mm, max_shift_mm, 3)
    scales = rng.uniform(1.0 - max_scale, 1.0 + max_scale, 3)
    shears = rng.uniform(-max_shear, max_shear, 3)
    shear = np.eye(3)
    shear[0, 1], shear[0, 2], shear[1, 2] = shears
    linear = rotation_deg_to_matrix(*angles) @ shear @ np.diag(scales)
    centre = grid_centre_ras_mm(img) if centre_ras_mm is None else np.asarray(centre_ras_mm, float)
    matrix = _about_centre(linear, centre, shift)
    params = {"rotation_deg": np.round(angles, 2).tolist(), "translation_mm": np.round(shift, 2).tolist(),
              "scales": np.round(scales, 4).tolist(), "shears": np.round(shears, 4).tolist()}
    return move_in_world(img, matrix, f"oblique affine {params}", params)
