"""Stimulation intensity in %MSO from the motor threshold, with the scalp-to-cortex adjustment.

Intensity is prescribed as a percentage of the resting motor threshold (RMT, itself in % of
the stimulator's maximum output, %MSO): ``intensity_pct_mso = rmt_pct_mso * pct_of_mt / 100``.

The field falls off with distance, so a target deeper than the motor hand knob needs more
output (Stokes et al. 2005 J Neurophysiol 94:4520; 2007 Clin Neurophysiol 118:1617; docs/DESIGN.md
§6): ``adjusted MT = MT + k * (D_target - D_M1)`` with k = 2.8 %MSO per mm of extra
scalp-to-cortex distance (``navsvc.dose.STOKES_SLOPE_PCT_MSO_PER_MM``). The plan carries that
offset, ``k * (D_target - D_M1)``, as ``plan["dose"]["mt_offset_pct_mso"]``.
"""

from __future__ import annotations

import math

from collections.abc import Mapping
from dataclasses import dataclass

from navsvc.errors import InputError

MAX_OUTPUT_PCT_MSO = 100.0
#: lowest motor threshold accepted, measured or depth-adjusted, %MSO
MIN_MOTOR_THRESHOLD_PCT_MSO = 1.0


@dataclass(frozen=True)
class Dose:
    """Intensity of one session.

    Parameters
    ----------
    rmt_pct_mso : float
        Resting motor threshold, % of maximum stimulator output.
    pct_of_mt : float
        Prescribed intensity, % of the motor threshold.
    intensity_pct_mso : float
        ``rmt_pct_mso * pct_of_mt / 100``.
    mt_offset_pct_mso : float or None
        Stokes depth offset from the plan.
    adjusted_mt_pct_mso, adjusted_intensity_pct_mso : float or None
        Motor threshold and intensity after the depth adjustment.
    exceeds_max_output : bool
        True when the given intensity is above 100 %MSO (the device cannot deliver it).
    adjustment_withheld : str or None
        Why the depth adjustment was not applied although the plan has an offset (it would
        take the motor threshold below 1 %MSO), else None.
    depth_adjusted : bool
        The protocol gives the depth-adjusted intensity.
    given_intensity_pct_mso : float
        The intensity the session gives (:func:`given_intensity_pct_mso`).
    """

    rmt_pct_mso: float
    pct_of_mt: float
    intensity_pct_mso: float
    mt_offset_pct_mso: float | None
    adjusted_mt_pct_mso: float | None
    adjusted_intensity_pct_mso: float | None
    exceeds_max_output: bool
    adjustment_withheld: str | None
    depth_adjusted: bool
    given_intensity_pct_mso: float


def compute_dose(rmt_pct_mso: float, pct_of_mt: float,
                 mt_offset_pct_mso: float | None = None, depth_adjusted: bool = False) -> Dose:
    """Return the session intensity, and the depth-adjusted one when an offset is known;
    under a ``depth_adjusted`` protocol the session gives the adjusted one.

    Parameters
    ----------
    rmt_pct_mso : float
        Resting motor threshold, %MSO (1-100).
    pct_of_mt : float
        Prescribed intensity, % of the motor threshold (1-200).
    mt_offset_pct_mso : float, optional
        The plan's Stokes depth offset, %MSO (:func:`plan_mt_offset`); None when unknown, and
        then no adjusted values are computed.
    depth_adjusted : bool
        Whether the protocol gives the depth-adjusted intensity.

    Returns
    -------
    Dose
        Intensities and adjusted motor threshold rounded to 0.1 %MSO.

    Raises
    ------
    InputError
        When the motor threshold is outside 1-100 %MSO or the percentage outside 1-200 %.
    """
    if not MIN_MOTOR_THRESHOLD_PCT_MSO <= rmt_pct_mso <= MAX_OUTPUT_PCT_MSO:
        raise InputError(f"resting motor threshold must be 1-100 %MSO; got {rmt_pct_mso}")
    if not 1.0 <= pct_of_mt <= 200.0:
        raise InputError(f"intensity must be 1-200 % of the motor threshold; got {pct_of_mt}")
    intensity = rmt_pct_mso * pct_of_mt / 100.0
    adjusted_mt = adjusted = withheld = None
    if mt_offset_pct_mso is not None:
        adjusted_mt = rmt_pct_mso + mt_offset_pct_mso
        adjusted = adjusted_mt * pct_of_mt / 100.0
        if adjusted_mt < MIN_MOTOR_THRESHOLD_PCT_MSO:
            withheld = (f"the plan's depth offset ({mt_offset_pct_mso:+.1f} %MSO) would take the motor threshold "
                        f"to {adjusted_mt:.1f} %MSO: not applied; check the plan's scalp-to-cortex distances")
            adjusted_mt = adjusted = None
    intensity = round(intensity, 1)
    adjusted = None if adjusted is None else round(adjusted, 1)
    given = given_intensity_pct_mso(intensity, adjusted, depth_adjusted)
    return Dose(rmt_pct_mso=rmt_pct_mso, pct_of_mt=pct_of_mt,
                intensity_pct_mso=intensity, mt_offset_pct_mso=mt_offset_pct_mso,
                adjusted_mt_pct_mso=None if adjusted_mt is None else round(adjusted_mt, 1),
                adjusted_intensity_pct_mso=adjusted,
                exceeds_max_output=given > MAX_OUTPUT_PCT_MSO, adjustment_withheld=withheld,
                depth_adjusted=depth_adjusted, given_intensity_pct_mso=given)


def plan_mt_offset(plan: Mapping) -> float | None:
    """Return ``plan["dose"]["mt_offset_pct_mso"]`` as a float, or None when the plan lacks it
    or holds no finite number there (no depth adjustment is then applied)."""
    dose = plan.get("dose") if isinstance(plan, Mapping) else None
    value = dose.get("mt_offset_pct_mso") if isinstance(dose, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def given_intensity_pct_mso(intensity_pct_mso: float, adjusted_intensity_pct_mso: float | None,
                            depth_adjusted: bool) -> float:
    """The intensity a session gives: the depth-adjusted one under a depth-adjusted
    protocol when the plan's adjustment applies, else the measured threshold's (also for
    a delivery logged before its dose recorded it).

    Parameters
    ----------
    intensity_pct_mso : float
        Intensity from the measured motor threshold, %MSO.
    adjusted_intensity_pct_mso : float or None
        Depth-adjusted intensity, %MSO; None when the plan has no offset or its adjustment
        was withheld.
    depth_adjusted : bool
        Whether the protocol gives the depth-adjusted intensity.

    Returns
    -------
    float
        The given intensity, %MSO.
    """
    if depth_adjusted and adjusted_intensity_pct_mso is not None:
        return adjusted_intensity_pct_mso
    return intensity_pct_mso


def over_output_reason(dose: Dose) -> str | None:
    """Say why the session's intensity cannot have been given (above the stimulator's
    maximum output), or None."""
    given = dose.given_intensity_pct_mso
    if not dose.exceeds_max_output:
        return None
    return (f"{dose.pct_of_mt:g} % of a {dose.rmt_pct_mso:g} %MSO motor threshold"
            f"{' (depth-adjusted)' if given != dose.intensity_pct_mso else ''} is {given:.1f} %MSO, more "
            f"than the stimulator's maximum output ({MAX_OUTPUT_PCT_MSO:g} %MSO): log the intensity "
            "actually given")


def above_protocol_reason(pct_of_mt: float, protocol_pct_of_mt: float) -> str | None:
    """Say why an intensity needs a clinician's look (above the course protocol's), or None.

    Below the protocol is common (a ramp-up over the first sessions); above it raises the
    seizure risk the protocol's intensity was chosen to keep low (Rossi et al. 2021, IFCN
    safety guidelines, Clin Neurophysiol 132:269).

    Parameters
    ----------
    pct_of_mt : float
        The session's intensity, % of the motor threshold.
    protocol_pct_of_mt : float
        The course protocol's intensity, % of the motor threshold.

    Returns
    -------
    str or None
        The message when ``pct_of_mt`` is above ``protocol_pct_of_mt``, else None.
    """
    if pct_of_mt <= protocol_pct_of_mt:
        return None
    return (f"intensity {pct_of_mt:g} % of motor threshold is above the protocol's "
            f"{protocol_pct_of_mt:g} %: a clinician should review this session")
