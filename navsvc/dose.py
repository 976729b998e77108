"""Scalp-to-cortex dose adjustment (Stokes et al. 2005 J Neurophysiol 94:4520; 2007).

The motor threshold rises by about 2.8 %MSO per mm of extra scalp-to-cortex distance:
adjusted MT = MT + k·(D_target − D_M1), k = 2.8 %MSO/mm.
"""

from __future__ import annotations

STOKES_SLOPE_PCT_MSO_PER_MM = 2.8
STOKES_CITATION = "Stokes et al. 2005 J Neurophysiol 94:4520 (2.8 %MSO/mm); Stokes et al. 2007 Clin Neurophysiol 118:1617"


def mt_offset_pct_mso(scalp_to_cortex_target_mm: float, scalp_to_cortex_m1_mm: float,
                      slope_pct_mso_per_mm: float = STOKES_SLOPE_PCT_MSO_PER_MM) -> float:
    """%MSO to add to the resting motor threshold for the target's depth."""
    return slope_pct_mso_per_mm * (scalp_to_cortex_target_mm - scalp_to_cortex_m1_mm)


def dose_summary(scalp_to_cortex_target_mm: float, scalp_to_cortex_m1_mm: float) -> dict:
    """The plan's ``dose`` block."""
    return {
        "scalp_to_cortex_target_mm": round(scalp_to_cortex_target_mm, 2),
        "scalp_to_cortex_m1_mm": round(scalp_to_cortex_m1_mm, 2),
        "stokes_slope_pct_mso_per_mm": STOKES_SLOPE_PCT_MSO_PER_MM,
        "mt_offset_pct_mso": round(mt_offset_pct_mso(scalp_to_cortex_target_mm, scalp_to_cortex_m1_mm), 2),
        "rule": "adjusted MT (%MSO) = resting MT + mt_offset_pct_mso",
        "citation": STOKES_CITATION,
    }
