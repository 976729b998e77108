"""Which hemisphere a point lies in: one rule for the target search, the coil's handle,
the plan and the report.

A point is in the left hemisphere where its MNI x is negative (the ICBM 2009 template
used here is symmetric about x = 0). A point exactly on the midline is not counted as
left: for a left-DLPFC plan that is the safer reading, since the report then warns.
"""

from __future__ import annotations

import numpy as np

from navsvc.coords import as_points

LEFT, RIGHT = "left", "right"


def is_left(points_mni_mm) -> np.ndarray:
    """Whether each point (N, 3) MNI mm lies in the left hemisphere (N,) bool."""
    return as_points(points_mni_mm)[:, 0] < 0.0


def hemisphere(point_mni_mm) -> str:
    """``"left"`` or ``"right"`` for one MNI point (mm); the midline counts as right."""
    return LEFT if bool(is_left(point_mni_mm)[0]) else RIGHT
