"""Options of one targeting run (what the clinician chooses)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from navsvc.coords import edge_distance_mm
from navsvc.errors import InputError
from navsvc.target.strategies import DEFAULT_STRATEGY

#: coil centre distance outside the scalp, mm: SimNIBS's default for hair
DEFAULT_COIL_DISTANCE_MM = 4.0
#: handle angle, degrees: posterior and lateral, 45 degrees from the midsagittal direction
#: (common for the DLPFC; source not verified, DESIGN.md section 6)
DEFAULT_HANDLE_ANGLE_DEG = 45.0
#: accepted coil centre distances outside the scalp, mm (0: coil on the scalp; 30 covers
#: thick hair, caps and spacers)
COIL_DISTANCE_RANGE_MM = (0.0, 30.0)
#: accepted handle angles from the midsagittal plane, degrees
HANDLE_ANGLE_RANGE_DEG = (-180.0, 180.0)
#: extent of the ICBM 2009a template grid (nilearn's copy, 197x233x189 at 1 mm), per axis, mm:
#: an MNI coordinate outside it is outside the head
MNI_BOX_MM = ((-98.0, 98.0), (-134.0, 98.0), (-72.0, 116.0))


@dataclass(frozen=True)
class PlanOptions:
    """What to target and how to place the coil.

    Exactly one of ``strategy`` (a named strategy of :mod:`navsvc.target.strategies`),
    ``mni_mm`` or ``native_ras_mm`` selects the target; when ``mni_mm`` or
    ``native_ras_mm`` is given, ``strategy`` is ignored.

    Parameters
    ----------
    strategy : str
        Named target strategy (default :data:`~navsvc.target.strategies.DEFAULT_STRATEGY`, ``"fox2012"``).
    mni_mm : tuple of 3 float, optional
        A target in template (ICBM 2009 symmetric) MNI coordinates, mm.
    native_ras_mm : tuple of 3 float, optional
        A target the clinician chose in the patient's own scanner (NIfTI RAS) space, mm.
    coil_distance_mm : float
        Coil centre distance outside the scalp (hair, coil casing), mm.
    handle_angle_deg : float
        Handle angle, degrees, in the coil plane from the line parallel to the
        midsagittal plane: 0 points the handle posterior (the way from the forehead over
        the vertex to the occiput), positive angles turn it away from the midline (45:
        posterior and lateral, the default; 90: lateral), negative ones towards it (see
        :func:`navsvc.coil.handle_direction_words`).

    Raises
    ------
    InputError
        A coordinate that is not three finite numbers, an MNI coordinate outside the
        template's head, or a distance or angle outside its range.
    """

    strategy: str = DEFAULT_STRATEGY
    mni_mm: tuple[float, float, float] | None = None
    native_ras_mm: tuple[float, float, float] | None = None
    coil_distance_mm: float = DEFAULT_COIL_DISTANCE_MM
    handle_angle_deg: float = DEFAULT_HANDLE_ANGLE_DEG

    def __post_init__(self) -> None:
        for name, point in (("MNI", self.mni_mm), ("native", self.native_ras_mm)):
            if point is not None and (len(point) != 3 or not all(math.isfinite(v) for v in point)):
                raise InputError(f"the {name} target must be three finite numbers (x y z, mm); got {list(point)}")
        if self.mni_mm is not None and not all(lo <= v <= hi for v, (lo, hi) in zip(self.mni_mm, MNI_BOX_MM)):
            raise InputError(
                f"the MNI target {list(self.mni_mm)} lies outside the template's head (x {MNI_BOX_MM[0]}, "
                f"y {MNI_BOX_MM[1]}, z {MNI_BOX_MM[2]} mm): check the coordinate and its sign convention"
            )
        _require_in_range("coil distance", self.coil_distance_mm, COIL_DISTANCE_RANGE_MM, "mm")
        _require_in_range("handle angle", self.handle_angle_deg, HANDLE_ANGLE_RANGE_DEG, "degrees")

    def to_dict(self) -> dict:
        """Return the options as plain JSON-ready values; ``strategy`` is None when a
        coordinate chose the target (the strategy is then not used)."""
        values = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}
        if self.mni_mm is not None or self.native_ras_mm is not None:
            values["strategy"] = None
        return values


def _require_in_range(name: str, value: float, bounds: tuple[float, float], unit: str) -> None:
    lo, hi = bounds
    if not (math.isfinite(value) and lo <= value <= hi):
        raise InputError(f"the {name} must be from {lo:g} to {hi:g} {unit}; got {value}")


def require_native_target_in_image(options: PlanOptions, shape, affine) -> None:
    """Refuse a native target outside the image's field of view, before any work is done
    (the plan's load stage, and the API when a plan is requested for a stored image).

    Parameters
    ----------
    options : PlanOptions
        The run's options; nothing is checked unless ``native_ras_mm`` is given.
    shape : sequence of int
        The image's dimensions (the first three are used).
    affine : array-like, 4x4
        The image's voxel-to-RAS affine.

    Raises
    ------
    InputError
        The native target lies outside the image.
    """
    if options.native_ras_mm is None:
        return
    if edge_distance_mm(shape, affine, options.native_ras_mm)[0] < 0:
        raise InputError(
            f"the native target {list(options.native_ras_mm)} mm lies outside the image: give a point of "
            "this patient's T1 in its scanner (NIfTI RAS) coordinates, as a viewer shows them"
        )
