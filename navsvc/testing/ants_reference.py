"""ANTs' own file-based point mapping, the reference the tests hold navsvc's maps to."""

from __future__ import annotations

import numpy as np
import pandas as pd

from navsvc.antspy import ants
from navsvc.coords import lps_to_ras, ras_to_lps


def ants_points_ras_mm(points_ras_mm, files, invert) -> np.ndarray:
    """Map RAS points through transform files with ``ants.apply_transforms_to_points``.

    Parameters
    ----------
    points_ras_mm : array-like, shape (3,) or (N, 3)
        Points, RAS mm (sent to ANTs as LPS, ITK's physical space).
    files : sequence of str
        Transform files in ``apply_transforms_to_points`` order. Points map with the list that
        warps images the other way: MNI points to native with the native -> MNI image list.
    invert : sequence of bool
        ``whichtoinvert``, one per file.

    Returns
    -------
    numpy.ndarray, shape (N, 3)
        The mapped points, RAS mm.
    """
    lps = ras_to_lps(points_ras_mm)
    frame = pd.DataFrame({"x": lps[:, 0], "y": lps[:, 1], "z": lps[:, 2]})
    out = ants.apply_transforms_to_points(3, frame, list(files), whichtoinvert=list(invert))
    return lps_to_ras(out[["x", "y", "z"]].to_numpy(dtype=np.float64))
