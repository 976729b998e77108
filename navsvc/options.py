"""Options of one targeting run (what the clinician chooses)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class PlanOptions:
    """What to target and how to place the coil.

    Exactly one of ``strategy`` (a named strategy of :mod:`navsvc.target.strategies`),
    ``mni_mm`` or ``native_ras_mm`` selects the target; when ``mni_mm`` or
    ``native_ras_mm`` is given, ``strategy`` is ignored.

    Parameters
    ----------
    strategy : str
        Named target strategy (default ``"fox2012"``).
    mni_mm : tuple of 3 float, optional
        A target in template (ICBM 2009 symmetric) MNI coordinates, mm.
    native_ras_mm : tuple of 3 float, optional
        A target the clinician chose in the patient's own scanner (NIfTI RAS) space, mm.
    coil_distance_mm : float
        Coil centre distance outside the scalp (hair, coil casing), mm.
    handle_angle_deg : float
        Handle angle from the patient's midsagittal plane, degrees; the handle
        points posterior and away from the midline.
    """

    strategy: str = "fox2012"
    mni_mm: tuple[float, float, float] | None = None
    native_ras_mm: tuple[float, float, float] | None = None
    coil_distance_mm: float = 4.0
    handle_angle_deg: float = 45.0

    def to_dict(self) -> dict:
        """Return the options as plain JSON-ready values."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}
