"""The anatomy stage of a plan: noise and ghosting, the scalp surface, the head frame and
the brain mask, each checked, from the head stage's alignment alone (so that it can run
while the registration's SyN stage does)."""

from __future__ import annotations

from dataclasses import dataclass

from navsvc import templates
from navsvc.anatomy.air_lattice import air_lattice
from navsvc.anatomy.checks import require_brain_in_head, require_head_outline, require_scalp
from navsvc.anatomy.field_of_view import ScalpCut, scalp_cut
from navsvc.anatomy.ghost import ghosting_pct_by_axis, require_little_ghosting, strongest_ghosting
from navsvc.anatomy.noise import noise_pct_of_brain, require_low_noise
from navsvc.anatomy.removed_scalp import removed_scalp_vertices
from navsvc.anatomy.scalp import Scalp, scalp_surface
from navsvc.antspy import ants
from navsvc.grid import WorkingImage
from navsvc.io import LoadedT1
from navsvc.landmarks.placement import HeadFrame, head_frame
from navsvc.registration_maps import HeadAlignment


@dataclass(frozen=True)
class NativeAnatomy:
    """The anatomy stage's result, built from the head stage's alignment alone."""

    scalp: Scalp
    frame: HeadFrame
    cut: ScalpCut
    brain_mask: WorkingImage
    noise_pct_of_brain: float | None
    ghosting_pct_of_brain: float | None  # along the worst voxel axis
    scalp_to_brain_mm: float  # median scalp-to-brain-mask distance over the upper head


def native_anatomy(t1: LoadedT1, coarse: WorkingImage, head: HeadAlignment) -> NativeAnatomy:
    """The anatomy stage: the image's noise, the scalp surface and where it is not the
    patient's, the head frame, and the scalp check, each refusing what cannot be planned.

    It needs only the head stage's alignment to Colin27, so the pipeline runs it while the
    registration's SyN stage runs in its own process.

    Parameters
    ----------
    t1 : LoadedT1
        The loaded T1 on its own voxel grid (noise, ghosting and removed scalp are measured
        there).
    coarse : WorkingImage
        The T1 on the 2 mm working grid: the scalp surface is made from it and Colin27's
        brain mask resampled onto it.
    head : HeadAlignment
        The head stage's affine alignment to Colin27.

    Returns
    -------
    NativeAnatomy
        The scalp, head frame, field-of-view cut, brain mask (2 mm grid), noise and
        ghosting measures and the median scalp-to-brain distance over the upper head.
    """
    lattice = air_lattice(t1.data, t1.affine, head.native_to_colin)
    ghosting_pct = ghosting_pct_by_axis(lattice)
    require_little_ghosting(ghosting_pct, t1.orientation)  # first: ghosts in the air also read as noise
    noise_pct = noise_pct_of_brain(lattice)
    require_low_noise(noise_pct)
    scalp = scalp_surface(coarse)
    cut = scalp_cut(scalp, t1.shape, t1.affine, removed_scalp_vertices(
        scalp, t1.data, t1.affine, head.native_to_colin))
    require_head_outline(scalp, cut)
    frame = head_frame(head)
    brain = coarse.with_data(head.colin_image_to_native(
        ants.image_read(str(templates.COLIN_BRAIN_MASK)), coarse, nearest=True))
    require_brain_in_head(scalp, brain)
    scalp_gap_mm = require_scalp(scalp, brain, frame.superior)
    strongest = strongest_ghosting(ghosting_pct)
    return NativeAnatomy(scalp, frame, cut, brain, noise_pct, None if strongest is None else strongest[0],
                         scalp_gap_mm)
