"""What the target stage finds (native RAS mm): the treatment target with its scalp entry
and coil pose, and the motor hand knob whose depth sets the dose."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from navsvc.anatomy.scalp_rise import ScalpRise
from navsvc.target.individualize import CorticalTarget


@dataclass(frozen=True)
class TargetResult:
    """Where the target is and how the coil sits over it (native RAS mm)."""

    mni_mm: np.ndarray
    native_ras_mm: np.ndarray
    cortex: CorticalTarget
    entry_ras_mm: np.ndarray
    inward_normal: np.ndarray
    coil: np.ndarray
    along_normal_entry_ras_mm: np.ndarray
    along_normal_coil: np.ndarray
    scalp_to_cortex_mm: float  # entry to the cortical surface (the target lies deeper)
    scalp_rise: ScalpRise  # near the entry
    fluid_widest_mm: float  # the widest ball of fluid where the template brain has tissue, near native_ras_mm


@dataclass(frozen=True)
class M1Site:
    """The motor hand knob on this patient's cortex and the scalp above it (native RAS mm)."""

    cortex: CorticalTarget
    scalp_ras_mm: np.ndarray
    scalp_to_cortex_mm: float
    scalp_rise: ScalpRise  # near scalp_ras_mm
    fluid_widest_mm: float  # the widest ball of fluid where the template brain has tissue, near the mapped knob
