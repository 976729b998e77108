"""Fluid where the brain should be, near a target: a lesion, a cyst or a resection cavity.

Where an old infarct, a cyst or a resection cavity has replaced the cortex at the target,
the individualization finds no grey matter on the line from the scalp and takes the
grey matter nearest the mapped coordinate: the cavity's rim, deep under the fluid. The
scalp-to-cortex depth then crosses the fluid and the dose suggestion follows it (Colin27
with a fluid-filled ball 10 mm across at the fox2012 target: the target on the rim 5.3 mm
away, the depth 7.5 mm greater and the suggestion 20.8 %MSO higher, with nothing said).

The measure: the widest ball of fluid whose centre lies within 10 mm of the mapped
coordinate, counting only fluid where the warped template brain has grey or white matter.
Sulci are sheets of fluid a few mm thick, and the ventricles and the space round the brain
are fluid in the template too, so in a healthy head no wide ball is found. Fluid is told by
its intensity alone (likelier under the tissue model's CSF class than under grey or white
matter): with the template's prior, which says tissue there, a 50 mm cavity was called grey
matter (the grey-matter class had widened over the fluid).

Not measured: the fluid the scalp-to-cortex line crosses. It would catch a cavity smaller
than the caution's ball (a 6 mm one at the crown: the depth 5.4 mm greater, the dose
suggestion 14.2 %MSO higher, not cautioned; 6.2 mm on the line against at most 2.5 mm at
healthy named targets), but the ICBM template's sulci are blurred, so a line running along
one of this patient's sulci crossed up to 8.5 mm of "fluid where the template has tissue"
on Colin27 (over 380 targets of its left frontal lobe: 1 % above 5.5 mm; up to 6.5 mm
counting only where the template's GM + WM exceeds 0.9, where the 6 mm cavity read 4.75).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from navsvc.anatomy.tissue import LocalTissue
from navsvc.errors import InputError
from navsvc.target.individualize import MAX_SHIFT_MM

#: where the warped template's GM + WM probability exceeds this, the template has brain tissue
TEMPLATE_TISSUE_MIN = 0.5
#: the ball's centre lies within this distance of the mapped coordinate, mm: the target's
#: individualization reach, at the hand knob too (its 15 mm reach took in the wide central
#: sulcus: 6.0 mm on a healthy copy of Colin27, 2.0-2.8 mm within 10 mm)
FLUID_SEARCH_RADIUS_MM = MAX_SHIFT_MM
#: a ball of fluid this wide or wider near a target is cautioned, mm. Measured 2026-12-05
#: (``benchmarks/fluid_at_target.py``): Colin27 and its transformed and degraded copies read
#: at most 4.0 mm at the target and the hand knob, 754 targets over the left frontal lobes of
#: Colin27 and a noisy moved copy (``--mni`` on a 5 mm grid) at most 4.9 mm; fluid-filled
#: balls of 8, 10, 14 and 20 mm at the fox2012 target 6.6, 7.5, 8.7 and 10.2 mm (the
#: registration shrinks them a little), one of 6 mm 5.7 mm. On copies deformed by 5 mm warps,
#: whose sulci the registration leaves on the template's tissue, healthy heads read up to 6.9 mm
#: (``benchmarks/fluid_false_alarms.py``: ba9 6.6 and 6.9 mm, 7-11 % of ``--mni`` targets 6 mm or
#: more), as wide as 6-8 mm cavities: no width separates the two, and a false alarm only withholds
#: the dose suggestion, a miss makes it too high.
WIDEST_CAUTION_MM = 6.0
#: radius of the ball round a cortical point whose share of fluid is measured, mm
FLUID_SHARE_RADIUS_MM = 5.0
#: largest share of that ball that may be fluid where the template has tissue. Measured
#: 2026-12-06 on every planned cortical point (the named targets, the hand knob and about 380
#: ``--mni`` targets over the left frontal lobe a head): at most 0.42 on Colin27, 0.55 on its
#: copies deformed by 5 mm warps, 0.33-0.45 on its noisy, squared-intensity, coarse and combined
#: copies, 0.33-0.64 on atrophic ones (brain shrunk to 0.90; sulci widened 2 mm a bank, 0.64 with
#: the frontal lobe shrunk to 0.95 too); 0.31 and 0.44 at the rim of fluid-filled balls 14 and
#: 30 mm wide at the fox2012 target, 0.89 and 0.84 at the points found inside balls 50 and 60 mm
#: wide. Between the two: a point refused wrongly is planned by hand, one missed lies in a cavity.
MAX_FLUID_SHARE_AT_CORTEX = 0.75


def _fluid_in_template_brain(tissue: LocalTissue) -> np.ndarray:
    """Voxels whose intensity says fluid where the template brain has tissue (bool)."""
    return tissue.fluid_intensity & (tissue.template_brain > TEMPLATE_TISSUE_MIN)


def widest_fluid_mm(tissue: LocalTissue, centre_ras_mm, radius_mm: float) -> float:
    """Diameter of the widest ball of fluid centred within ``radius_mm`` of ``centre_ras_mm``,
    counting only fluid where the template brain has tissue, mm.

    Parameters
    ----------
    tissue : LocalTissue
        The tissue model around the centre.
    centre_ras_mm : array (3,)
        The mapped coordinate, native RAS mm.
    radius_mm : float
        How far from it the ball's centre may lie (:data:`FLUID_SEARCH_RADIUS_MM`), mm.

    Returns
    -------
    float
        Twice the largest distance from a fluid voxel to the nearest voxel that is not
        fluid in the template's brain (0 when there is none), mm.
    """
    fluid = _fluid_in_template_brain(tissue)
    if not fluid.any():
        return 0.0
    depth_mm = ndimage.distance_transform_edt(fluid, sampling=tissue.grid.spacing_mm)
    near = _within_mm(tissue, centre_ras_mm, radius_mm)
    return float(2.0 * depth_mm[near].max()) if near.any() else 0.0


def _within_mm(tissue: LocalTissue, centre_ras_mm, radius_mm: float) -> np.ndarray:
    """Voxels of the tissue box whose centres lie within ``radius_mm`` of a point (bool)."""
    centres_ras_mm = tissue.grid.world_ras_mm(np.indices(tissue.fluid_intensity.shape).transpose(1, 2, 3, 0))
    return np.linalg.norm(centres_ras_mm - np.asarray(centre_ras_mm, float), axis=-1) <= radius_mm


def require_cortex_outside_fluid(tissue: LocalTissue, cortex_ras_mm, site: str) -> None:
    """Refuse, as this patient's anatomy, a cortical point surrounded by fluid.

    A cavity wider than about 45 mm widens the tissue model's grey-matter class over its
    fluid, and with the template's prior saying tissue there much of the fluid is called
    grey matter: on Colin27 with fluid-filled balls at the fox2012 target, the target lay on
    the ball's rim for balls 14 and 30 mm wide, a 40 mm ball left no grey matter within reach
    (refused, :func:`require_no_fluid_instead_of_cortex`), and the target of a 50 mm ball lay
    2.7 mm from its centre (60 mm: 1.4 mm), reported as in grey matter. The fluid there is
    patchy (that point lay 3.5 mm from the nearest voxel called tissue), so it is measured
    by its share of the ball round the point.

    Parameters
    ----------
    tissue : LocalTissue
        The tissue model the point was found on.
    cortex_ras_mm : array (3,)
        The individualized point, native RAS mm.
    site : str
        "target" or "motor hand knob".

    Raises
    ------
    InputError
        More than :data:`MAX_FLUID_SHARE_AT_CORTEX` of the ball of
        :data:`FLUID_SHARE_RADIUS_MM` round the point is fluid where the template brain
        has tissue.
    """
    near = _within_mm(tissue, cortex_ras_mm, FLUID_SHARE_RADIUS_MM)
    share = float(_fluid_in_template_brain(tissue)[near].mean()) if near.any() else 0.0
    if share > MAX_FLUID_SHARE_AT_CORTEX:
        _refuse_cavity(f"{share:.0%} of the volume within {FLUID_SHARE_RADIUS_MM:g} mm of the {site}'s cortical "
                       "point found is fluid", site)


def is_cautioned(widest_mm: float) -> bool:
    """Whether fluid this wide near a site is cautioned (and withholds the dose suggestion)."""
    return widest_mm >= WIDEST_CAUTION_MM


def fluid_caution(widest_mm: float, site: str, radius_mm: float) -> str | None:
    """The caution a plan carries when fluid at least :data:`WIDEST_CAUTION_MM` wide lies
    where the template brain has tissue near ``site``; None otherwise.

    Parameters
    ----------
    widest_mm : float
        :func:`widest_fluid_mm` at the site.
    site : str
        The site as the caution names it ("target", "motor hand knob").
    radius_mm : float
        The radius the ball was looked for in, mm.
    """
    if not is_cautioned(widest_mm):
        return None
    return (f"fluid fills a ball {widest_mm:.1f} mm wide within {radius_mm:g} mm of the mapped {site}, where a brain "
            "has grey or white matter: a lesion, a cyst, a resection cavity or a very wide sulcus. The "
            f"{site}'s cortical point may lie on the rim of the fluid and its scalp-to-cortex depth cross it, so no "
            "depth adjustment of the dose is suggested. Look at the T1 there in the QC report; to treat intact "
            "cortex nearby, give its point with --native")


def require_no_fluid_instead_of_cortex(widest_mm: float, site: str, radius_mm: float) -> None:
    """Refuse, as this patient's anatomy, a site with no grey matter within ``radius_mm`` when
    fluid at least :data:`WIDEST_CAUTION_MM` wide lies there (a cavity has taken the cortex).

    Parameters
    ----------
    widest_mm : float
        :func:`widest_fluid_mm` at the site.
    site : str
        "target" or "motor hand knob".
    radius_mm : float
        The individualization's reach at the site, mm.

    Raises
    ------
    InputError
        The message names the fluid and asks for a target on intact cortex (or, at the hand
        knob, says the plan cannot be made on this image).
    """
    if not is_cautioned(widest_mm):
        return
    _refuse_cavity(f"no grey matter lies within {radius_mm:g} mm of the mapped {site}, and fluid fills a ball "
                   f"{widest_mm:.1f} mm wide there", site)


def _refuse_cavity(found: str, site: str) -> None:
    """Raise the InputError of a cavity at ``site``: the fluid ``found``, what it means and
    what to do."""
    found += (", where a brain has grey or white matter: a lesion, a cyst or a resection cavity has taken "
              "the cortex")
    if site == "target":
        raise InputError(f"{found}. Look at the T1 there, choose a target on intact cortex and give it with "
                         "--native X Y Z")
    raise InputError(f"{found}. The plan measures the dose and the 5-cm site from the {site}, so it cannot be made "
                     "on this image: plan this patient by hand")
