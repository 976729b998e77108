"""Image noise, measured in the air around the head, as a percentage of the brain's signal.

In a magnitude MR image the air holds only noise, Rayleigh-distributed with the noise
level sigma of each receive channel (Gudbjartsson & Patz 1995, Magn Reson Med 34:910).
Its interquartile range is ``(sqrt(2 ln 4) - sqrt(2 ln 4/3)) sigma``, which gives sigma
without assuming the air's values start at zero (a converter may add an offset; a
constant fill gives 0). The air is where Colin27's head, carried into the patient by the
head affine, is more than :data:`navsvc.anatomy.air_lattice.AIR_MARGIN_MM` away, so the estimate does not depend on
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

from navsvc.anatomy.air_lattice import AirLattice
from navsvc.errors import InputError

#: with fewer air samples no estimate is made (a field of view tight around the head)
MIN_AIR_SAMPLES = 1000
#: interquartile range of a Rayleigh distribution per unit sigma
RAYLEIGH_IQR_PER_SIGMA = float(np.sqrt(2 * np.log(4)) - np.sqrt(2 * np.log(4 / 3)))
#: noisier images are refused, % of the brain's median signal
MAX_NOISE_PCT_OF_BRAIN = 25.0
#: above this the refusal names the MP2RAGE UNI image as the likely cause, % of the brain's
#: signal (Rician noise this strong leaves no head to see)
MP2RAGE_HINT_PCT = 60.0


def noise_pct_of_brain(lattice: AirLattice) -> float | None:
    """The image's noise level as a percentage of its brain's median signal.

    Parameters
    ----------
    lattice : AirLattice
        The input's samples (:func:`navsvc.anatomy.air_lattice.air_lattice`).

    Returns
    -------
    float or None
        ``None`` when the image holds fewer than :data:`MIN_AIR_SAMPLES` sampled voxels of
        air or no brain signal.
    """
    air, brain, values = lattice.air, lattice.in_brain, lattice.values
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
