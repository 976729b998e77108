"""Atrophic copies of Colin27 and the scalp-to-cortex depths their ground truth gives.

An atrophic copy has its brain shrunk inside the skull (:func:`heads.shrink_brain`), its
sulci widened (:func:`heads.widen_sulci`), or both. The expected depth above a cortical point
of Colin27's own plan is its plan's depth, plus how much farther the shrink put that point
from the scalp point (which stays), plus how much deeper the widened sulci put the cortical
surface on that line (read from the intensities of the two images, so that the threshold's
own offset cancels).
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
from scipy import ndimage

from navsvc.coords import voxel_to_world, world_to_voxel
from navsvc.testing import heads

#: Colin27's fluid / grey-matter and grey / white-matter intensity boundaries: its fluid,
#: grey and white matter read about 30, 85 and 113 (the M1 crown 65-80)
COLIN_FLUID_BELOW, COLIN_WHITE_FROM = 55.0, 99.0
#: (name, linear shrink factor of the brain, the centre it shrinks towards, sulcal widening steps)
ATROPHIES = [
    ("generalized x0.97", 0.97, "centroid", 0),
    ("generalized x0.94", 0.94, "centroid", 0),
    ("generalized x0.90", 0.90, "centroid", 0),
    ("frontal-predominant x0.97", 0.97, "back", 0),
    ("frontal-predominant x0.95", 0.95, "back", 0),
    ("sulci widened 1 step", 1.0, "centroid", 1),
    ("sulci widened 2 steps", 1.0, "centroid", 2),
    ("generalized x0.94, sulci 1", 0.94, "centroid", 1),
    ("frontal x0.95, sulci 2", 0.95, "back", 2),
]
#: sample spacing on the line of a ground-truth depth, mm
SAMPLE_MM = 0.1


def shrink_centre_ras_mm(brain: np.ndarray, affine: np.ndarray, where: str) -> np.ndarray:
    """The brain's centroid (``"centroid"``), or that moved to the brain's posterior edge (``"back"``).

    Colin27's voxel axes run along R, A, S, so its posterior edge is the least world y.

    Parameters
    ----------
    brain : numpy.ndarray of bool, shape (i, j, k)
        Brain mask on the voxel grid of ``affine`` (:func:`heads.load_colin27_brain_mask`).
    affine : numpy.ndarray, shape (4, 4)
        Voxel-to-world (RAS mm) affine of that grid.
    where : str
        ``"back"`` moves the centroid's y to the world y of the mask voxel with the least
        second voxel index; any other value (``"centroid"``) keeps the centroid.

    Returns
    -------
    numpy.ndarray, shape (3,)
        The centre, world RAS mm.
    """
    inside = np.argwhere(brain)
    centre = voxel_to_world(affine, inside.mean(axis=0))[0]
    if where == "back":
        centre[1] = voxel_to_world(affine, inside[np.argmin(inside[:, 1])])[0][1]
    return centre


def atrophic_colin27(colin: nib.Nifti1Image, brain: np.ndarray, factor: float, where: str,
                     steps_vox: int) -> tuple[heads.TransformedHead, heads.TransformedHead]:
    """Colin27 with its brain shrunk (``factor`` < 1, towards ``where``), and that with its
    sulci widened by ``steps_vox`` voxel steps too (the same head when 0).

    Parameters
    ----------
    colin : nibabel.Nifti1Image
        Colin27's head image.
    brain : numpy.ndarray of bool
        Its brain mask on the same grid (:func:`heads.load_colin27_brain_mask`).
    factor : float
        Linear shrink factor of the brain (:func:`heads.shrink_brain`); 1 or more leaves the
        brain unshrunk (and ``where`` unused).
    where : str
        Centre the brain shrinks towards: ``"centroid"`` or ``"back"``
        (:func:`shrink_centre_ras_mm`).
    steps_vox : int
        Sulcal widening steps, voxels (:func:`heads.widen_sulci`); 0 widens nothing.

    Returns
    -------
    shrunk, atrophic : heads.TransformedHead
        The shrunk head, and the shrunk head with widened sulci (``shrunk`` itself when
        ``steps_vox`` is 0); both map from Colin27's world (RAS mm).
    """
    shrunk = heads.rigid(colin)
    if factor < 1.0:
        centre = shrink_centre_ras_mm(brain, colin.affine, where)
        shrunk = shrunk.then(lambda im: heads.shrink_brain(im, brain, factor, heads.COLIN_FLUID_VALUE, centre))
    if not steps_vox:
        return shrunk, shrunk
    return shrunk, shrunk.then(lambda im: heads.widen_sulci(im, brain, steps_vox, heads.COLIN_FLUID_VALUE,
                                                             COLIN_FLUID_BELOW, COLIN_WHITE_FROM))


def surface_depth_mm(img: nib.Nifti1Image, scalp_ras_mm, cortex_ras_mm) -> float:
    """Distance from a scalp point to the cortical surface above a cortical point, by intensity.

    On the line from the scalp point through the cortical point, the surface is where the run
    of samples from ``COLIN_FLUID_BELOW`` up holding the cortical point begins; when the point
    itself reads as fluid, the first such sample beyond it (up to 10 mm); 0 when no fluid lies
    between.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        The head image, sampled trilinearly.
    scalp_ras_mm : sequence of 3 float
        The scalp point, world RAS mm of ``img``.
    cortex_ras_mm : sequence of 3 float
        The cortical point, world RAS mm of ``img`` (not equal to the scalp point).

    Returns
    -------
    float
        Distance from the scalp point along the line to the surface, mm (in steps of
        :data:`SAMPLE_MM`).

    Raises
    ------
    ValueError
        If the line meets no tissue within 10 mm beyond the cortical point.
    """
    scalp, cortex = np.asarray(scalp_ras_mm, float), np.asarray(cortex_ras_mm, float)
    length = float(np.linalg.norm(cortex - scalp))
    steps = np.arange(0.0, length + 10.0, SAMPLE_MM)
    ijk = world_to_voxel(img.affine, scalp + steps[:, None] * (cortex - scalp) / length)
    tissue = ndimage.map_coordinates(np.asarray(img.dataobj, np.float32), ijk.T, order=1) >= COLIN_FLUID_BELOW
    at = int(round(length / SAMPLE_MM))
    if tissue[at]:
        fluid_before = np.flatnonzero(~tissue[:at])
        return float(steps[fluid_before[-1] + 1]) if len(fluid_before) else 0.0
    beyond = np.flatnonzero(tissue[at:])
    if not len(beyond):
        raise ValueError(f"no tissue within 10 mm beyond the cortical point {cortex.round(1).tolist()}")
    return float(steps[at + beyond[0]])


def expected_depths_mm(colin_plan: dict, shrunk: heads.TransformedHead,
                       atrophic: heads.TransformedHead) -> tuple[float, float]:
    """The depths (mm) at the target and at the motor hand knob that an atrophic copy should
    measure, from Colin27's own plan (see the module's text).

    Parameters
    ----------
    colin_plan : dict
        Colin27's own plan (``plan.json``); needs ``entry.scalp_ras_mm``,
        ``target.cortex_ras_mm``, ``landmarks.points.m1_hand_knob`` (``ras_mm`` and
        ``cortex_ras_mm``) and ``dose.scalp_to_cortex_target_mm`` /
        ``dose.scalp_to_cortex_m1_mm``.
    shrunk : heads.TransformedHead
        The shrunk head (first value of :func:`atrophic_colin27`); its ``original_to_new``
        moves the plan's cortical points.
    atrophic : heads.TransformedHead
        The shrunk head with widened sulci (second value of :func:`atrophic_colin27`).

    Returns
    -------
    target_mm, m1_mm : float
        Expected scalp-to-cortex depths at the target and at the hand knob, mm.
    """
    m1 = colin_plan["landmarks"]["points"]["m1_hand_knob"]
    expected = []
    for scalp, cortex, depth in ((colin_plan["entry"]["scalp_ras_mm"], colin_plan["target"]["cortex_ras_mm"],
                                  colin_plan["dose"]["scalp_to_cortex_target_mm"]),
                                 (m1["ras_mm"], m1["cortex_ras_mm"], colin_plan["dose"]["scalp_to_cortex_m1_mm"])):
        scalp, cortex = np.asarray(scalp, float), np.asarray(cortex, float)
        moved = shrunk.original_to_new(cortex)[0]
        sunk = float(np.linalg.norm(moved - scalp) - np.linalg.norm(cortex - scalp))
        eroded = surface_depth_mm(atrophic.image, scalp, moved) - surface_depth_mm(shrunk.image, scalp, moved)
        expected.append(depth + sunk + eroded)
    return expected[0], expected[1]
