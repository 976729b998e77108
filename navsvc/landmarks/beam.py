"""Beam F3 (Beam et al. 2009 Brain Stimul 2:50) computed on the patient's scalp.

Formula of the Beam F3 web calculator (docs/DESIGN.md §5), lengths in cm or mm alike:
R2 = 0.4·TT, R1 = 0.4·NI; A = (R2·sin324° + R1/2)/R2; B = R1·sin298°/(R1·cos298° − R2/2);
x = ½(R1 − R2·B)/(A − B); y = A·x − R1/2; r = √(x²+y²); θ = atan(y/x);
Y = 0.91·r (Cz to F3 along the scalp), X = (HC/4)·(90 + θ°)/90 (Fpz to the F3 line
along the circumference).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class BeamDistances:
    """The two tape distances of the Beam method, same unit as the inputs."""

    x_from_fpz: float
    y_from_cz: float


def beam_distances(tragus_tragus: float, nasion_inion: float, head_circumference: float) -> BeamDistances:
    """Beam F3 distances from the three head measurements (all in the same unit).

    Parameters
    ----------
    tragus_tragus : float
        Tragus to tragus over the vertex (TT).
    nasion_inion : float
        Nasion to inion over the vertex (NI).
    head_circumference : float
        Head circumference (HC).

    Returns
    -------
    BeamDistances
        X (from Fpz along the circumference) and Y (from Cz), in the inputs' unit.
    """
    r2, r1 = 0.4 * tragus_tragus, 0.4 * nasion_inion
    sin324 = math.sin(math.radians(324.0))
    sin298, cos298 = math.sin(math.radians(298.0)), math.cos(math.radians(298.0))
    a = (r2 * sin324 + r1 / 2) / r2
    b = r1 * sin298 / (r1 * cos298 - r2 / 2)
    x = 0.5 * (r1 - r2 * b) / (a - b)
    y = a * x - r1 / 2
    r = math.hypot(x, y)
    theta_deg = math.degrees(math.atan(y / x))
    return BeamDistances(x_from_fpz=(head_circumference / 4) * (90 + theta_deg) / 90, y_from_cz=0.91 * r)
