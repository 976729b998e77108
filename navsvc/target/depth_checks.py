"""Checks of a target's depth: not shallower than scalp and skull, not deeper than a coil reaches."""

from __future__ import annotations

import numpy as np

from navsvc.anatomy.checks import depth_in_brain_mm
from navsvc.anatomy.scalp import PLAIN_T1_REQUEST, Scalp
from navsvc.errors import InputError, PipelineError
from navsvc.grid import WorkingImage
from navsvc.target.results import TargetResult

#: no cortex lies closer to the scalp than this (scalp and skull together are thicker), mm
MIN_TARGET_DEPTH_MM = 5.0
#: deepest a target may lie below the brain's surface, mm: the largest half-value depth
#: (measured from the brain's surface) of the 50 coils Deng, Lisanby & Peterchev simulated
#: (Brain Stimul 2013;6:1-13: 0.9-3.4 cm for figure-8 field patterns). A gyral crown lies a
#: few mm deep, a sulcal fundus about 20 mm; a deep nucleus (a coordinate off the cortex)
#: lies beyond any coil's reach.
MAX_TARGET_DEPTH_IN_BRAIN_MM = 34.0
#: why a scalp point can lie inside the head, as the entry-point refusals say it
_INNER_OUTLINE = ("the head's outline found in this image runs into the head (fluid or a cavity as dark as the "
                 "air outside and joined to it)")
#: step along the line from the scalp entry point to the target, mm
LINE_STEP_MM = 0.5
#: deepest the scalp under the coil may lie inside the convex hull of the head, mm. Measured on
#: every planned entry point of the named targets and of 405 ``--mni`` targets over the left
#: frontal lobe: within 0.6 mm of the hull on Colin27 and on its noisy, coarse and
#: squared-intensity copies, up to 6.3 mm on its copies deformed by 5 mm warps (the temple).
#: The entry points on inner outlines found on the squared copy (one under the frontal lobe, one
#: in the brain) lay 44.5 and 56.5 mm inside Colin27's hull. The hand knob's scalp point lay
#: within 0.3 mm of the hull on Colin27 and those three copies, 1.6-6.7 mm on the warped ones.
MAX_ENTRY_BELOW_HULL_MM = 20.0


def depth_under_entry_mm(brain_mask: WorkingImage, entry_ras_mm, point_ras_mm) -> float:
    """How deep a point lies in the brain below the coil: its distance from where the line
    from the scalp entry point to it first enters the brain mask, mm (0 when the line meets
    no brain before the point).

    Deng et al. measure a coil's half-value depth from the brain's surface under the coil;
    the distance to the nearest brain surface anywhere (:func:`depth_in_brain_mm`) is
    shorter for a deep nucleus near the insula or the midline.

    Parameters
    ----------
    brain_mask : WorkingImage
        The brain (Colin27's brain mask carried onto the patient), read at the nearest
        voxel; above 0.5 counts as brain.
    entry_ras_mm : array-like, shape (3,)
        The scalp entry point, native RAS mm.
    point_ras_mm : array-like, shape (3,)
        The point (the target's cortical point), native RAS mm.

    Returns
    -------
    float
        The depth, mm, found in steps of :data:`LINE_STEP_MM` along the line; the whole
        entry-to-point distance when the entry point itself lies in the mask.
    """
    entry = np.asarray(entry_ras_mm, float)
    offset = np.asarray(point_ras_mm, float) - entry
    length = float(np.linalg.norm(offset))
    along = np.arange(0.0, length, LINE_STEP_MM)
    inside = brain_mask.sample(entry + along[:, None] * (offset / max(length, 1e-9)), order=0) > 0.5
    return length - float(along[np.argmax(inside)]) if inside.any() else 0.0


def require_skin_above(depth_mm: float, site: str) -> None:
    """Refuse a cortical point closer to the scalp found above it than scalp and skull are
    thick: the surface found there is not the skin.

    Parameters
    ----------
    depth_mm : float
        Distance from the scalp point to the point (the target), or to the cortical surface
        above it (the hand knob), mm.
    site : str
        What lies that deep ("cortical target", "cortex at the motor hand knob"), as the
        message names it.

    Raises
    ------
    InputError
        Shallower than :data:`MIN_TARGET_DEPTH_MM`. Measured: Colin27 with its skin darkened,
        intensities to the power 2.5 and turned 30 degrees (the scalp surface sank onto the brain
        above the target, 2.8 mm over it), and to the power 2 unmoved (the scalp point nearest
        the hand knob lay on the brain's lateral surface, 18 mm from the knob and 1.0 mm from
        grey matter: planned before, with no dose suggestion and the 5-cm site measured from
        that point).
    """
    if depth_mm < MIN_TARGET_DEPTH_MM:
        raise InputError(
            f"the {site} lies {depth_mm:.1f} mm under the scalp found in this image, less than scalp and "
            f"skull are thick ({MIN_TARGET_DEPTH_MM:g} mm): the scalp surface there is not the skin. Check in a "
            "viewer that the skin stands out from the air around the head (skin and muscle much darker than "
            f"the scalp's fat and the brain, unlike a T1-weighted MPRAGE or SPGR, come apart from the air). "
            f"{PLAIN_T1_REQUEST}"
        )


#: the scalp points the checks below name in their messages
TARGET_SCALP_POINT = "the scalp point nearest the target"
M1_SCALP_POINT = "the scalp point nearest the motor hand knob"


def require_entry_outside_brain(entry_ras_mm, brain_mask: WorkingImage, site: str) -> None:
    """Refuse a scalp point (the entry point, or the hand knob's) that lies inside the brain.

    The scalp surface is the boundary of the head's mask; where fluid or a cavity inside the
    head is as dark as the air and joined to it, that boundary runs into the head, and for a
    deep target its nearest point can lie there. Measured: Colin27 with its intensities
    squared and turned, ``--mni -30 25 15`` had its entry point inside the brain near its
    midline, 41 mm from the target.

    Parameters
    ----------
    entry_ras_mm : array_like, shape (3,)
        The scalp point, native RAS mm.
    brain_mask : WorkingImage
        The brain (Colin27's brain mask carried onto the patient).
    site : str
        Which scalp point it is (:data:`TARGET_SCALP_POINT`, :data:`M1_SCALP_POINT`), as the
        message names it.

    Raises
    ------
    InputError
        The point lies in ``brain_mask``.
    """
    if brain_mask.sample(np.asarray(entry_ras_mm, float)[None], order=0)[0] > 0.5:
        raise InputError(
            f"{site} lies inside the brain: {_INNER_OUTLINE}, so no point of it can be trusted. "
            f"{PLAIN_T1_REQUEST}"
        )


def require_entry_on_outer_scalp(entry_ras_mm, scalp: Scalp, site: str) -> None:
    """Refuse a scalp point (the entry point, or the hand knob's) that lies deep inside the
    head's outer outline.

    Where fluid or a cavity inside the head is as dark as the air and joined to it, the
    scalp surface follows it into the head; the point of that surface nearest a deep
    target can lie on a cavity's wall, outside the brain (so
    :func:`require_entry_outside_brain` passes it), where no coil can be placed.

    Parameters
    ----------
    entry_ras_mm : array_like, shape (3,)
        The scalp point, native RAS mm.
    scalp : Scalp
        The scalp surface the point lies on.
    site : str
        Which scalp point it is, as the message names it.

    Raises
    ------
    InputError
        The point lies deeper than :data:`MAX_ENTRY_BELOW_HULL_MM` inside the surface's
        convex hull.
    """
    below_mm = scalp.depth_below_hull_mm(entry_ras_mm)
    if below_mm > MAX_ENTRY_BELOW_HULL_MM:
        raise InputError(
            f"{site} lies {below_mm:.0f} mm inside the head's outer outline: "
            f"{_INNER_OUTLINE}, and a coil cannot be placed inside the head. {PLAIN_T1_REQUEST}"
        )


def require_scalp_point_on_head(scalp_ras_mm, brain_mask: WorkingImage, scalp: Scalp, site: str) -> None:
    """Refuse a scalp point inside the brain (:func:`require_entry_outside_brain`) or deep
    inside the head's outline (:func:`require_entry_on_outer_scalp`).

    Parameters
    ----------
    scalp_ras_mm : array_like, shape (3,)
        The scalp point, native RAS mm.
    brain_mask : WorkingImage
    scalp : Scalp
    site : str
        Which scalp point it is (:data:`TARGET_SCALP_POINT`, :data:`M1_SCALP_POINT`).
    """
    require_entry_outside_brain(scalp_ras_mm, brain_mask, site)
    require_entry_on_outer_scalp(scalp_ras_mm, scalp, site)


def require_cortical_depth(target: TargetResult, brain_mask: WorkingImage, scalp: Scalp,
                           chosen_by_user: bool = False) -> None:
    """Fail a plan whose target lies closer to the scalp than cortex can, or deeper in the
    brain than a TMS coil reaches.

    Parameters
    ----------
    target : TargetResult
    brain_mask : WorkingImage
        The brain (Colin27's brain mask carried onto the patient).
    scalp : Scalp
        The scalp surface the entry point lies on.
    chosen_by_user : bool
        The coordinate was given (``--mni``/``--native``): a target beyond reach is bad input.
        A named strategy's target beyond reach means the registration failed.

    Raises
    ------
    InputError
        Shallower than :data:`MIN_TARGET_DEPTH_MM` under the scalp (:func:`require_skin_above`),
        an entry point inside the brain or deep inside the head's outline
        (:func:`require_scalp_point_on_head`), or a chosen
        coordinate's target deeper than :data:`MAX_TARGET_DEPTH_IN_BRAIN_MM` in the brain:
        from its nearest brain surface or from the surface under the entry point,
        whichever is deeper (measured: MNI (-15, 5, 10), by the caudate head, lay 29 mm from
        the nearest surface and 67 mm under Colin27's scalp, and was planned with a
        +14.5 %MSO dose suggestion before the second measure).
    PipelineError
        A named strategy's target that deep in the brain.
    """
    depth = float(np.linalg.norm(target.cortex.cortex_ras_mm - target.entry_ras_mm))
    require_skin_above(depth, "cortical target")
    require_scalp_point_on_head(target.entry_ras_mm, brain_mask, scalp, TARGET_SCALP_POINT)
    in_brain = max(depth_in_brain_mm(brain_mask, target.cortex.cortex_ras_mm, MAX_TARGET_DEPTH_IN_BRAIN_MM),
                   depth_under_entry_mm(brain_mask, target.entry_ras_mm, target.cortex.cortex_ras_mm))
    if in_brain > MAX_TARGET_DEPTH_IN_BRAIN_MM:
        error = InputError if chosen_by_user else PipelineError
        shown = f"{in_brain:.0f} mm" if np.isfinite(in_brain) else f"more than {MAX_TARGET_DEPTH_IN_BRAIN_MM:g} mm"
        raise error(
            f"the target lies {shown} below the brain's surface ({depth:.0f} mm under the scalp): deeper than any "
            f"TMS coil reaches (half-value depths up to {MAX_TARGET_DEPTH_IN_BRAIN_MM / 10:g} cm), so it is not a "
            "cortical target. Choose a point on the cortex"
        )
