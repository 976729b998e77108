"""The brain stage's moving image: the patient's brain, cut by Colin27's brain mask carried
by the head stage (dilated), bias-corrected inside it (N4), and how uneven its intensity was."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import ndimage

from navsvc import templates
from navsvc.antspy import ants
from navsvc.errors import InputError
from navsvc.registration_checks import is_uneven_intensity
from navsvc.registration_grid import index_box, normalise

#: dilation of the head-aligned Colin27 brain mask that cuts the patient's brain, 2 mm voxels
BRAIN_MASK_DILATION_VOXELS = 3
#: N4 bias correction of the patient's brain before the brain stage (Tustison et al. 2010,
#: IEEE TMI 29:1310): shrink factor of the 2 mm grid, iterations per level, knot spacing mm.
#: Mattes MI assumes one intensity mapping for the whole brain, which a receive-coil bias
#: field breaks: on a 30 % bias field the mapped target moved 2.1 mm without it, 1.0 mm
#: with it (0.93-0.98 s on the brain's bounding box, single-threaded). One level of 20
#: iterations took half the time but left that case at 1.23 mm instead of 0.85 mm.
BIAS_CORRECTION = dict(shrink_factor=4, convergence={"iters": [20, 20], "tol": 1e-7}, spline_param=100)
#: N4 for a brain whose intensity is uneven (:func:`~navsvc.registration_checks.is_uneven_intensity`):
#: four levels and a coarser spline follow a receive coil's profile where two levels leave part of it. Colin27 under a receive-coil
#: profile (gain 1 + k (r/R)^2, k = 1, 2, 4): mapped target 0.79, 1.42, 1.74 mm from
#: Colin27's own plan, against 3.61, 4.56, 5.53 with :data:`BIAS_CORRECTION`; 2.7-3.1 s more. A
#: random smooth bias field, which the first correction removes already, plans a little worse
#: with it: 30-50 % fields (spread 1.16-1.20) 0.40-0.99 mm off instead of 0.20-0.77, the
#: accuracy benchmark's "bias field 30 % + rigid" 1.60 instead of 0.85 mm. Not used on every
#: brain: the accuracy benchmark's median rose from 0.54 to 0.93 mm with it (rigid moves of
#: the same head 0.7-1.2 mm apart instead of 0.1-0.5).
UNEVEN_BIAS_CORRECTION = dict(shrink_factor=4, convergence={"iters": [50, 50, 50, 50], "tol": 1e-7},
                              spline_param=200)


class PatientBrain(NamedTuple):
    """The brain stage's moving image and how uneven the head's intensity was."""

    image: ants.ANTsImage
    #: the N4 bias field's spread inside the brain (:func:`bias_field_spread`), with
    #: :data:`BIAS_CORRECTION`; from :func:`~navsvc.registration_checks.is_uneven_intensity`
    #: on, ``image`` was corrected with :data:`UNEVEN_BIAS_CORRECTION` instead
    bias_field_spread: float


def bias_field_spread(head: np.ndarray, corrected: np.ndarray, mask: np.ndarray) -> float:
    """How much the intensity of one tissue varies across the brain: the 95th over the 5th
    percentile of the bias field N4 found (``head / corrected``) inside ``mask``, where the
    corrected brain is above 5 % of its maximum (1.0 for an even image).

    Measured with the brain stage's N4 settings: Colin27 1.10; with a receive-coil profile
    (gain 1 + k (r/R)^2 about the head's centre, k = 1, 2, 4) 1.29, 1.38, 1.40. N4 with
    these settings recovers part of such a field only: the three heads planned 3.6, 4.6 and
    5.5 mm off until they were corrected again with :data:`UNEVEN_BIAS_CORRECTION`.

    Parameters
    ----------
    head : numpy.ndarray, 3-D
        The head's voxels before N4.
    corrected : numpy.ndarray, 3-D
        The same voxels after N4 (same shape as ``head``).
    mask : numpy.ndarray of bool, 3-D
        The voxels N4 corrected (the dilated brain mask), same shape.

    Returns
    -------
    float
        The ratio of the two percentiles.
    """
    corrected_in = corrected[mask]
    kept = corrected_in > 0.05 * corrected_in.max()
    field = head[mask][kept] / corrected_in[kept]
    low, high = np.percentile(field, (5, 95))
    return float(high / low)


def patient_brain(moving: ants.ANTsImage, head_affine: str) -> PatientBrain:
    """The patient's head cut by Colin27's brain mask (carried by the head affine, dilated),
    bias-corrected inside that mask, on the mask's bounding box of the 2 mm grid; and the
    spread of the bias field removed. A brain whose spread says its intensity is uneven
    (:func:`~navsvc.registration_checks.is_uneven_intensity`) is corrected again, with
    :data:`UNEVEN_BIAS_CORRECTION`.

    Parameters
    ----------
    moving : ants.ANTsImage
        The patient's head on the 2 mm registration grid, normalised
        (:func:`navsvc.registration_grid.registration_grid_image`).
    head_affine : str
        The head stage's affine transform file (fixed = Colin27's head, moving = the
        patient); it is inverted here to carry Colin27's brain mask onto ``moving``.

    Returns
    -------
    PatientBrain
        The corrected brain, zero outside the mask (dilated by
        :data:`BRAIN_MASK_DILATION_VOXELS` voxels) and normalised inside it, cropped to
        the mask's bounding box plus one voxel (same physical space as ``moving``); and
        the bias field's spread measured with :data:`BIAS_CORRECTION`.

    Raises
    ------
    InputError
        If Colin27's brain mask, carried by the head affine, misses ``moving``'s grid
        entirely (not a whole-head T1, or a failed head stage).
    """
    colin_mask = ants.image_read(str(templates.require(templates.COLIN_BRAIN_MASK)))
    brain_mask = ants.apply_transforms(fixed=moving, moving=colin_mask, transformlist=[head_affine],
                                       whichtoinvert=[True], interpolator="nearestNeighbor").numpy() > 0
    if not brain_mask.any():
        raise InputError(
            "the head stage of the registration placed the brain outside the image: this does not look like a "
            "whole-head T1 MRI. Check the series (T1, the whole head in the field of view) and its orientation "
            "in a viewer"
        )
    brain_mask = ndimage.binary_dilation(brain_mask, iterations=BRAIN_MASK_DILATION_VOXELS)
    # N4 and the brain stage work on the brain's bounding box, a third of the head grid's
    # voxels (same physical space): the brain stage's pyramids shrink with it, 0.5 s less
    # on the 256^3 head, MNI points mapped within 0.13 mm of the whole grid's run.
    lo, hi = index_box(brain_mask, 1, moving.shape)
    mask_in_box = brain_mask[tuple(slice(a, b) for a, b in zip(lo, hi))]
    head_in_box = ants.crop_indices(moving, lo, hi)
    n4_mask = head_in_box.new_image_like(mask_in_box.astype(np.float32))
    corrected = ants.n4_bias_field_correction(head_in_box, mask=n4_mask, **BIAS_CORRECTION)
    spread = bias_field_spread(head_in_box.numpy(), corrected.numpy(), mask_in_box)
    if is_uneven_intensity(spread):
        corrected = ants.n4_bias_field_correction(head_in_box, mask=n4_mask, **UNEVEN_BIAS_CORRECTION)
    brain = corrected.new_image_like(corrected.numpy() * mask_in_box)
    return PatientBrain(normalise(brain, mask_in_box), spread)
