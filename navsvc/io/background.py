"""Put a T1's air at zero intensity, where the engine expects it.

A magnitude MR image has dark air near zero, and the engine counts on it: the head mask
thresholds at half the Otsu level of the voxels above zero, and N4 bias correction takes
the logarithm of intensities. A converter or a processing step can shift every voxel by a
constant (an offset added for unsigned storage, a rescale intercept, a normalisation to a
negative range). Measured on the demo head (Colin27, air 0, brain about 30-160): shifted
by -20, the scalp entry moved 3.8 mm; scaled by 10 and shifted by -1000 (air at -1000), the
target moved 6.1 mm and the entry 48 mm, to the side of the head, and the plan was not
refused; shifted by +1000 after scaling by 10, the plan was refused as a head that cannot
be told from its background. With the shift taken away every one of them gives the
unshifted head's plan.

The air level is the :data:`BACKGROUND_PERCENTILE` percentile of all voxels: a head image
holds far more air than that, and a few dark outliers (interpolation ringing) fall below
it. It is an order statistic of the whole volume, so it is the same in every voxel order.
Magnitude noise lifts it a little above zero (0.045 sigma for Rayleigh noise of level
sigma; up to half the mean intensity once noisy air has been resampled, which averages
it), and that floor is taken away too: no cut-off tells a lifted noise floor from an
offset. On the accuracy benchmark's cases this moved the two with noise (Rician noise
0.34 -> 0.25 mm; warp, bias, noise, resampling and an oblique affine at once, whose air
floor is 6 % of its mean, 5.54 -> 6.07 mm); the others, air at zero, are unchanged.

Padding is put at the air level first (:func:`find_padding`): a region outside the field
of view filled with one constant far below the air (DICOM pixel padding, a resampler's
fill value under an image with an offset). Without that step its constant became the air
level, the air stayed lifted by the gap, and the padding counted as noise in the air.
Measured on Colin27 whose corners (7.7 % of the voxels) hold the padding: padding -1000
under intensities 0-254 was refused as too noisy (101 %, with the MP2RAGE hint), the same
under intensities scaled by 10 as too noisy (57 %), -32768 under the same as not a T1 head
(correlation 0.03), and padding 0 under air lifted to 50 as too noisy (39 %); with the
step all four give the unpadded head's plan (every point within 0.01 mm). A gap too small
to be told from the quantization of Colin27's own air (padding -100 under air at 0 and a
brain near 1000, 5 % of the span) is left alone: that head planned with its mapped target
0.3 mm, its cortical target 0.4 mm and its entry 0.8 mm from the unpadded plan
(scalp-to-cortex 16.1 mm against 15.4 mm).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import ndimage

from navsvc.io.outliers import bright_level
from navsvc.percentiles import percentile

#: the air level is this percentile of the voxel intensities, %
BACKGROUND_PERCENTILE = 0.1
#: padding lies farther than this below the air, and the voxels bordering it lie closer than
#: this to the air, as fractions of the air-to-bright span. Measured: Colin27's air holds
#: exact zeros 0.044 below the rest of its air; padding -1000 under a brain near 1000 lies
#: 0.48 below, padding 0 under air lifted to 50 0.24 below; the nilearn ICBM template's
#: masked background lies 0.22 below its brain, but the voxels bordering it lie 0.34 above
#: the darkest level: brain, not air.
PADDING_MARGIN = 0.15


class Padding(NamedTuple):
    """A constant region outside the field of view (:func:`find_padding`)."""

    #: the padded voxels, in the volume's shape
    mask: np.ndarray
    #: the intensity of the darkest air of the rest of the volume
    air_level: float


def background_level(data: np.ndarray) -> float:
    """The intensity of the darkest air: the :data:`BACKGROUND_PERCENTILE` percentile.

    Parameters
    ----------
    data : numpy.ndarray
        Voxel intensities (finite).

    Returns
    -------
    float
        ``np.percentile(data, BACKGROUND_PERCENTILE)``, bit for bit
        (:func:`navsvc.percentiles.percentile`, 0.04-0.10 s on a 256³ head).
    """
    return percentile(data, BACKGROUND_PERCENTILE)


def find_padding(data: np.ndarray, level: float | None = None) -> Padding | None:
    """The region that holds one constant far below the air, bordered by air, if any.

    The candidate is every voxel at the volume's air level (:func:`background_level`, the
    intensity of rank :data:`BACKGROUND_PERCENTILE` %), when at least that many voxels hold
    exactly that intensity: a large region of one constant at the bottom of the range. A
    few dead voxels below it (at -1e30, say) do not hide it, as the minimum would. It is
    padding when, with the air level ``a`` and the bright level ``b``
    (:func:`navsvc.io.outliers.bright_level`) of the other voxels, the constant lies more
    than :data:`PADDING_MARGIN` ``(b - a)`` below ``a`` and the median of the voxels
    bordering the region (6-connected) lies within that distance of ``a``: padding is
    surrounded by air. A mask that cuts the background away at the head is bordered by
    head, not by air, and is left alone.

    Parameters
    ----------
    data : numpy.ndarray, 3-D
        Voxel intensities (finite, not all equal).
    level : float, optional
        ``background_level(data)``, when the caller has it.

    Returns
    -------
    Padding or None
    """
    flat = data.ravel(order="K")  # memory order: a view, and boolean indexing 10x faster than in 3-D
    lowest = np.asarray(background_level(flat) if level is None else level, dtype=flat.dtype)
    is_lowest = flat == lowest
    padded = int(np.count_nonzero(is_lowest))
    if padded < int(flat.size * BACKGROUND_PERCENTILE / 100.0) or padded == flat.size:
        return None
    rest = flat[~is_lowest]
    air = background_level(rest)
    bright = bright_level(rest)
    margin = PADDING_MARGIN * (bright - air)
    if air - float(lowest) <= margin:
        return None
    mask = data == lowest
    border = ndimage.binary_dilation(mask) & ~mask
    if abs(float(np.median(data[border])) - air) >= margin:
        return None
    return Padding(mask, air)


def put_background_at_zero(data: np.ndarray) -> float:
    """Put padding at the air level, then subtract the air level from every voxel, in place.

    Nothing else changes: voxels below the level (ringing) stay below zero, and voxels of
    equal intensity stay equal (a removed region is still exactly the image's minimum,
    unless it is padding, :func:`find_padding`).

    Parameters
    ----------
    data : numpy.ndarray, 3-D, float
        Voxel intensities, changed in place.

    Returns
    -------
    float
        The air level subtracted (0.0 when the air is already at zero; the data is left as
        it was unless it holds padding).
    """
    level = background_level(data)
    padding = find_padding(data, level)
    if padding is not None:
        data[padding.mask] = padding.air_level
        level = background_level(data)
    if level != 0.0:
        data -= np.asarray(level, dtype=data.dtype)
    return level
