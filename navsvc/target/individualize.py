"""Individualization: move the mapped coordinate onto the patient's own cortex.

Rule (documented in the plan): take the scalp point nearest the mapped coordinate and
walk from it towards the coordinate; the target is the middle of the first run of grey
matter met on that line (the gyral crown facing the coil), capped at 3 mm below the grey
matter surface, provided it lies within 10 mm of the mapped coordinate and in the same
hemisphere. If the line meets no such grey matter, the target is the grey-matter voxel
nearest the mapped coordinate (same hemisphere, within 10 mm). Otherwise: no target.

The scalp-to-cortex distance above a target (:func:`scalp_to_cortex_mm`) is measured to
the cortical surface, where the line from the scalp point to the target enters grey
matter, as the motor-threshold literature measures it; the target itself lies up to
3 mm deeper, in the middle of the crown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from navsvc.anatomy.tissue import GM_THRESHOLD, LocalTissue
from navsvc.coords import unit
from navsvc.errors import PipelineError

#: the individualized target stays within this distance of the mapped coordinate, mm
MAX_SHIFT_MM = 10.0
#: step along the scalp-to-target line, mm
RAY_STEP_MM = 0.25
#: deepest point taken below the grey-matter surface, mm
MAX_DEPTH_MM = 3.0

RULE = (
    "middle of the first grey-matter run on the line from the nearest scalp point to the "
    f"mapped coordinate (at most {MAX_DEPTH_MM:g} mm deep), within {MAX_SHIFT_MM:g} mm of the mapped "
    f"coordinate and in its hemisphere; else the nearest grey-matter voxel within {MAX_SHIFT_MM:g} mm"
)
#: step of the search for the cortical surface on the scalp-to-target line, mm
SURFACE_STEP_MM = 0.05


@dataclass(frozen=True)
class CorticalTarget:
    """The individualized target and how it was found."""

    cortex_ras_mm: np.ndarray
    method: str  # "scalp_ray" or "nearest_grey_matter"
    shift_mm: float
    gm_probability: float


def individualize(mapped_ras_mm, scalp_point_ras_mm, tissue: LocalTissue,
                  same_hemisphere, max_shift_mm: float = MAX_SHIFT_MM, site: str = "target") -> CorticalTarget:
    """Find the cortical target near ``mapped_ras_mm`` (see the module rule).

    Parameters
    ----------
    mapped_ras_mm : array (3,)
        The strategy's coordinate mapped into native space.
    scalp_point_ras_mm : array (3,)
        The scalp point nearest ``mapped_ras_mm``.
    tissue : LocalTissue
        Grey-matter posterior around the mapped coordinate.
    same_hemisphere : callable
        ``same_hemisphere(points_ras_mm) -> bool array``: whether points lie in the
        mapped coordinate's hemisphere.
    max_shift_mm : float
        Largest distance from ``mapped_ras_mm`` to the result, mm (the rule's 10 mm).
    site : str
        What the point is ("target", "motor hand knob"), as the error names it.

    Raises
    ------
    PipelineError
        When no grey matter of the hemisphere lies within ``max_shift_mm``.
    """
    mapped = np.asarray(mapped_ras_mm, float)
    scalp = np.asarray(scalp_point_ras_mm, float)
    direction = unit(mapped - scalp)
    length = np.linalg.norm(mapped - scalp) + max_shift_mm
    steps = np.arange(0.0, length, RAY_STEP_MM)
    ray = scalp + steps[:, None] * direction
    prob = tissue.gm_probability(ray)
    ok = (prob > GM_THRESHOLD) & (np.linalg.norm(ray - mapped, axis=1) <= max_shift_mm)
    ok &= same_hemisphere(ray)
    if ok.any():
        first = int(np.argmax(ok))
        last = first
        while last + 1 < len(ok) and ok[last + 1] and (last + 1 - first) * RAY_STEP_MM < 2 * MAX_DEPTH_MM:
            last += 1
        point = ray[(first + last) // 2]
        return CorticalTarget(point, "scalp_ray", float(np.linalg.norm(point - mapped)),
                              float(tissue.gm_probability(point)[0]))
    gm = tissue.gm_points_ras_mm()
    if len(gm):
        gm = gm[same_hemisphere(gm)]
    if len(gm):
        dist, idx = cKDTree(gm).query(mapped)
        if dist <= max_shift_mm:
            point = gm[idx]
            return CorticalTarget(point, "nearest_grey_matter", float(dist),
                                  float(tissue.gm_probability(point)[0]))
    raise PipelineError(
        f"no grey matter within {max_shift_mm:.0f} mm of the mapped {site} {np.round(mapped, 1).tolist()}: "
        "the registration to the template may have failed there (no plan or QC report is written); look at "
        "the T1 and plan this patient by hand"
    )


def scalp_to_cortex_mm(scalp_point_ras_mm, target_ras_mm, tissue: LocalTissue) -> float:
    """Scalp-to-cortex distance above a cortical target, mm.

    Measured from the scalp point to the cortical surface: the first point of the line
    from the scalp point to the target whose grey-matter probability exceeds
    ``GM_THRESHOLD`` (the crossing interpolated between samples ``SURFACE_STEP_MM`` apart).
    This is the scalp-to-cortex distance the motor threshold depends on (McConnell et al.
    2001 Biol Psychiatry 49:454, "a line from scalp to the nearest cortex"; Stokes et al.
    2005 J Neurophysiol 94:4520). The distance to the target itself adds half the crown's
    grey-matter thickness, which varies between sites and with image noise.

    Parameters
    ----------
    scalp_point_ras_mm : array (3,)
        The scalp point above the target (the entry point), native RAS mm.
    target_ras_mm : array (3,)
        The individualized cortical target, native RAS mm.
    tissue : LocalTissue
        Grey-matter posterior around the target.

    Returns
    -------
    float
        The distance, mm; the target's own distance when the line meets no grey matter
        before it.
    """
    scalp = np.asarray(scalp_point_ras_mm, float)
    target = np.asarray(target_ras_mm, float)
    length = float(np.linalg.norm(target - scalp))
    steps = np.arange(0.0, length, SURFACE_STEP_MM)
    prob = tissue.gm_probability(scalp + steps[:, None] * unit(target - scalp))
    inside = np.flatnonzero(prob > GM_THRESHOLD)
    if not len(inside):
        return length
    first = int(inside[0])
    if first == 0:
        return 0.0
    before, after = prob[first - 1], prob[first]
    return float(steps[first - 1] + (GM_THRESHOLD - before) / (after - before) * SURFACE_STEP_MM)
