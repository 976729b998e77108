"""Exact percentiles of large arrays without selecting over all of them.

``np.percentile`` selects its order statistics over the whole array (introselect): 0.38 s
for a 256³ head, run on every plan. Here a strided sample brackets the order statistics
needed, three counting passes check the bracket, and only the values inside it (a few
percent of the array) are selected, or none when both lie in a run of values equal to
the bracket's lower end. The answer is numpy's own, bit for bit; when the bracket misses
(a sample unlike the array, NaN values) numpy's percentile is taken on the whole array.
"""

from __future__ import annotations

import numpy as np

#: arrays smaller than this go straight to ``np.percentile`` (selection is cheap there)
MIN_BRACKETED_SIZE = 1_000_000
#: stride of the sample: a prime, so that it does not fall in step with an image's rows
SAMPLE_STRIDE = 97
#: half-width of the bracket around ``q``, in percentage points. On a 256³ head the sample
#: holds 173 000 values and the 99.5th percentile's standard error is 0.017 points: the
#: bracket misses only an array the sample does not represent, and a miss costs only time
BRACKET_HALF_WIDTH_PERCENT = 1.0


def percentile(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (linear interpolation), the same value, faster.

    Parameters
    ----------
    values : numpy.ndarray
        Numbers of any shape (all of them count; NaN gives NaN, as in numpy).
    q : float
        Percentile, 0-100.

    Returns
    -------
    float
        The percentile, equal to ``float(np.percentile(values, q))``.
    """
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0-100, got {q}")
    flat = np.ravel(values, order="K")  # a view for C- and Fortran-ordered arrays
    if flat.size < MIN_BRACKETED_SIZE:
        return float(np.percentile(flat, q))
    # numpy's virtual index and weight ('linear' method, (n - 1) * q / 100), computed as
    # numpy computes them: in the array's own float type (float32 loses index precision
    # on a 256³ volume, and numpy's answer does too)
    divisor = flat.dtype.type(100) if flat.dtype.kind == "f" else 100
    position = (flat.size - 1) * np.true_divide(q, divisor)
    if not 0 <= position < flat.size - 1:
        return float(np.percentile(flat, q))  # q = 100 (the maximum), or rounded past it
    below_index = int(np.floor(position))
    weight = position - np.floor(position)
    needed = [below_index, below_index + 1]
    sample = flat[::SAMPLE_STRIDE]
    low, high = np.percentile(sample, [max(q - BRACKET_HALF_WIDTH_PERCENT, 0.0),
                                       min(q + BRACKET_HALF_WIDTH_PERCENT, 100.0)])
    below = int(np.count_nonzero(flat < low))
    if below <= needed[0] and np.count_nonzero(sample == low) > 1:
        # both order statistics may be ties at the bracket's lower end (an image's air at
        # exactly zero): 0.04 s instead of 0.15 s selecting among 12 million zeros (256³ head).
        # Counted only when the sample repeats that value: the pass costs 10 ms otherwise.
        at_low = int(np.count_nonzero(flat == low))
        if needed[1] < below + at_low and below + at_low + int(np.count_nonzero(flat > low)) == flat.size:
            return float(low)  # (every value compared: no NaN, which numpy would return)
    above = int(np.count_nonzero(flat > high))
    inside = flat[(flat >= low) & (flat <= high)]
    if below + inside.size + above != flat.size or not below <= needed[0] <= needed[1] < below + inside.size:
        return float(np.percentile(flat, q))  # bracket missed, or NaN present
    selected = np.partition(inside, [i - below for i in needed])
    pair = selected[[i - below for i in needed]]
    # numpy's own interpolation between the two order statistics: on a two-value array the
    # virtual index of quantile ``weight`` is ``weight`` itself
    return float(np.quantile(pair, weight))
