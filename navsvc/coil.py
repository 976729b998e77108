"""The coil pose: the one place for the coil convention.

SimNIBS ``matsimnibs`` convention (docs/DESIGN.md §6): a 4x4 matrix whose columns are the
coil's x, y, z unit axes and its centre, in world (NIfTI RAS) mm. z is the coil normal
pointing INTO the head, y lies along the handle axis, x = y × z (right-handed).
navsvc follows the SimNIBS maintainers: **the handle points to −y**.
"""

from __future__ import annotations

import numpy as np

from navsvc.coords import unit
from navsvc.errors import InputError

#: smallest sine of the angle between the coil normal and the left-right axis for which the
#: parasagittal line (the coil plane cut by a plane parallel to the midsagittal one) exists
MIN_NORMAL_TO_LATERAL_SINE = 1e-6


def handle_direction_words(handle_angle_deg: float) -> str:
    """Where a handle at ``handle_angle_deg`` points, in words (the angle's convention is
    :func:`handle_direction`'s: 0 posterior, positive away from the midline).

    Examples
    --------
    >>> handle_direction_words(45)
    'posterior and lateral'
    >>> handle_direction_words(-135)
    'anterior and medial'
    """
    angle = (float(handle_angle_deg) + 180.0) % 360.0 - 180.0  # (-180, 180]
    if angle == -180.0:
        angle = 180.0
    along = "posterior" if abs(angle) < 90 else "anterior" if abs(angle) > 90 else ""
    across = "" if angle in (0.0, 180.0) else "lateral" if angle > 0 else "medial"
    return " and ".join(word for word in (along, across) if word)


def handle_direction(inward_normal, right, lateral, handle_angle_deg: float,
                     point_ras_mm=None) -> np.ndarray:
    """Unit direction the handle points to, in the coil plane.

    The angle is measured in the coil plane (perpendicular to the coil normal) from the
    parasagittal line: the line where the coil plane meets the plane through the
    entry point parallel to the midsagittal plane. At 0° the handle points back along
    that line, the way a point moving from the forehead over the vertex to the occiput
    goes (posterior on the top of the head, superior on the forehead, inferior on the
    back of the head: the handle turns smoothly as the coil moves, where a choice by the
    sign of its anterior component flipped it on the forehead and the occiput). At
    ``handle_angle_deg`` it is turned by that angle towards ``lateral`` (away from the
    midline).

    Parameters
    ----------
    inward_normal : array (3,)
        Coil normal pointing into the head.
    right : array (3,)
        The patient's right direction (normal of the midsagittal plane).
    lateral : array (3,)
        Left-right axis pointing away from the midline on the target's side (``right`` or
        its opposite).
    handle_angle_deg : float
        Angle between the handle and the parasagittal line, degrees.
    point_ras_mm : array (3,), optional
        Scalp point the normal belongs to, named in the error message.

    Raises
    ------
    InputError
        The normal lies along the left-right axis (sine of the angle between them below
        :data:`MIN_NORMAL_TO_LATERAL_SINE`): the coil plane is parallel to the midsagittal
        plane and the parasagittal line the angle is measured from does not exist.
    """
    z = unit(inward_normal)
    # in the coil plane and perpendicular to the left-right axis (parallel to the midsagittal
    # plane); R x outward normal: -A on the vertex, +S on the forehead, -S on the occiput
    backwards = np.cross(unit(right), -z)
    if np.linalg.norm(backwards) < MIN_NORMAL_TO_LATERAL_SINE:
        where = "" if point_ras_mm is None else f" at {np.round(point_ras_mm, 1).tolist()} mm"
        raise InputError(
            f"the scalp normal{where} ({np.round(z, 3).tolist()}) lies along the left-right axis: "
            "the coil plane is parallel to the midsagittal plane, so the handle angle, measured "
            "from the parasagittal line, is undefined there; choose a target a few mm higher or "
            "lower, where the scalp is not facing straight sideways")
    backwards = unit(backwards)
    side = unit(lateral)
    # in the coil plane, perpendicular to `backwards`, pointing away from the midline
    outwards = unit(side - np.dot(side, z) * z)
    angle = np.deg2rad(handle_angle_deg)
    return unit(np.cos(angle) * backwards + np.sin(angle) * outwards)


def coil_matrix(scalp_ras_mm, inward_normal, handle_dir, distance_to_scalp_mm: float) -> np.ndarray:
    """Build the 4x4 ``matsimnibs`` matrix of a coil over ``scalp_ras_mm``.

    Parameters
    ----------
    scalp_ras_mm : array (3,)
        Scalp entry point, RAS mm.
    inward_normal : array (3,)
        Coil normal pointing into the head.
    handle_dir : array (3,)
        Direction the handle points to (in the coil plane).
    distance_to_scalp_mm : float
        Coil centre distance outside the scalp, mm (hair, casing).
    """
    z = unit(inward_normal)
    y = -unit(np.asarray(handle_dir) - np.dot(handle_dir, z) * z)
    x = np.cross(y, z)
    matrix = np.eye(4)
    matrix[:3, 0], matrix[:3, 1], matrix[:3, 2] = x, y, z
    matrix[:3, 3] = np.asarray(scalp_ras_mm, float) - distance_to_scalp_mm * z
    return matrix


def axis_distance_mm(matrix: np.ndarray, point_ras_mm) -> float:
    """Distance from ``point_ras_mm`` to the coil's z axis (the line through its centre).

    Parameters
    ----------
    matrix : numpy.ndarray, shape (4, 4)
        The coil's ``matsimnibs`` matrix (:func:`coil_matrix`); its z column is taken to be
        a unit vector.
    point_ras_mm : array-like, shape (3,)
        The point, RAS mm.

    Returns
    -------
    float
        The perpendicular distance, mm, to the whole line (either side of the centre).
    """
    centre, z = matrix[:3, 3], matrix[:3, 2]
    offset = np.asarray(point_ras_mm, float) - centre
    return float(np.linalg.norm(offset - np.dot(offset, z) * z))
