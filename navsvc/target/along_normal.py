"""The along-normal alternative entry: the scalp point whose inward normal line passes
nearest the cortical target, for navigators that place the coil along the scalp normal."""

from __future__ import annotations

import numpy as np

from navsvc.anatomy.field_of_view import COIL_CLEARANCE_MM, ScalpCut
from navsvc.anatomy.scalp import Scalp

#: along-normal alternative: scalp points searched within this distance of the entry, mm
ALONG_NORMAL_SEARCH_MM = 25.0
#: radius of the dense search around the best coarse candidate, mm
ALONG_NORMAL_REFINE_MM = 3.0


def normal_line_miss_mm(scalp: Scalp, scalp_point, target) -> float:
    """How far the inward normal line from ``scalp_point`` passes from ``target``, mm
    (infinite when the target lies behind the scalp point)."""
    normal = scalp.inward_normal(scalp_point)
    offset = np.asarray(target, float) - scalp_point
    depth = float(np.dot(offset, normal))
    return float(np.linalg.norm(offset - depth * normal)) if depth > 0 else np.inf


def along_normal_entry(scalp: Scalp, cut: ScalpCut, entry, target) -> np.ndarray:
    """The scalp point whose inward normal line passes nearest the target (away from any
    field-of-view cut); never one that passes farther than the nearest point's own line.

    A normal costs a plane fit, so the search scores about 200 evenly spread candidates
    within ``ALONG_NORMAL_SEARCH_MM`` of the entry, then every vertex within
    ``ALONG_NORMAL_REFINE_MM`` of the best of them and of the entry.

    Parameters
    ----------
    scalp : Scalp
        The patient's scalp surface.
    cut : ScalpCut
        Where the image's field of view cuts the scalp; candidates closer to the cut than
        the coil's clearance are skipped.
    entry : array_like (3,)
        The entry nearest the target (native RAS mm), where the search starts.
    target : array_like (3,)
        The cortical target, native RAS mm.

    Returns
    -------
    ndarray (3,)
        The chosen scalp point, native RAS mm (``entry`` itself when no candidate's line
        passes nearer).
    """
    verts = scalp.vertices_ras_mm
    near = verts[np.linalg.norm(verts - entry, axis=1) < ALONG_NORMAL_SEARCH_MM]
    near = near[cut.trusted(near, COIL_CLEARANCE_MM)] if cut.is_cut else near
    best, best_miss = np.asarray(entry, float), normal_line_miss_mm(scalp, entry, target)

    def consider(points: np.ndarray) -> None:
        nonlocal best, best_miss
        for v in points:
            miss = normal_line_miss_mm(scalp, v, target)
            if miss < best_miss:
                best, best_miss = v, miss

    consider(near[:: max(1, len(near) // 200)])
    for centre in {tuple(best), tuple(np.asarray(entry, float))}:
        consider(near[np.linalg.norm(near - np.asarray(centre), axis=1) < ALONG_NORMAL_REFINE_MM])
    return np.asarray(best)
