"""Ghosts: copies of the head half the field of view away along a voxel axis.

When the signal differs between alternate k-space lines (the patient moves, blood or fluid
pulsates), the image holds a faint copy of the head shifted by half the field of view along
the phase-encoding direction, one of the voxel axes of an unresliced image (Bernstein, King &
Zhou 2004, Handbook of MRI Pulse Sequences, ch. 11; Zaitsev, Maclaren & Herbst 2015, J Magn
Reson Imaging 42:887). In the air around the head such a ghost is the head's own signal,
scaled: the ghost's brightness ``a`` is read from the air voxels whose partner half the
field of view away lies in the brain. Magnitude images hold Rician noise, so the air's values
are compared as squares: the median square of Rician values of level ``a * s`` over noise
``sigma`` is about ``(a s)^2 + sigma^2``, and of the air that copies air ``1.39 sigma^2``,
so their difference leaves ``(a s)^2`` within ``0.4 sigma^2``. That difference is lowered by
three of its standard errors, so that noise alone reads as no ghost: before, Colin27 under
12 % noise read up to 7.4 % and with an MP2RAGE UNI image's air (noise spread over the whole
range) up to 23.4 %; now 0.0 in 20 draws of each. Colin27 with ghosts of 10, 20 and 40 %
along each axis, turned and moved at random, reads 9.2-9.9, 19.0-19.8 and 37.6-39.6 % on
the ghost's axis under 0-2 % Rician noise, 5.2-7.3, 15.0-16.6 and 35.0-36.6 % under 8 %
(the discount grows with the noise), and 0.0 on the other axes.

Planned (Colin27 with 2 % noise), a front-back ghost of 20 % moved the mapped target 2.3 mm
and the scalp entry 2.2 mm; turned and moved at random, of 25 % 3.5 and 3.1 mm, of 40 % 4.4
and 6.4 mm; unmoved, of 50 % the entry 12.4 mm with the dose suggestion 14 %MSO higher:
the ghost of the back of the head lies over the forehead and the scalp found there grows
outwards. Up-down and left-right ghosts of 30-40 % moved the entry 2.2-5.1 mm. Above
:data:`MAX_GHOST_PCT` the image is refused.
"""

from __future__ import annotations

import numpy as np

from navsvc.anatomy.noise import air_and_brain, colin_brain_mask, sample_lattice
from navsvc.errors import InputError

#: brighter ghosts are refused, % of the image they copy
MAX_GHOST_PCT = 20.0
#: with fewer air samples on either side of the comparison no estimate is made for an axis
MIN_SAMPLES = 200
#: the difference of the two medians is lowered by this many of its standard errors, so that
#: noise alone (an MP2RAGE UNI image's air spreads over the whole range) reads as no ghost
SPREADS_DISCOUNTED = 3.0


def ghost_pct_by_axis(data: np.ndarray, affine: np.ndarray, native_to_colin) -> list[float | None]:
    """The brightness of a half-field-of-view ghost along each voxel axis.

    Parameters
    ----------
    data : numpy.ndarray, 3-D
        The input T1's voxels, as loaded (the ghost lies along the acquisition's axes,
        which a resampling would turn).
    affine : numpy.ndarray, shape (4, 4)
        Its voxel-to-RAS affine.
    native_to_colin : callable
        Native RAS points (N, 3) -> Colin27 points (N, 3), mm (the head affine).

    Returns
    -------
    list of (float or None), length 3
        Per voxel axis, the ghost's brightness as a percentage of the image it copies;
        ``None`` where too little air lies half the field of view from the brain (or from
        other air) to measure it.
    """
    brain_mask = colin_brain_mask()
    ijk = sample_lattice(data.shape)
    squares = data[tuple(ijk.T)].astype(np.float64) ** 2
    air, _ = air_and_brain(ijk, affine, native_to_colin, brain_mask)
    result: list[float | None] = []
    for axis in range(3):
        partner = ijk.copy()
        partner[:, axis] = (partner[:, axis] - data.shape[axis] // 2) % data.shape[axis]
        partner_air, partner_brain = air_and_brain(partner, affine, native_to_colin, brain_mask)
        copies_brain, copies_air = air & partner_brain, air & partner_air
        if copies_brain.sum() < MIN_SAMPLES or copies_air.sum() < MIN_SAMPLES:
            result.append(None)
            continue
        copied_signal = float(np.median(data[tuple(partner[copies_brain].T)]))
        excess = float(np.median(squares[copies_brain]) - np.median(squares[copies_air]))
        excess -= SPREADS_DISCOUNTED * float(np.hypot(_median_spread(squares[copies_brain]),
                                                       _median_spread(squares[copies_air])))
        result.append(0.0 if copied_signal <= 0 else float(100.0 * np.sqrt(max(excess, 0.0)) / copied_signal))
    return result


def _median_spread(values: np.ndarray) -> float:
    """Standard error of the median of ``values``: ``1.2533 sd / sqrt(n)``, with the sd taken
    from the interquartile range (``IQR / 1.349``), robust to the few bright voxels of air."""
    q1, q3 = np.percentile(values, [25, 75])
    return float(1.2533 * (q3 - q1) / 1.349 / np.sqrt(len(values)))


def strongest_ghost(ghost_pct: list[float | None]) -> tuple[float, int] | None:
    """The brightest ghost of :func:`ghost_pct_by_axis` and its voxel axis, ``None`` when no
    axis could be measured."""
    measured = [(pct, axis) for axis, pct in enumerate(ghost_pct) if pct is not None]
    return max(measured) if measured else None


def require_no_strong_ghost(ghost_pct: list[float | None], axis_codes) -> None:
    """Refuse an image whose ghost along some voxel axis exceeds :data:`MAX_GHOST_PCT`.

    Parameters
    ----------
    ghost_pct : list of (float or None)
        :func:`ghost_pct_by_axis`.
    axis_codes : sequence of str
        The image's axis codes (nibabel's, e.g. ``("L", "I", "A")``), to name the direction.

    Raises
    ------
    InputError
        Naming the ghost's brightness, its direction and the limit.
    """
    strongest = strongest_ghost(ghost_pct)
    if strongest is None or strongest[0] <= MAX_GHOST_PCT:
        return
    pct, axis = strongest
    direction = {"L": "left-right", "R": "left-right", "A": "front-back", "P": "front-back",
                 "S": "up-down", "I": "up-down"}[axis_codes[axis]]
    raise InputError(
        f"the image holds a ghost of the head: a copy {pct:.0f} % as bright, half the field of view away "
        f"{direction} (voxel axis {axis}), as from motion during the scan (at most {MAX_GHOST_PCT:.0f} % "
        "is accepted). The ghost lies over the scalp, so the entry point and the dose suggestion cannot be "
        "measured reliably. Check the series in a viewer and rescan the T1 with the patient still"
    )
