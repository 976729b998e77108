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
    fluid = tissue.fluid_intensity & (tissue.template_brain > TEMPLATE_TISSUE_MIN)
    if not fluid.any():
        return 0.0
    depth_mm = ndimage.distance_transform_edt(fluid, sampling=tissue.grid.spacing_mm)
    ijk = np.indices(fluid.shape).reshape(3, -1).T
    centres_ras_mm = tissue.grid.origin_ras_mm + ijk * tissue.grid.spacing_mm
    near = np.linalg.norm(centres_ras_mm - np.asarray(centre_ras_mm, float), axis=1) <= radius_mm
    return float(2.0 * depth_mm.ravel()[near].max()) if near.any() else 0.0


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
    found = (f"no grey matter lies within {radius_mm:g} mm of the mapped {site}, and fluid fills a ball "
             f"{widest_mm:.1f} mm wide there, where a brain has grey or white matter: a lesion, a cyst or a resection "
             "cavity has taken the cortex")
    if site == "target":
        raise InputError(f"{found}. Look at the T1 there, choose a target on intact cortex and give it with "
                         "--native X Y Z")
    raise InputError(f"{found}. The plan measures the dose and the 5-cm site from the {site}, so it cannot be made "
                     "on this image: plan this patient by hand")
