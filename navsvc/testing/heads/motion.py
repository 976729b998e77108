"""Motion during the scan: ghosts of the head along a voxel axis (head unmoved in world space)."""

from __future__ import annotations

import nibabel as nib
import numpy as np

from navsvc.testing.heads.base import TransformedHead, _identity_map, _new_image, image_data


def add_motion_ghost(img: nib.Nifti1Image, amplitude: float, axis: int = 1) -> TransformedHead:
    """Add a ghost: a copy of the image shifted by half its field of view along one voxel axis
    (the phase-encoding direction), ``amplitude`` times as bright (world unchanged).

    A signal that differs between alternate k-space lines (motion, a pulsating flow) folds a
    copy of the head half the field of view away along the phase-encoding direction. The
    copy's magnitude is added to the image's (its phase is ignored).

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    amplitude : float
        The ghost's brightness relative to the image, in [0, 1].
    axis : int
        The voxel axis of the shift (0, 1 or 2).

    Returns
    -------
    TransformedHead
        float32 data; identity maps.
    """
    if not 0.0 <= amplitude <= 1.0:
        raise ValueError("amplitude must lie in [0, 1]")
    data = np.asarray(image_data(img), dtype=np.float32)
    ghosted = data + np.float32(amplitude) * np.roll(data, data.shape[axis] // 2, axis=axis)
    return TransformedHead(_new_image(ghosted, img.affine), _identity_map, _identity_map,
                           f"ghost {100 * amplitude:g} % along axis {axis}", np.eye(4),
                           {"ghost_amplitude": float(amplitude), "axis": int(axis)})


def move_during_scan(img: nib.Nifti1Image, axis: int, displacement_mm) -> TransformedHead:
    """The image as if the head had moved along one voxel axis (the phase-encoding direction)
    while the k-space lines along that axis were acquired.

    Line ``m`` of ``n``, in acquisition order from the lowest spatial frequency ``-n/2`` to the
    highest, is acquired with the head shifted by ``displacement_mm[m]``: its Fourier
    coefficients gain the phase ``exp(-2 pi i k d)`` (Fourier shift theorem); the magnitude of
    the inverse transform is the image. World unchanged: the head's reference position is
    zero displacement.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    axis : int
        The voxel axis of the motion (0, 1 or 2).
    displacement_mm : array-like, shape (n,)
        The head's shift along the axis during each line, mm (``n`` the image's size there).

    Returns
    -------
    TransformedHead
        float32 data; identity maps.
    """
    data = np.asarray(image_data(img), dtype=np.float64)
    n = data.shape[axis]
    displacement_vox = np.asarray(displacement_mm, dtype=np.float64) / float(img.header.get_zooms()[axis])
    if displacement_vox.shape != (n,):
        raise ValueError(f"displacement_mm needs one value per line: {n}")
    cycles_per_voxel = np.fft.fftshift(np.fft.fftfreq(n))  # acquisition order, lowest frequency first
    phase = np.fft.ifftshift(np.exp(-2j * np.pi * cycles_per_voxel * displacement_vox))  # back to numpy's order
    shape = [1, 1, 1]
    shape[axis] = n
    moved = np.abs(np.fft.ifft(np.fft.fft(data, axis=axis) * phase.reshape(shape), axis=axis))
    return TransformedHead(_new_image(moved.astype(np.float32), img.affine), _identity_map, _identity_map,
                           f"moved during the scan along axis {axis} (up to {np.max(np.abs(displacement_mm)):g} mm)",
                           np.eye(4), {"axis": int(axis), "max_displacement_mm": float(np.max(np.abs(displacement_mm)))})
