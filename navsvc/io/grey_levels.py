"""Refuse an image with a handful of intensities: a label map, mask or segmentation.

An MRI holds hundreds to thousands of distinct intensities (Colin27, stored as 8 bits:
249; a scanner's 12-bit T1: thousands), tissue and noise spreading every class over a
range. A segmentation (FSL FAST's 0-3, an Atropos or SPM label image), a brain mask or an
image cut down to a few grey levels holds a handful, and can pass for a T1: Colin27
relabelled as its head's four classes, numbered in T1 order (air, other, grey, white
matter), was registered with quality 0.79 and planned, unrefused, with the scalp entry
23 mm from Colin27's, inside the skull (the head mask's threshold fell between two labels
and left the scalp out). The same head cut to 8 grey levels: entry 23 mm off too; to 16:
within 0.9 mm.
"""

from __future__ import annotations

import math

import numpy as np

from navsvc.errors import InputError

#: fewest distinct intensities an MRI may hold (twice the 16 grey levels at which Colin27
#: still planned within 1 mm of itself, far below any scanner image's hundreds)
MIN_GREY_LEVELS = 32
#: voxels the count is taken over, on a regular grid through the whole image
SAMPLE_VOXELS = 2**18


def count_grey_levels(data: np.ndarray) -> int:
    """The number of distinct intensities on a regular grid of about :data:`SAMPLE_VOXELS`
    voxels through ``data`` (all of them for a smaller image).

    Parameters
    ----------
    data : numpy.ndarray, 3-D
        Voxel intensities.

    Returns
    -------
    int
        Distinct values in the sample: a lower bound of the image's own count.
    """
    step = max(1, math.floor((data.size / SAMPLE_VOXELS) ** (1 / 3)))
    return int(np.unique(data[::step, ::step, ::step]).size)


def require_grey_levels(levels: int, name: str) -> None:
    """Refuse an image with fewer than :data:`MIN_GREY_LEVELS` distinct intensities.

    Parameters
    ----------
    levels : int
        The image's count (:func:`count_grey_levels`).
    name : str
        The file name messages show.

    Raises
    ------
    InputError
        When the image holds too few intensities to be an MRI; the message gives the count.
    """
    if levels < MIN_GREY_LEVELS:
        raise InputError(
            f"{name} holds only {levels} distinct intensities, where an MRI holds hundreds: it looks like a "
            "label map, mask or segmentation, not a T1-weighted image. Upload the T1 series itself"
        )
