"""Refusals of a registration that cannot be trusted: one that says the input is not a
head T1, and one that mirrors or folds the head."""

from __future__ import annotations

import numpy as np

from navsvc.errors import InputError
from navsvc.registration_maps import Registration

#: registration quality (see :func:`navsvc.registration.register_to_mni`) below which the input is refused
MIN_BRAIN_CORRELATION = 0.5
#: quality at or below which the brain's contrast is inverted (T2 or FLAIR: white matter
#: dark, fluid bright); Colin27 with its brain intensities inverted scores -0.81
INVERTED_CONTRAST_CORRELATION = -0.3
#: registration quality below which an accepted plan carries a caution. The measure compares
#: the image as it is, uneven intensity and all, with the template, so it falls with a
#: receive-coil profile even where the bias-corrected registration holds: Colin27 under a
#: profile x2 scores 0.543 and plans 0.9 mm off (3.6 mm before the brain stage corrected
#: uneven brains more strongly). Colin27 scores 0.81, and the heads that planned within 2.1 mm of
#: the truth in benchmarks/input_quality_limits.py (noise up to 12 %, bias fields up to 70 %,
#: 3 mm voxels, a fold-over) 0.67 to 0.84; below 0.6 the evidence is thin, so the plan asks for a look
CAUTION_BRAIN_CORRELATION = 0.6
#: bias field spread (:func:`navsvc.patient_brain.bias_field_spread`) from which a refusal
#: for registration quality names the uneven intensity as its likely cause: Colin27 1.10,
#: with a receive-coil profile x2.5 and more 1.27 and more
UNEVEN_BIAS_FIELD_SPREAD = 1.25
#: bias field spread (:func:`navsvc.patient_brain.bias_field_spread`) from which the brain
#: stage corrects the brain again, more strongly (``navsvc.patient_brain.UNEVEN_BIAS_CORRECTION``):
#: Colin27 1.10; under a receive-coil profile (gain x1.5, x1.75, x2 on a head-sized ellipsoid,
#: :func:`navsvc.testing.heads.multiply_receive_coil_profile`) 1.14, 1.18, 1.22, its mapped
#: target then 2.1, 3.0, 3.6 mm off; random smooth bias fields of 30-70 % 1.16-1.42
UNEVEN_INTENSITY_SPREAD = 1.15
#: turn of the head from upright in its image's world (degrees) from which an accepted plan
#: carries a caution: heads in a scanner lie within about 25 degrees of upright (Colin27's own
#: orientation: 0; the accuracy benchmark's random rigid moves reach 30 per axis); the head
#: stage finds any turn (:mod:`navsvc.head_start_search`), but a turn this large means the
#: header's axes are not the patient's
HEAD_TURN_CAUTION_DEG = 45.0
#: MNI points (mm) where the registration must keep the head's handedness: a 3 x 3 x 3 grid
#: spanning the cerebrum (both DLPFCs, both motor strips, the midline), 40 mm apart in x and y,
#: 25 mm in z
HANDEDNESS_CHECK_MNI_MM = tuple((x, y, z) for x in (-40.0, 0.0, 40.0) for y in (-40.0, 0.0, 40.0)
                                for z in (0.0, 25.0, 50.0))


def is_uneven_intensity(bias_field_spread: float) -> bool:
    """Whether the brain stage corrects the brain again, more strongly: its bias field spread
    (:func:`navsvc.patient_brain.bias_field_spread`) reaches :data:`UNEVEN_INTENSITY_SPREAD`."""
    return bias_field_spread >= UNEVEN_INTENSITY_SPREAD


def require_quality(quality_correlation: float, bias_field_spread: float = 1.0) -> None:
    """Refuse a registration whose brain correlation says the input is not a registered
    head T1 (see :func:`navsvc.registration.register_to_mni`).

    Parameters
    ----------
    quality_correlation : float
        The registration's brain correlation.
    bias_field_spread : float
        How uneven the head's intensity was (:func:`navsvc.patient_brain.bias_field_spread`).

    Raises
    ------
    InputError
        Below :data:`MIN_BRAIN_CORRELATION`, naming inverted contrast or, from
        :data:`UNEVEN_BIAS_FIELD_SPREAD` on, uneven intensity when that is the likely cause
        (from :data:`UNEVEN_INTENSITY_SPREAD` on, as a possible one).
    """
    if quality_correlation >= MIN_BRAIN_CORRELATION:
        return
    if quality_correlation <= INVERTED_CONTRAST_CORRELATION:
        raise InputError(
            f"after registration the brain correlates {quality_correlation:.2f} with the T1 template: its "
            "contrast is inverted (dark white matter, bright fluid), as in a T2-weighted or FLAIR image. "
            "Upload the T1-weighted series"
        )
    if bias_field_spread >= UNEVEN_BIAS_FIELD_SPREAD:
        raise InputError(
            f"after registration the brain correlates only {quality_correlation:.3f} with the template (needs >= "
            f"{MIN_BRAIN_CORRELATION}): the image's intensity varies across the brain by a factor of "
            f"{bias_field_spread:.2f} (1.10 in an evenly lit head), the profile of a multichannel head coil: too "
            "uneven for the registration to be checked or the tissue depths that set the dose suggestion to be "
            "measured. Switch on the scanner's intensity normalization (Siemens Prescan Normalize, GE PURE or "
            "SCIC, Philips CLEAR) for the T1 and export it again"
        )
    uneven_too = (f". Its intensity also varies across the brain by a factor of {bias_field_spread:.2f} (1.10 in an "
                  "evenly lit head): if it is a head T1, switch on the scanner's intensity normalization for the T1 "
                  "and export it again") if is_uneven_intensity(bias_field_spread) else ""
    raise InputError(
        f"after registration the brain correlates only {quality_correlation:.3f} with the template (needs >= "
        f"{MIN_BRAIN_CORRELATION}): this does not look like a T1-weighted head MRI, or registration failed. "
        f"Check in a viewer that the series is a T1 (not T2/FLAIR/phantom) holding the whole head{uneven_too}"
    )


def quality_caution(quality_correlation: float) -> str | None:
    """The caution an accepted plan carries for a low registration quality, or None.

    Parameters
    ----------
    quality_correlation : float
        The registration's brain correlation (at least :data:`MIN_BRAIN_CORRELATION`).

    Returns
    -------
    str or None
        Below :data:`CAUTION_BRAIN_CORRELATION`: what it means and what to do.
    """
    if quality_correlation >= CAUTION_BRAIN_CORRELATION:
        return None
    return (f"the registration quality, {quality_correlation:.3f}, is low (an evenly lit head T1 scores about 0.8; "
            f"below {CAUTION_BRAIN_CORRELATION} heads without a correction of their uneven intensity were planned "
            "3 mm and more off): the target may be several mm from where the registration puts it. Check the "
            "registration figure in the QC report before use; an image with uneven intensity plans better with the "
            "scanner's intensity normalization switched on")


def head_turn_caution(turn_from_upright_deg: float) -> str | None:
    """The caution an accepted plan carries for a head turned far from upright in its
    image's world (:meth:`~navsvc.registration_maps.HeadAlignment.turn_from_upright_deg`), or None.

    The plan follows the head, but the image's left, anterior and superior (the header's,
    which the QC report's slice letters and any viewer or navigation system loading the
    image show) are then not the patient's.

    Parameters
    ----------
    turn_from_upright_deg : float
        The head's turn, degrees.

    Returns
    -------
    str or None
        From :data:`HEAD_TURN_CAUTION_DEG` on: what it means and what to do.
    """
    if not turn_from_upright_deg >= HEAD_TURN_CAUTION_DEG:
        return None
    return (f"the head lies turned {turn_from_upright_deg:.0f} degrees from upright in the image's world (heads in "
            "a scanner lie within about 25): its header, or the patient position entered at the scanner, does not "
            "match the head. The plan follows the head, but the left/right, anterior/posterior and superior/inferior "
            "letters of the QC report's slices, and of any viewer or navigation system loading this image, are the "
            "header's, not the patient's. Check the patient position entered for the series, and register the "
            "patient to the image by anatomical landmarks, not by those letters")


def require_handedness(registration: Registration) -> None:
    """Refuse a registration that mirrors or folds the head anywhere on
    :data:`HANDEDNESS_CHECK_MNI_MM`.

    A left/right mirror passes the brain correlation (a brain resembles its mirror image),
    so it is checked on its own: the MNI-to-native map must keep space's handedness
    (positive Jacobian determinant). ANTs' rigid and affine stages start from a proper
    rotation and SyN is diffeomorphic, so only a broken registration fails this.

    Raises
    ------
    InputError
        Naming the MNI point where the map mirrors or folds.
    """
    determinants = registration.jacobian_determinant_from_mni(HANDEDNESS_CHECK_MNI_MM)
    worst = int(np.argmin(determinants))
    if determinants[worst] > 0:
        return
    raise InputError(
        f"registration to MNI {'mirrors' if np.all(determinants <= 0) else 'folds'} the head (local volume "
        f"ratio {determinants[worst]:.2f} at MNI {list(HANDEDNESS_CHECK_MNI_MM[worst])} mm): left and right "
        "cannot be trusted, so no plan is made. Check in a viewer that the image is a whole head T1 "
        "and upload it again"
    )
