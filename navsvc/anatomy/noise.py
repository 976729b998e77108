"""Image noise, measured in the air around the head, as a percentage of the brain's signal.

In a magnitude MR image the air holds only noise, Rayleigh-distributed with the noise
level sigma of each receive channel (Gudbjartsson & Patz 1995, Magn Reson Med 34:910).
Its interquartile range is ``(sqrt(2 ln 4) - sqrt(2 ln 4/3)) sigma``, which gives sigma
without assuming the air's values start at zero (a converter may add an offset; a
constant fill gives 0). The air is where Colin27's head, carried into the patient by the
head affine, is more than :data:`AIR_MARGIN_MM` away, so the estimate does not depend on
the head mask, which noise itself spoils. The brain's signal is the median inside
Colin27's brain mask carried the same way.

The figure is 100 over the brain's signal-to-noise ratio (5 for a ratio of 20). Colin27
with Rician noise of 12 % of its robust maximum measures 22 % here; planned, its mapped
target stayed within 1.2 mm, its scalp entry within 4.2 mm
(``benchmarks/input_quality_limits.py``). With 14 % noise (26 % here) one draw moved
the dose suggestion by 6 %MSO, and at 16 % the head mask grew to the image's edges and the
plan was refused for the wrong reason (a field of view that cuts the head). Above
:data:`MAX_NOISE_PCT_OF_BRAIN` the image is refused as too noisy.

An MP2RAGE UNI image fills the air with noise spread over its whole range by design
(Marques et al. 2010, NeuroImage 49:1271): Colin27 with its air so filled measures 113 %
here. Above :data:`MP2RAGE_HINT_PCT` the refusal says so and asks for the series the
scanner denoises or an MPRAGE, since such an image is not a poor scan.
"""

from __future__ import annotations

import numpy as np

from navsvc import templates
from navsvc.anatomy.template_head import colin_head_distance_mm
from navsvc.coords import voxel_to_world
from navsvc.errors import InputError
from navsvc.sampling import MappedImage, same_points

#: air is farther than this from Colin27's head carried into the patient, mm (covers
#: differences in head shape the head affine leaves)
AIR_MARGIN_MM = 15.0
#: the input's voxels are sampled on a lattice of about this many points
SAMPLE_POINTS = 400_000
#: with fewer air samples no estimate is made (a field of view tight around the head)
MIN_AIR_SAMPLES = 1000
#: interquartile range of a Rayleigh distribution per unit sigma
RAYLEIGH_IQR_PER_SIGMA = float(np.sqrt(2 * np.log(4)) - np.sqrt(2 * np.log(4 / 3)))
#: noisier images are refused, % of the brain's median signal
MAX_NOISE_PCT_OF_BRAIN = 25.0
#: above this the refusal names the MP2RAGE UNI image as the likely cause, % of the brain's
#: signal (Rician noise this strong leaves no head to see)
MP2RAGE_HINT_PCT = 60.0


def sample_lattice(shape) -> np.ndarray:
    """Voxel indices (N, 3) of a regular lattice of about :data:`SAMPLE_POINTS` voxels."""
    stride = max(1, int(round((np.prod(shape[:3]) / SAMPLE_POINTS) ** (1 / 3))))
    axes = [np.arange(0, n, stride) for n in shape[:3]]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)


def colin_brain_mask() -> MappedImage:
    """Colin27's brain mask, sampled at points in Colin27's space (nearest voxel)."""
    return MappedImage.load(templates.require(templates.COLIN_BRAIN_MASK), same_points, order=0)


def head_distance_and_brain(ijk: np.ndarray, affine: np.ndarray, native_to_colin,
                            brain_mask: MappedImage) -> tuple[np.ndarray, np.ndarray]:
    """For voxels (N, 3): their distance from Colin27's head carried into the patient (mm,
    positive outside; see :func:`colin_head_distance_mm`) and whether they lie in its brain
    (``brain_mask``: :func:`colin_brain_mask`). Air is farther than :data:`AIR_MARGIN_MM`."""
    colin_points = np.asarray(native_to_colin(voxel_to_world(affine, ijk)), dtype=float)
    return colin_head_distance_mm(colin_points), brain_mask(colin_points) > 0


def noise_pct_of_brain(data: np.ndarray, affine: np.ndarray, native_to_colin) -> float | None:
    """The image's noise level as a percentage of its brain's median signal.

    Parameters
    ----------
    data : numpy.ndarray, 3-D
        The input T1's voxels, as loaded (not resampled: interpolation averages noise away).
    affine : numpy.ndarray, shape (4, 4)
        Its voxel-to-RAS affine.
    native_to_colin : callable
        Native RAS points (N, 3) -> Colin27 points (N, 3), mm (the head affine).

    Returns
    -------
    float or None
        ``None`` when the image holds fewer than :data:`MIN_AIR_SAMPLES` sampled voxels of
        air or no brain signal.
    """
    ijk = sample_lattice(data.shape)
    values = data[tuple(ijk.T)].astype(np.float64)
    head_distance_mm, brain = head_distance_and_brain(ijk, affine, native_to_colin, colin_brain_mask())
    air = head_distance_mm > AIR_MARGIN_MM
    if air.sum() < MIN_AIR_SAMPLES or not brain.any():
        return None
    brain_signal = float(np.median(values[brain]))
    if brain_signal <= 0:
        return None
    q1, q3 = np.percentile(values[air], [25, 75])
    return float(100.0 * (q3 - q1) / RAYLEIGH_IQR_PER_SIGMA / brain_signal)


def require_low_noise(noise_pct: float | None) -> None:
    """Refuse an image whose noise exceeds :data:`MAX_NOISE_PCT_OF_BRAIN`.

    Raises
    ------
    InputError
        Naming the measured level and the limit.
    """
    if noise_pct is None or noise_pct <= MAX_NOISE_PCT_OF_BRAIN:
        return
    raise InputError(
        f"the image is too noisy: the noise in the air around the head is {noise_pct:.0f} % of the brain's "
        f"signal (at most {MAX_NOISE_PCT_OF_BRAIN:.0f} % is accepted, a signal-to-noise ratio of "
        f"{100 / MAX_NOISE_PCT_OF_BRAIN:.0f}). "
        "The scalp, and with it the entry point and the dose suggestion, cannot be measured reliably. Check "
        "the series in a viewer and upload a T1 with less noise"
        + (". An MP2RAGE UNI image fills the air with noise by design: upload its background-denoised "
           "series (e.g. UNI-DEN) or an MPRAGE" if noise_pct > MP2RAGE_HINT_PCT else "")
    )
