"""The one place for coordinate conversions.

Conventions (docs/DESIGN.md §3): NIfTI world space is RAS (x to the patient's Right,
y Anterior, z Superior), in mm. ITK/ANTs physical points and DICOM patient
coordinates are LPS: x and y have the opposite sign.
"""

from __future__ import annotations

import numpy as np

#: diag(-1, -1, 1): RAS <-> LPS (its own inverse)
RAS_LPS_FLIP = np.array([-1.0, -1.0, 1.0])


def as_points(points_mm) -> np.ndarray:
    """Return ``points_mm`` as a float64 (N, 3) array (a single point becomes (1, 3))."""
    pts = np.asarray(points_mm, dtype=np.float64)
    if pts.ndim == 1:
        pts = pts[None, :]
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise ValueError(f"expected points of shape (N, 3), got {pts.shape}")
    return pts


def apply_affine(affine: np.ndarray, points) -> np.ndarray:
    """Apply a 4x4 affine to (N, 3) points; returns (N, 3) float64.

    The result is the transpose of a C-ordered (3, N) array, so ``.T`` hands one
    coordinate per row to code that samples images (``scipy.ndimage``).

    Parameters
    ----------
    affine : numpy.ndarray, shape (4, 4)
        The transform; only its top three rows are used (no projective part).
    points : array-like, shape (3,) or (N, 3)
        Points in the affine's input space (a single point counts as N = 1).

    Returns
    -------
    numpy.ndarray, shape (N, 3)
        The transformed points, float64, in the affine's output space.
    """
    # Column multiply-adds rather than a matrix product: BLAS gains nothing with an inner
    # dimension of 3 and, multi-threaded, spins its threads on a busy machine.
    pts = as_points(points)
    matrix = np.asarray(affine, dtype=np.float64)
    out = np.empty((3, len(pts)))
    for row in range(3):
        out[row] = (pts[:, 0] * matrix[row, 0] + pts[:, 1] * matrix[row, 1]
                    + pts[:, 2] * matrix[row, 2] + matrix[row, 3])
    return out.T


def ras_to_lps(points_ras_mm) -> np.ndarray:
    """Convert RAS mm points to LPS mm (negate x and y)."""
    return as_points(points_ras_mm) * RAS_LPS_FLIP


def lps_to_ras(points_lps_mm) -> np.ndarray:
    """Convert LPS mm points to RAS mm (negate x and y)."""
    return as_points(points_lps_mm) * RAS_LPS_FLIP


def world_to_voxel(affine: np.ndarray, points_ras_mm) -> np.ndarray:
    """Continuous voxel indices (N, 3) of RAS world points under a voxel-to-world affine.

    Parameters
    ----------
    affine : numpy.ndarray, shape (4, 4)
        The image's voxel-to-RAS affine (it is inverted here).
    points_ras_mm : array-like, shape (3,) or (N, 3)
        World points, RAS mm.

    Returns
    -------
    numpy.ndarray, shape (N, 3)
        Fractional voxel indices (i, j, k), not rounded or clipped to the image.
    """
    return apply_affine(np.linalg.inv(affine), points_ras_mm)


def voxel_to_world(affine: np.ndarray, ijk) -> np.ndarray:
    """RAS world points (N, 3) of (possibly fractional) voxel indices.

    Parameters
    ----------
    affine : numpy.ndarray, shape (4, 4)
        The image's voxel-to-RAS affine.
    ijk : array-like, shape (3,) or (N, 3)
        Voxel indices (i, j, k); integers or fractions.

    Returns
    -------
    numpy.ndarray, shape (N, 3)
        World points, RAS mm.
    """
    return apply_affine(affine, ijk)


def unit(vector) -> np.ndarray:
    """Return ``vector`` scaled to unit length (raises on a zero vector)."""
    v = np.asarray(vector, dtype=np.float64)
    norm = np.linalg.norm(v)
    if norm == 0:
        raise ValueError("cannot normalise a zero vector")
    return v / norm


def rotation_deg_to_matrix(about_x_deg: float, about_y_deg: float, about_z_deg: float) -> np.ndarray:
    """3x3 rotation: about x, then y, then z (right-hand rule, degrees).

    Parameters
    ----------
    about_x_deg : float
        Angle about the x axis, degrees, applied first.
    about_y_deg : float
        Angle about the y axis, degrees, applied second.
    about_z_deg : float
        Angle about the z axis, degrees, applied last.

    Returns
    -------
    numpy.ndarray, shape (3, 3)
        The matrix ``Rz @ Ry @ Rx``, for column vectors; the axes are fixed (the second
        and third turns are about the original axes, not the turned ones).
    """
    ax, ay, az = np.deg2rad([about_x_deg, about_y_deg, about_z_deg])
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def turn_deg(linear) -> float:
    """How far the 3x3 linear map ``linear`` turns space, degrees: the angle of its nearest
    rotation (the orthogonal factor of its polar decomposition), whatever it scales or
    shears. For a map that keeps handedness (positive determinant)."""
    u, _, vt = np.linalg.svd(np.asarray(linear, dtype=np.float64))
    rotation = u @ vt
    return float(np.degrees(np.arccos(np.clip((np.trace(rotation) - 1) / 2, -1.0, 1.0))))


def edge_distance_mm(shape, affine: np.ndarray, points_ras_mm) -> np.ndarray:
    """Distance from each point to the nearest face of the image's field of view, mm.

    The field of view is the box of voxel centres extended by half a voxel, ``-0.5 <=
    i <= n - 0.5`` on every axis; its faces are planes in world space, whatever the
    voxel order or obliquity.

    Parameters
    ----------
    shape : sequence of int
        The image's first three dimensions.
    affine : numpy.ndarray
        4x4 voxel-to-RAS affine.
    points_ras_mm : array-like, shape (3,) or (N, 3)
        Points, native RAS mm.

    Returns
    -------
    numpy.ndarray, shape (N,)
        Positive inside the field of view, negative outside.
    """
    ras_to_ijk = np.linalg.inv(np.asarray(affine, dtype=float))
    ijk = apply_affine(ras_to_ijk, points_ras_mm)
    # index i changes by |row| per mm across a face of constant i
    mm_per_index = 1.0 / np.linalg.norm(ras_to_ijk[:3, :3], axis=1)
    extent = np.asarray(shape[:3], dtype=float)
    to_low = (ijk + 0.5) * mm_per_index
    to_high = (extent - 0.5 - ijk) * mm_per_index
    return np.minimum(to_low, to_high).min(axis=1)
