"""Scalp-to-cortex dose adjustment (Stokes et al. 2005 J Neurophysiol 94:4520; 2007).

The motor threshold rises by about 2.8 %MSO per mm of extra scalp-to-cortex distance:
adjusted MT = MT + k·(D_target − D_M1), k = 2.8 %MSO/mm.
"""

from __future__ import annotations

STOKES_SLOPE_PCT_MSO_PER_MM = 2.8
STOKES_CITATION = "Stokes et al. 2005 J Neurophysiol 94:4520 (2.8 %MSO/mm); Stokes et al. 2007 Clin Neurophysiol 118:1617"
#: scalp-to-cortex distances a dose suggestion is made from, mm. Adult distances at M1 and
#: the DLPFC lie well inside (about 10-25 mm in the TMS literature); one outside is a
#: measurement gone wrong (a target in the scalp, a scalp that is the image's edge), and
#: 2.8 %MSO per mm would turn it into a large wrong dose.
PLAUSIBLE_SCALP_TO_CORTEX_MM = (8.0, 35.0)
#: largest target-minus-M1 depth difference a suggestion is made from, mm (28 %MSO at the
#: Stokes slope). Two depths inside the plausible range could otherwise differ by 27 mm and
#: suggest +-75 %MSO; Stokes et al. measured their slope over differences of a few mm, and a
#: suggestion this large needs a clinician's look at the depths, not an automatic dose.
MAX_DEPTH_DIFFERENCE_MM = 10.0


def mt_offset_pct_mso(scalp_to_cortex_target_mm: float, scalp_to_cortex_m1_mm: float,
                      slope_pct_mso_per_mm: float = STOKES_SLOPE_PCT_MSO_PER_MM) -> float:
    """%MSO to add to the resting motor threshold for the target's depth.

    Parameters
    ----------
    scalp_to_cortex_target_mm : float
        Scalp-to-cortex distance at the target, mm.
    scalp_to_cortex_m1_mm : float
        The same at the motor hand knob (M1), where the motor threshold was measured, mm.
    slope_pct_mso_per_mm : float
        Rise of the motor threshold per mm of extra depth, %MSO/mm (Stokes et al.: 2.8).

    Returns
    -------
    float
        The offset, %MSO: positive when the target lies deeper than M1, negative when
        shallower. Not rounded and not checked for plausibility (see
        :func:`implausible_depth`).
    """
    return slope_pct_mso_per_mm * (scalp_to_cortex_target_mm - scalp_to_cortex_m1_mm)


#: why a plan has no dose suggestion when the hand knob's scalp is not in the image
M1_NOT_IN_IMAGE = ("the scalp over the motor hand knob is not in the image (its field of view cuts it, or "
                   "defacing removed it), so its scalp-to-cortex distance cannot be measured: no depth "
                   "adjustment is suggested. Use the measured motor threshold as it is, or plan on a T1 "
                   "covering the whole head, not defaced")


def implausible_depth(scalp_to_cortex_target_mm: float, scalp_to_cortex_m1_mm: float) -> str | None:
    """Why no suggestion can be made from these distances, or None when both are plausible.

    Parameters
    ----------
    scalp_to_cortex_target_mm : float
        Scalp-to-cortex distance at the target, mm.
    scalp_to_cortex_m1_mm : float
        The same at the motor hand knob, mm.

    Returns
    -------
    str or None
        A user-facing reason when either distance lies outside
        :data:`PLAUSIBLE_SCALP_TO_CORTEX_MM` (bounds included as plausible) or the two
        differ by more than :data:`MAX_DEPTH_DIFFERENCE_MM`; None otherwise.
    """
    lo, hi = PLAUSIBLE_SCALP_TO_CORTEX_MM
    for where, depth in (("target", scalp_to_cortex_target_mm), ("motor hand knob", scalp_to_cortex_m1_mm)):
        if not lo <= depth <= hi:
            return (f"the scalp-to-cortex distance measured at the {where}, {depth:.1f} mm, is outside the "
                    f"{lo:g}-{hi:g} mm of an adult head: a measurement error, so no depth adjustment is "
                    "suggested. Check the QC report and use the measured motor threshold as it is")
    difference_mm = scalp_to_cortex_target_mm - scalp_to_cortex_m1_mm
    if abs(difference_mm) > MAX_DEPTH_DIFFERENCE_MM:
        return (f"the target lies {abs(difference_mm):.1f} mm {'deeper' if difference_mm > 0 else 'shallower'} "
                f"than the motor hand knob, more than the {MAX_DEPTH_DIFFERENCE_MM:g} mm a depth adjustment is "
                f"suggested for (it would be {mt_offset_pct_mso(scalp_to_cortex_target_mm, scalp_to_cortex_m1_mm):+.1f} "
                "%MSO): no adjustment is suggested. Check both depths in the QC report; a clinician decides the dose")
    return None


def fluid_near(sites: list[str]) -> str:
    """Why no suggestion is made when fluid where the brain should be lies near ``sites``
    (see :mod:`navsvc.target.fluid`)."""
    return (f"fluid where the brain should be lies near the {' and the '.join(sites)} (see the caution), so the "
            "scalp-to-cortex distance measured there may cross it: no depth adjustment is suggested. Use the "
            "measured motor threshold as it is; a clinician decides the dose")


def dose_summary(scalp_to_cortex_target_mm: float, scalp_to_cortex_m1_mm: float | None,
                 fluid_near_sites: list[str] | None = None) -> dict:
    """The plan's ``dose`` block.

    Parameters
    ----------
    scalp_to_cortex_target_mm : float
        Scalp-to-cortex distance at the target, mm.
    scalp_to_cortex_m1_mm : float or None
        The same at the motor hand knob; None when its scalp is not in the image.
    fluid_near_sites : list of str, optional
        The sites ("target", "motor hand knob") near which fluid lies where the brain
        should be.

    Returns
    -------
    dict
        Offset and M1 distance are None when the M1 distance is; the offset is None too,
        with the reason given, when fluid lies near a site or a distance is implausible.
    """
    if scalp_to_cortex_m1_mm is None:
        reason = M1_NOT_IN_IMAGE
    elif fluid_near_sites:
        reason = fluid_near(fluid_near_sites)
    else:
        reason = implausible_depth(scalp_to_cortex_target_mm, scalp_to_cortex_m1_mm)
    offset = (None if reason is not None
              else round(mt_offset_pct_mso(scalp_to_cortex_target_mm, scalp_to_cortex_m1_mm), 2))
    block = {
        "scalp_to_cortex_target_mm": round(scalp_to_cortex_target_mm, 2),
        "scalp_to_cortex_m1_mm": None if scalp_to_cortex_m1_mm is None else round(scalp_to_cortex_m1_mm, 2),
        "stokes_slope_pct_mso_per_mm": STOKES_SLOPE_PCT_MSO_PER_MM,
        "mt_offset_pct_mso": offset,
        "rule": "adjusted MT (%MSO) = resting MT + mt_offset_pct_mso",
        "citation": STOKES_CITATION,
    }
    if reason is not None:
        block["unavailable_reason"] = reason
    return block
