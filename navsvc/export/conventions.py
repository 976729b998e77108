"""The one place for coil-axis and world-space conventions of the navigators.

navsvc coil poses use the SimNIBS ``matsimnibs`` convention in NIfTI RAS world
coordinates, mm: a 4x4 matrix ``[[x y z c], [0 0 0 1]]`` whose columns ``x``,
``y``, ``z`` are orthonormal, right-handed unit axes (``x = y × z``) and ``c`` is
the coil centre. ``z`` is the coil normal pointing INTO the head, ``y`` lies
along the handle and the handle points to **-y** (SimNIBS documentation and
maintainers; one SimNIBS example comment says +y, we follow the maintainers).

Every navigator format differs only by a fixed right-multiplication of the axes
(coil-axis convention) and a fixed left-multiplication of the whole matrix (world
space). Both are defined here and nowhere else:

* Localite TMS Navigator: ``M_loc = M_sim @ F_loc`` with ``F_loc`` swapping x
  and z and negating y (Localite x = SimNIBS z, y = -SimNIBS y, z = SimNIBS x).
* Brainsight: ``M_bs = M_sim @ diag(-1, 1, -1, 1)`` (x and z negated, so the
  Brainsight z axis points out of the head).
* LPS (DICOM patient space): ``M_lps = diag(-1, -1, 1, 1) @ M_ras``.

The facts were checked against SimNIBS ``simnibs/utils/nnav.py`` (GPL-3, read
for facts only) and its Localite/Brainsight test files. All three flips are
involutions with determinant +1, so the same matrix converts both ways and a
right-handed pose stays right-handed.
"""

from __future__ import annotations

import numpy as np

from navsvc.coords import RAS_LPS_FLIP, ras_to_lps
from navsvc.errors import InputError

#: world spaces an export can be written in
SPACES = ("ras", "lps")

#: SimNIBS coil axes -> Localite coil axes (right-multiply the 3x3 axes)
SIMNIBS_TO_LOCALITE_AXES = np.array([[0.0, 0.0, 1.0], [0.0, -1.0, 0.0], [1.0, 0.0, 0.0]])

#: SimNIBS coil axes -> Brainsight coil axes (right-multiply the 3x3 axes)
SIMNIBS_TO_BRAINSIGHT_AXES = np.diag([-1.0, 1.0, -1.0])

#: RAS <-> LPS world flip of a 4x4 pose (left-multiply); points use :func:`navsvc.coords.ras_to_lps`
RAS_LPS_POSE_FLIP = np.diag(np.append(RAS_LPS_FLIP, 1.0))

#: largest tolerated deviation of read axes from an orthonormal set; Brainsight
#: writes axes with 3 decimals, which leaves errors of a few 1e-3
ORTHONORMAL_TOLERANCE = 1e-2
#: the same for plan matrices, which the engine computes in float64
PLAN_ORTHONORMAL_TOLERANCE = 1e-6
#: farthest a coil centre may lie from the image's origin in any axis, mm (a head is within
#: a few hundred mm of it; a hostile value, or a pose in micrometres, is not a pose over a head)
MAX_POSE_TRANSLATION_MM = 10_000.0
#: nearest a coil centre may lie to the image's origin, mm. Scanner and MNI-aligned images put
#: the origin inside the head (isocentre, anterior commissure) where no coil sits; a pose
#: written in metres has its centre within a few tenths of a millimetre of the origin.
MIN_POSE_DISTANCE_FROM_ORIGIN_MM = 20.0


def check_space(space: str) -> str:
    """Return ``space`` in lower case, or raise if it is not a supported world space.

    Parameters
    ----------
    space : str
        ``"ras"`` (NIfTI world) or ``"lps"`` (DICOM patient), any case.

    Returns
    -------
    str
        ``"ras"`` or ``"lps"``.
    """
    value = str(space).strip().lower()
    if value not in SPACES:
        raise InputError(f"unknown space {space!r}; valid values: {', '.join(SPACES)}")
    return value


def _with_axes(matrix: np.ndarray, axes_flip: np.ndarray) -> np.ndarray:
    # axes_flip is a signed permutation: moving and negating columns is the same product,
    # exact, and leaves a non-finite entry of a hostile file to check_pose instead of
    # spreading it as NaN (inf * 0) with a RuntimeWarning
    out = np.array(matrix, dtype=float)
    source = np.argmax(np.abs(axes_flip), axis=0)
    out[:3, :3] = out[:3, source] * axes_flip[source, np.arange(3)]
    return out


def simnibs_to_localite(matrix: np.ndarray) -> np.ndarray:
    """Convert a SimNIBS-convention 4x4 pose to Localite coil axes (same world space)."""
    return _with_axes(matrix, SIMNIBS_TO_LOCALITE_AXES)


def localite_to_simnibs(matrix: np.ndarray) -> np.ndarray:
    """Convert a Localite-convention 4x4 pose to SimNIBS coil axes (same world space)."""
    return _with_axes(matrix, SIMNIBS_TO_LOCALITE_AXES.T)


def simnibs_to_brainsight(matrix: np.ndarray) -> np.ndarray:
    """Convert a SimNIBS-convention 4x4 pose to Brainsight coil axes (same world space)."""
    return _with_axes(matrix, SIMNIBS_TO_BRAINSIGHT_AXES)


def brainsight_to_simnibs(matrix: np.ndarray) -> np.ndarray:
    """Convert a Brainsight-convention 4x4 pose to SimNIBS coil axes (same world space)."""
    return _with_axes(matrix, SIMNIBS_TO_BRAINSIGHT_AXES.T)


def plain_decimal(value: float) -> str:
    """The shortest decimal that reads back as exactly ``value``, without an exponent (as the
    navigators write numbers); -0.0 is written as 0.0."""
    return np.format_float_positional(float(value) + 0.0, unique=True, trim="0")


def ras_to_space(matrix_ras: np.ndarray, space: str) -> np.ndarray:
    """Express a 4x4 RAS pose in ``space`` (``"ras"`` or ``"lps"``), mm.

    Parameters
    ----------
    matrix_ras : array-like, shape (4, 4)
        Pose in NIfTI RAS world coordinates, mm (any coil-axis convention).
    space : str
        Target world space, ``"ras"`` or ``"lps"`` (any case; checked by :func:`check_space`).

    Returns
    -------
    numpy.ndarray, shape (4, 4), float64
        A new matrix: with x and y rows negated for ``"lps"``, an unchanged copy for ``"ras"``.
    """
    matrix = np.array(matrix_ras, dtype=float)
    return RAS_LPS_POSE_FLIP @ matrix if check_space(space) == "lps" else matrix


def space_to_ras(matrix: np.ndarray, space: str) -> np.ndarray:
    """Express a 4x4 pose given in ``space`` (``"ras"`` or ``"lps"``) in RAS, mm.

    Parameters
    ----------
    matrix : array-like, shape (4, 4)
        Pose in the world space ``space``, mm (any coil-axis convention).
    space : str
        World space of ``matrix``, ``"ras"`` or ``"lps"`` (any case; checked by
        :func:`check_space`).

    Returns
    -------
    numpy.ndarray, shape (4, 4), float64
        A new matrix in NIfTI RAS world coordinates, mm.
    """
    # the flip is its own inverse
    return ras_to_space(matrix, space)


def point_to_space(point_ras_mm, space: str) -> np.ndarray:
    """Express a RAS point (mm) in ``space``; the same call converts back to RAS.

    Parameters
    ----------
    point_ras_mm : array-like of 3 floats
        Point in NIfTI RAS world coordinates, mm (any array of 3 values; it is reshaped to (3,)).
    space : str
        Target world space, ``"ras"`` or ``"lps"`` (any case; checked by :func:`check_space`).

    Returns
    -------
    numpy.ndarray, shape (3,), float64
        A new array: x and y negated for ``"lps"``, an unchanged copy for ``"ras"``.
    """
    point = np.asarray(point_ras_mm, dtype=float).reshape(3)
    return ras_to_lps(point)[0] if check_space(space) == "lps" else point.copy()


def check_pose(matrix, what: str = "coil pose", tolerance: float = ORTHONORMAL_TOLERANCE,
               orthonormalize: bool = True) -> np.ndarray:
    """Validate a 4x4 rigid pose and return it as float64, optionally re-orthonormalized.

    Parameters
    ----------
    matrix : array-like, shape (4, 4)
        Homogeneous pose: axes in the first three columns, centre (mm) in the last.
    what : str
        Name used in error messages (e.g. ``"marker 'M0'"``).
    tolerance : float
        Largest accepted ``max |AᵀA - I|`` of the 3x3 axes ``A``.
    orthonormalize : bool
        Replace the axes by the nearest rotation (polar decomposition). Readers
        do, so poses rounded by a navigator become exact rotations; exports do
        not, so the engine's matrix is written unchanged.

    Returns
    -------
    numpy.ndarray, shape (4, 4), float64

    Raises
    ------
    InputError
        Wrong shape, non-finite values, last row not ``[0, 0, 0, 1]``, a centre beyond
        :data:`MAX_POSE_TRANSLATION_MM`, axes not orthonormal within ``tolerance``,
        left-handed axes, or a centre within :data:`MIN_POSE_DISTANCE_FROM_ORIGIN_MM` of
        the origin (a pose in metres).
    """
    try:
        pose = np.array(matrix, dtype=float)
    except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: an integer beyond float
        raise InputError(f"{what}: not a numeric 4x4 matrix ({exc})") from None
    if pose.shape != (4, 4):
        raise InputError(f"{what}: expected a 4x4 matrix, got shape {pose.shape}")
    if not np.all(np.isfinite(pose)):
        raise InputError(f"{what}: matrix holds non-finite values")
    if not np.allclose(pose[3], [0.0, 0.0, 0.0, 1.0], atol=1e-9):
        raise InputError(f"{what}: last row must be 0 0 0 1, got {pose[3].tolist()}")
    if np.max(np.abs(pose[:3, 3])) > MAX_POSE_TRANSLATION_MM:
        raise InputError(f"{what}: coil centre {pose[:3, 3].tolist()} lies more than {MAX_POSE_TRANSLATION_MM:g} mm "
                         "from the image's origin: not a pose over a head (check the units: mm)")
    axes = pose[:3, :3]
    largest = float(np.max(np.abs(axes)))
    if largest > 1.0 + tolerance:  # no unit axis has such an entry; checked before AᵀA overflows
        raise InputError(f"{what}: coil axes are not orthonormal (an entry of {largest:.3g})")
    error = float(np.max(np.abs(axes.T @ axes - np.eye(3))))
    if error > tolerance:
        raise InputError(f"{what}: coil axes are not orthonormal (error {error:.3g})")
    if np.linalg.det(axes) <= 0:
        raise InputError(f"{what}: coil axes are left-handed (a mirrored pose)")
    _require_off_origin(pose[:3, 3], what)
    if orthonormalize:
        u, _, vt = np.linalg.svd(axes)
        pose[:3, :3] = u @ vt
    return pose


def _require_off_origin(centre: np.ndarray, what: str) -> None:
    distance = float(np.linalg.norm(centre))
    if distance < MIN_POSE_DISTANCE_FROM_ORIGIN_MM:
        raise InputError(
            f"{what}: coil centre {centre.tolist()} lies {distance:.3g} mm from the image's "
            f"origin, less than {MIN_POSE_DISTANCE_FROM_ORIGIN_MM:g} mm, where no coil sits (scanner "
            "and MNI-aligned images have their origin inside the head). Is the pose in metres? "
            "Positions must be in mm")
