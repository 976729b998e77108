"""Ghosting: copies of the head smeared along a voxel axis into the air, as motion leaves.

When the head moves during a scan, or blood and fluid pulsate, the k-space lines disagree and
the image holds copies of the head shifted along the phase-encoding direction, one of the
voxel axes of an unresliced image: a faint copy half the field of view away when alternate
lines differ, several or a smear for other motion (Bernstein, King & Zhou 2004, Handbook of
MRI Pulse Sequences, ch. 11; Zaitsev, Maclaren & Herbst 2015, J Magn Reson Imaging 42:887).
Those copies reach the air only on lines along that axis that pass through the head. So,
per voxel axis, the air on lines through the brain is compared with the air on lines clear
of the head: the excess of its mean square (Rician noise adds the same ``2 sigma^2`` to
both) is the ghosting's power, and its root a percentage of the brain's median signal. The
difference is lowered by three of its standard errors, so that noise alone reads none.

Measured on Colin27 with 2 % Rician noise, turned and moved at random, and planned (the
limit lifted): a copy half the field of view away front-back of 10, 15 and 20 % read 8.5,
12.4 and 16.2; the head moved during part of the scan (``heads.move_during_scan``) 2 mm for
a random 10-30 % of the lines 5.5-9.6, 5 mm for 10 % 14.6, 2 mm to and fro over 8 lines
front-back 14.6. Every copy that read below 15 planned with the mapped target within 1.5 mm
of the truth (2.6 mm for another draw of 5 mm on 10 % that read 12.7), the entry within
1.8 mm and the dose suggestion within 2.3 %MSO. From 15.4 on
(5 mm for 30 % of the lines along each axis, 10 mm for 20 %, to and fro by 4 mm front-back
and by 2-4 mm up-down, the 20 % copy) the mapped target was off by 1.3-6.1 mm, the entry by
1.2-6.5 mm, and the dose suggestion by up to 14.5 %MSO (29.4: the scalp over the target
3.6 mm short). The limit, :data:`MAX_GHOSTING_PCT`, lies a little below the first failure.
Colin27 reads 0.0, and so do its copies under up to 20 % noise, 70 % bias fields, 3 mm
voxels, receive-coil profiles and other contrasts (``benchmarks/input_quality_limits.py``'s
cases; a defaced copy 1.5), an MP2RAGE UNI image's air (noise over the whole range; 20
draws) and four 15 x 8 mm marker capsules 20-30 mm off the scalp; noise alone of 12 % read
at most 0.95 in 20 draws.

Stronger motion spoils the registration too (a 70 % copy: quality 0.44, ghosting 47): its
refusal comes first, as on any image that may not be a head T1, and names the ghosting.
"""

from __future__ import annotations

import numpy as np

from navsvc.anatomy.air_lattice import AirLattice
from navsvc.errors import InputError

#: stronger ghosting is refused, % of the brain's median signal
MAX_GHOSTING_PCT = 14.0
#: with fewer air samples on either side of the comparison no estimate is made for an axis
MIN_SAMPLES = 200
#: the difference of the two means is lowered by this many of its standard errors, so that
#: noise alone (an MP2RAGE UNI image's air spreads over the whole range) reads as none
SPREADS_DISCOUNTED = 3.0


def ghosting_pct_by_axis(lattice: AirLattice) -> list[float | None]:
    """The ghosting along each voxel axis, % of the brain's median signal.

    Parameters
    ----------
    lattice : AirLattice
        The input's samples (:func:`navsvc.anatomy.air_lattice.air_lattice`), taken on its
        voxel grid as loaded: ghosts lie along the acquisition's axes, which a resampling
        would turn.

    Returns
    -------
    list of (float or None), length 3
        Per voxel axis, the root of the excess mean square signal of the air on lines
        through the brain over the air on lines clear of the head; ``None`` where too little
        air lies on either kind of line to measure it.
    """
    brain_signal = float(np.median(lattice.values[lattice.in_brain])) if lattice.in_brain.any() else 0.0
    squares = (lattice.values ** 2).reshape(lattice.shape)
    air = lattice.air.reshape(lattice.shape)
    # strictly inside: beyond Colin27's field of view the distance is 0, neither head nor air
    head = (lattice.head_distance_mm < 0).reshape(lattice.shape)
    brain = lattice.in_brain.reshape(lattice.shape)
    result: list[float | None] = []
    for axis in range(3):
        through_brain = air & brain.any(axis=axis, keepdims=True)
        clear_of_head = air & ~head.any(axis=axis, keepdims=True)
        if brain_signal <= 0 or through_brain.sum() < MIN_SAMPLES or clear_of_head.sum() < MIN_SAMPLES:
            result.append(None)
            continue
        near, far = squares[through_brain], squares[clear_of_head]
        excess = float(near.mean() - far.mean())
        excess -= SPREADS_DISCOUNTED * float(np.hypot(_mean_spread(near), _mean_spread(far)))
        result.append(float(100.0 * np.sqrt(max(excess, 0.0)) / brain_signal))
    return result


def _mean_spread(values: np.ndarray) -> float:
    """Standard error of the mean of ``values``."""
    return float(np.std(values) / np.sqrt(len(values)))


class GhostingError(InputError):
    """The image's ghosting exceeds :data:`MAX_GHOSTING_PCT`.

    Attributes
    ----------
    also : str
        The finding as one sentence, for a refusal that comes first (a failed registration,
        which strong motion causes) to name it too.
    """

    def __init__(self, message: str, also: str):
        super().__init__(message)
        self.also = also


def strongest_ghosting(ghosting_pct: list[float | None]) -> tuple[float, int] | None:
    """The strongest ghosting of :func:`ghosting_pct_by_axis` and its voxel axis, ``None``
    when no axis could be measured."""
    measured = [(pct, axis) for axis, pct in enumerate(ghosting_pct) if pct is not None]
    return max(measured) if measured else None


def require_little_ghosting(ghosting_pct: list[float | None], axis_codes) -> None:
    """Refuse an image whose ghosting along some voxel axis exceeds :data:`MAX_GHOSTING_PCT`.

    Parameters
    ----------
    ghosting_pct : list of (float or None)
        :func:`ghosting_pct_by_axis`.
    axis_codes : sequence of str
        The image's axis codes (nibabel's, e.g. ``("L", "I", "A")``), to name the direction.

    Raises
    ------
    GhostingError
        Naming the ghosting's strength, its direction and the limit.
    """
    strongest = strongest_ghosting(ghosting_pct)
    if strongest is None or strongest[0] <= MAX_GHOSTING_PCT:
        return
    pct, axis = strongest
    direction = {"L": "left-right", "R": "left-right", "A": "front-back", "P": "front-back",
                 "S": "up-down", "I": "up-down"}[axis_codes[axis]]
    raise GhostingError(
        f"the image holds ghosts of the head: copies smeared {direction} (voxel axis {axis}) into the air "
        f"at {pct:.0f} % of the brain's signal, as motion during the scan leaves (at most "
        f"{MAX_GHOSTING_PCT:.0f} % is accepted). They lie over the scalp and blur the brain, so the target, the "
        "entry point and the dose suggestion cannot be measured reliably. Check the series in a viewer and "
        "rescan the T1 with the patient still",
        also=f"It also holds ghosts of the head smeared {direction} into the air at {pct:.0f} % of the brain's "
             "signal, as motion during the scan leaves: if it is a head T1, rescan it with the patient still",
    )
