"""Clip voxels far brighter than any tissue of the head, or as far below its air.

A reconstruction or processing fault can leave a few voxels at an absurd intensity (a
division by a near-zero bias field, an integer wrap-around, a dead voxel). The engine's
intensity statistics are not built for that: the head mask thresholds at half the Otsu
level of the voxels above zero, on a histogram whose range the hottest voxel sets.
Measured on Colin27 (intensities 0-254): with 100 random voxels at 1e6 (0.0014 % of the
voxels) or 5000 at 5000, the plan was made, unrefused, with the scalp entry 58 mm from
Colin27's and landmarks up to 154 mm off (the dose suggestion withheld, its M1 depth
implausible); with one voxel at 1e30 it ended in an internal error (exit 1); 100 voxels
at -1e6 moved the dose suggestion by 4.1 %MSO. With the clipping the entry lies within
0.44 mm of Colin27's, the landmarks within 0.95 mm and the dose within 1.2 %MSO (the
spread that a 10 % ghost or a 0.7 mm resampling of the same head also gives).

Intensities are kept within :data:`OUTLIER_FACTOR` times the bright level (the
:data:`BRIGHT_PERCENTILE` percentile: fat and white matter in a T1) on either side of the
air at zero. A head's own brightest tissue lies far inside (Colin27: 1.23 times its bright
level; the ICBM template 1.09; the accuracy benchmark's twelve cases at most 1.28, and
their ringing below zero at most 0.01), so an image without such voxels is left exactly as
it was. The
bright level, a percentile, is robust to outliers fewer than 0.1 % of the voxels.
"""

from __future__ import annotations

import numpy as np

from navsvc.errors import InputError
from navsvc.percentiles import percentile

#: the bright level of an image is this percentile of its intensities, %
BRIGHT_PERCENTILE = 99.9
#: intensities beyond this multiple of the bright level, above or below zero, are clipped to it
OUTLIER_FACTOR = 3.0


def bright_level(values: np.ndarray) -> float:
    """The :data:`BRIGHT_PERCENTILE` percentile of ``values``.

    Parameters
    ----------
    values : numpy.ndarray
        Intensities (finite), any shape and memory order.

    Returns
    -------
    float
        ``np.percentile(values, BRIGHT_PERCENTILE)``, bit for bit
        (:func:`navsvc.percentiles.percentile`).
    """
    return percentile(values, BRIGHT_PERCENTILE)


def clip_intensity_outliers(data: np.ndarray, name: str = "the image") -> int:
    """Clip the intensities to ``±`` :data:`OUTLIER_FACTOR` times the bright level, in place.

    Parameters
    ----------
    data : numpy.ndarray, 3-D, float
        Voxel intensities with the air at zero
        (:func:`navsvc.io.background.put_background_at_zero`), changed in place.
    name : str
        What to call the image in an error message (its file name).

    Returns
    -------
    int
        How many voxels were clipped (0: the data is left as it was).

    Raises
    ------
    InputError
        When the bright level is not above the air: fewer than
        ``100 - BRIGHT_PERCENTILE`` % of the voxels hold anything, far less than a head
        fills of any field of view. Such an image reached the head mask with its few
        voxels unclipped (a voxel at 1e30 overflowed Otsu's variance) and was refused
        only after the registration, as not a T1.
    """
    ceiling = OUTLIER_FACTOR * bright_level(data)
    if ceiling <= 0.0:
        above = int(np.count_nonzero(data > 0.0))
        raise InputError(
            f"{name} is nearly empty: {above:,} of its {data.size:,} voxels "
            f"({100.0 * above / data.size:.3g} %) are brighter than the air, where a head T1 fills a "
            "good part of the field of view; check that this is the T1 series and that it was "
            "exported whole")
    count = int(np.count_nonzero(data > ceiling)) + int(np.count_nonzero(data < -ceiling))
    if count:
        np.clip(data, -ceiling, ceiling, out=data)
    return count
