"""Intensities only: Rician-like noise, a multiplicative bias field, padding (head unmoved)."""

from __future__ import annotations

import itertools

import nibabel as nib
import numpy as np

from navsvc.coords import apply_affine
from navsvc.testing.heads.base import TransformedHead, _identity_map, _new_image, grid_centre_ras_mm, image_data


def robust_max(data: np.ndarray) -> float:
    """99.5th percentile of the voxel values (about the brightest tissue, ignoring outliers)."""
    return float(np.percentile(data, 99.5))


def add_rician_noise(img: nib.Nifti1Image, rng: np.random.Generator, sigma_fraction: float = 0.03) -> TransformedHead:
    """Rician noise, as in a magnitude MR image: ``sqrt((s + n1)^2 + n2^2)``.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    rng : numpy.random.Generator
        Noise source.
    sigma_fraction : float
        Standard deviation of the Gaussian noise ``n1``, ``n2`` in each channel, as a
        fraction of :func:`robust_max` of the image (dimensionless).

    Returns
    -------
    TransformedHead
        float32 data; world unchanged (identity maps); ``parameters['sigma']`` in
        image intensity units.
    """
    if sigma_fraction < 0:
        raise ValueError("sigma_fraction must be >= 0")
    data = np.asarray(image_data(img), dtype=np.float32)
    sigma = float(sigma_fraction) * robust_max(data)
    real = data + rng.normal(0.0, sigma, data.shape).astype(np.float32)
    imag = rng.normal(0.0, sigma, data.shape).astype(np.float32)
    noisy = np.sqrt(real * real + imag * imag)
    return TransformedHead(_new_image(noisy, img.affine), _identity_map, _identity_map,
                           f"rician noise {sigma_fraction:.3f}", np.eye(4),
                           {"sigma_fraction": float(sigma_fraction), "sigma": sigma})


def pad_outside_field_of_view(img: nib.Nifti1Image, value: float, radius: float = 1.15) -> TransformedHead:
    """Fill the corners of every slice with ``value``, as padding outside a round field of view.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    value : float
        The padding, in image intensity units.
    radius : float
        The field of view is the ellipse inscribed in the slice (array axes 0 and 1)
        scaled by ``radius`` (dimensionless; 1.15 leaves Colin27's head whole and pads
        7.7 % of its voxels).

    Returns
    -------
    TransformedHead
        float32 data; world unchanged (identity maps); ``parameters['padded_fraction']``.
    """
    data = np.array(image_data(img), dtype=np.float32)
    i, j = ((2.0 * np.arange(n) - (n - 1)) / n for n in data.shape[:2])
    outside = i[:, None] ** 2 + j[None, :] ** 2 > radius ** 2
    data[outside, :] = value
    return TransformedHead(_new_image(data, img.affine), _identity_map, _identity_map,
                           f"padded with {value:g} outside the field of view", np.eye(4),
                           {"value": float(value), "padded_fraction": float(outside.mean())})


def bias_field(img: nib.Nifti1Image, rng: np.random.Generator, strength: float = 0.3) -> np.ndarray:
    """A smooth random multiplicative field on the voxel grid of ``img``, in ``[1 - strength, 1 + strength]``.

    ``1 + strength * g(q)`` with ``g`` a random polynomial of degree 2 (no constant
    term, standard normal coefficients) of the world coordinates ``q`` normalised to
    ``[-1, 1]`` over the world bounding box of the head (voxels brighter than 10 % of
    :func:`robust_max`; box of the corners of their voxel-index box), scaled so that ``max |g| = 1`` over the head's voxels; outside
    the head the field is clipped to the same range. Built from world coordinates, so
    it is the same field in world space whatever the voxel order.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image (its grid, affine and foreground are used).
    rng : numpy.random.Generator
        Source of the coefficients.
    strength : float
        Largest relative deviation from 1, in ``[0, 1)``.

    Returns
    -------
    ndarray, float32, shape of ``img``
    """
    if not 0.0 <= strength < 1.0:
        raise ValueError(f"strength must be in [0, 1), got {strength}")
    data = np.asarray(image_data(img), dtype=np.float32)
    affine = np.asarray(img.affine, dtype=np.float64)
    shape = data.shape
    head = data > 0.1 * robust_max(data)
    if not head.any():
        head = np.ones(shape, dtype=bool)
    # world bounding box of the corners of the head's voxel-index bounding box
    idx = [np.flatnonzero(head.any(axis=tuple(a for a in range(3) if a != ax))) for ax in range(3)]
    corners = np.array(list(itertools.product(*[(i[0], i[-1]) for i in idx])), float)
    world_corners = apply_affine(affine, corners)
    lo, hi = world_corners.min(axis=0), world_corners.max(axis=0)
    centre, half = (lo + hi) / 2.0, np.maximum((hi - lo) / 2.0, 1e-6)
    exponents = [e for e in itertools.product(range(3), repeat=3) if 1 <= sum(e) <= 2]
    coefficients = rng.normal(size=len(exponents))

    def g_world(points_ras_mm: np.ndarray) -> np.ndarray:
        q = (points_ras_mm - centre) / half
        return sum(c * q[:, 0] ** e[0] * q[:, 1] ** e[1] * q[:, 2] ** e[2] for c, e in zip(coefficients, exponents))

    # World is affine in the voxel index, so g is also a quadratic polynomial of (i, j, k):
    # recover its coefficients exactly from samples, then evaluate it on the grid cheaply.
    sample_ijk = rng.uniform(0.0, 1.0, size=(40, 3)) * (np.asarray(shape) - 1)
    terms = _quadratic_terms(sample_ijk)
    ijk_coefficients = np.linalg.lstsq(terms, g_world(apply_affine(affine, sample_ijk)), rcond=None)[0]
    i, j, k = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij", sparse=True)
    c = ijk_coefficients  # order of _quadratic_terms: 1, i, j, k, ii, jj, kk, ij, ik, jk
    g = (c[0] + c[1] * i + c[4] * i * i) + (c[2] * j + c[5] * j * j + c[7] * i * j) \
        + k * (c[3] + c[6] * k + c[8] * i + c[9] * j)
    peak = np.max(np.abs(g[head]))
    if peak > 0:
        g /= peak
    return np.clip(1.0 + strength * g, 1.0 - strength, 1.0 + strength).astype(np.float32)


def _quadratic_terms(ijk: np.ndarray) -> np.ndarray:
    """Monomials ``1, i, j, k, i^2, j^2, k^2, ij, ik, jk`` of (N, 3) points, as (N, 10)."""
    i, j, k = ijk[:, 0], ijk[:, 1], ijk[:, 2]
    return np.column_stack([np.ones_like(i), i, j, k, i * i, j * j, k * k, i * j, i * k, j * k])


def multiply_bias_field(img: nib.Nifti1Image, rng: np.random.Generator, strength: float = 0.3) -> TransformedHead:
    """Multiply the intensities by a smooth random :func:`bias_field` (world unchanged).

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    rng : numpy.random.Generator
        Source of the field's coefficients.
    strength : float
        The field lies in ``[1 - strength, 1 + strength]``.

    Returns
    -------
    TransformedHead
        float32 data; identity maps.
    """
    field_ = bias_field(img, rng, strength)
    data = np.asarray(image_data(img), dtype=np.float32) * field_
    return TransformedHead(_new_image(data, img.affine), _identity_map, _identity_map,
                           f"bias field {strength:.2f}", np.eye(4), {"bias_strength": float(strength)})


def multiply_receive_coil_profile(img: nib.Nifti1Image, gain_at_radius: float, radii_mm=(75.0, 95.0, 85.0),
                                  centre_ras_mm=None) -> TransformedHead:
    """Light the head as a multichannel receive coil does without the scanner's intensity
    normalization: bright at the surface, dark at the centre (world unchanged).

    The intensities are multiplied by ``1 + (gain_at_radius - 1) r^2``, ``r`` the distance from
    the centre in units of an ellipsoid's radii (about a head's: left-right, front-back,
    up-down), so the gain is 1 at the centre and ``gain_at_radius`` on the ellipsoid.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    gain_at_radius : float
        The gain on the ellipsoid (2: twice as bright there as at the centre).
    radii_mm : sequence of 3 float
        The ellipsoid's radii along world x, y, z, mm.
    centre_ras_mm : sequence of 3 float, optional
        Its centre, world RAS mm (default: the centre of the voxel grid).

    Returns
    -------
    TransformedHead
        float32 data; identity maps.
    """
    centre = grid_centre_ras_mm(img) if centre_ras_mm is None else np.asarray(centre_ras_mm, float)
    ijk = np.indices(img.shape[:3]).reshape(3, -1).T
    r = (apply_affine(img.affine, ijk) - centre) / np.asarray(radii_mm, float)
    gain = 1.0 + (gain_at_radius - 1.0) * (r**2).sum(axis=1).reshape(img.shape[:3])
    data = np.asarray(image_data(img), dtype=np.float32) * gain.astype(np.float32)
    return TransformedHead(_new_image(data, img.affine), _identity_map, _identity_map,
                           f"receive-coil profile x{gain_at_radius:g}", np.eye(4),
                           {"gain_at_radius": float(gain_at_radius)})


def raise_to_power(img: nib.Nifti1Image, exponent: float) -> TransformedHead:
    """Change the contrast between tissues: ``top * (value / top) ** exponent``, ``top`` the
    :func:`robust_max` (world unchanged; negative values put at 0).

    Above 1 the dim tissues darken against the bright ones: in Colin27, where the scalp fat
    is the brightest tissue, the skin (about 0.37 of it) falls to 0.14 at 2 and 0.08 at 2.5.
    Below 1 they brighten.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    exponent : float
        The power, > 0.

    Returns
    -------
    TransformedHead
        float32 data; identity maps.
    """
    if not exponent > 0:
        raise ValueError("exponent must be > 0")
    data = np.asarray(image_data(img), dtype=np.float32)
    top = robust_max(data)
    powered = top * np.clip(data / top, 0.0, None) ** exponent
    return TransformedHead(_new_image(powered.astype(np.float32), img.affine), _identity_map, _identity_map,
                           f"intensities to the power {exponent:g}", np.eye(4), {"exponent": float(exponent)})


def brighten_scalp_fat(img: nib.Nifti1Image, brain_mask: np.ndarray, gain: float) -> TransformedHead:
    """Make the bright tissue outside the brain (the scalp fat) up to ``gain`` times brighter,
    as in a T1 whose fat is far brighter than its white matter (world unchanged).

    Voxels outside ``brain_mask`` above 0.6 of the :func:`robust_max` are multiplied by a
    factor rising from 1 at 0.6 to ``gain`` at 0.9 of it and above.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    brain_mask : numpy.ndarray of bool
        The brain (with a margin), on the image's voxel grid.
    gain : float
        The factor for the brightest fat, >= 1.

    Returns
    -------
    TransformedHead
        float32 data; identity maps.
    """
    if not gain >= 1.0:
        raise ValueError("gain must be >= 1")
    data = np.asarray(image_data(img), dtype=np.float32)
    top = robust_max(data)
    fat = ~np.asarray(brain_mask, dtype=bool) & (data > 0.6 * top)
    out = data.copy()
    out[fat] *= 1.0 + (gain - 1.0) * np.clip((data[fat] / top - 0.6) / 0.3, 0.0, 1.0)
    return TransformedHead(_new_image(out, img.affine), _identity_map, _identity_map,
                           f"scalp fat x{gain:g}", np.eye(4), {"fat_gain": float(gain)})
