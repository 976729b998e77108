"""How far the scalp rises above its own smooth shape near a point: a marker capsule taped to
the skin, or anything else lying on it, is part of the scalp surface the coil is placed on.

Skin over the skull is smooth on the scale of a coil's footprint. Around a scalp point, a
quadratic surface is fitted to the scalp mesh's vertices, refitted without those standing
out of it (so a bump does not pull the fit up), and the rise is how far the vertices
stand outward of it.

Measured 2026-12-05 on the pipeline's 2 mm scalp mesh, with a 15 mm patch (the coil
normal's): at the entry, M1 and F3 scalp points of Colin27 and of 11 transformed copies
(rigid, oblique, warped by 5 mm, resampled, noisy, biased), the skin rose at most 0.65 mm;
vitamin-E-like capsules 5-8 mm wide taped over the entry rose 2.1-5.9 mm (one 3 mm or more
off the skin is not part of the scalp: 0.2 mm). Over the whole upper head, normal skin rose
1.5 mm or more only beside the orbit (up to 3.5 mm), the ears and nose, and where the
image's field of view cuts the head. A larger patch follows the head's shape less well: at
25 mm, the warped copies rose up to 3.5 mm. The rise tells a marker from skin; it does not
say what the marker is, so the plan cautions and measures the entry on the scalp as
imaged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from navsvc.anatomy.scalp import NORMAL_PATCH_RADIUS_MM, Scalp
from navsvc.coords import unit

#: radius of the scalp patch fitted around the point, mm (the patch whose plane is the coil's)
RISE_PATCH_RADIUS_MM = NORMAL_PATCH_RADIUS_MM
#: vertices standing out more than this are left out of the refit, mm
RISE_REFIT_MM = 1.0
#: the rise is the height that this many vertices reach (one vertex is noise, not a bump)
RISE_VERTICES = 5
#: from this rise on, the plan cautions that something lies on the scalp, mm
RISE_CAUTION_MM = 1.5


@dataclass(frozen=True)
class ScalpRise:
    """How far the scalp rises above its smooth shape near a scalp point, and where."""

    rise_mm: float
    peak_ras_mm: np.ndarray  # the vertex standing out most (native RAS mm)


def scalp_rise(scalp: Scalp, point_ras_mm) -> ScalpRise:
    """How far the scalp rises outward of its smooth shape within ``RISE_PATCH_RADIUS_MM``
    of a scalp point, and where.

    Parameters
    ----------
    scalp : Scalp
        The scalp surface.
    point_ras_mm : array (3,)
        A point on it (native RAS mm).

    Returns
    -------
    ScalpRise
        ``rise_mm``: the ``RISE_VERTICES``-th largest outward distance of the patch's
        vertices from a quadratic surface fitted to those that do not stand out (0 when
        none stands out); ``peak_ras_mm``: the vertex farthest out.

    Raises
    ------
    PipelineError
        Too little scalp around the point to fit a plane (:meth:`Scalp.inward_normal`).
    """
    normal = -scalp.inward_normal(point_ras_mm, RISE_PATCH_RADIUS_MM)  # the patch's plane, outward
    vertices = scalp.vertices_ras_mm[scalp.vertex_tree.query_ball_point(point_ras_mm, RISE_PATCH_RADIUS_MM)]
    offsets = vertices - vertices.mean(axis=0)
    # any two in-plane axes: the full quadratic fits the same surface whichever they are
    first = unit(np.cross(normal, np.eye(3)[int(np.argmin(np.abs(normal)))]))
    u, v, height = offsets @ first, offsets @ np.cross(normal, first), offsets @ normal
    terms = np.column_stack([np.ones_like(u), u, v, u * u, u * v, v * v])
    fitted = np.ones(len(height), bool)
    for _ in range(4):
        coefficients = np.linalg.lstsq(terms[fitted], height[fitted], rcond=None)[0]
        rise = height - terms @ coefficients
        fitted = rise < RISE_REFIT_MM
    return ScalpRise(float(max(0.0, np.sort(rise)[-RISE_VERTICES])), vertices[int(np.argmax(rise))])


def scalp_rise_caution(rise: ScalpRise, site: str, consequence: str) -> str | None:
    """The caution a plan carries when the scalp rises ``RISE_CAUTION_MM`` or more near a
    scalp point it uses; None below that.

    Parameters
    ----------
    rise : ScalpRise
        :func:`scalp_rise` at the point.
    site : str
        The point, as the caution names it ("the entry point").
    consequence : str
        The sentence saying what was measured on top of the rise there.
    """
    if not rise.rise_mm >= RISE_CAUTION_MM:
        return None
    peak = ", ".join(f"{v:.1f}" for v in rise.peak_ras_mm)
    return (f"the scalp rises {rise.rise_mm:.1f} mm above its smooth shape within {RISE_PATCH_RADIUS_MM:g} mm "
            f"of {site}, most at ({peak}) mm RAS: a marker capsule or something else lies on the skin there, "
            f"or the eye, ear or nose is near. {consequence}. Look at the T1 there, and take markers off the "
            "treatment area before the MRI")
