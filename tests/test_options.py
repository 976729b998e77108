"""Targeting options are checked where they are made, for the command line and the API alike."""

from __future__ import annotations

import math

import pytest

from navsvc.errors import InputError
from navsvc.options import COIL_DISTANCE_RANGE_MM, HANDLE_ANGLE_RANGE_DEG, MNI_BOX_MM, PlanOptions
from navsvc.target.strategies import STRATEGIES


@pytest.mark.parametrize("options, message", [
    ({"coil_distance_mm": -0.1}, "coil distance must be from 0 to 30 mm"),
    ({"coil_distance_mm": 30.5}, "coil distance"),
    ({"coil_distance_mm": math.nan}, "coil distance"),
    ({"handle_angle_deg": 181.0}, "handle angle must be from -180 to 180 degrees"),
    ({"handle_angle_deg": math.inf}, "handle angle"),
    ({"mni_mm": (-38.0, 44.0, math.nan)}, "MNI target must be three finite numbers"),
    ({"native_ras_mm": (math.inf, 0.0, 0.0)}, "native target must be three finite numbers"),
    ({"mni_mm": (-38.0, 44.0, 200.0)}, "outside the template's head"),
    ({"mni_mm": (-99.0, 0.0, 0.0)}, "outside the template's head"),
])
def test_bad_options_are_refused_with_what_is_wrong(options, message):
    with pytest.raises(InputError, match=message):
        PlanOptions(**options)


def test_the_limits_themselves_and_every_named_target_are_accepted():
    for distance in COIL_DISTANCE_RANGE_MM:
        PlanOptions(coil_distance_mm=distance)
    for angle in HANDLE_ANGLE_RANGE_DEG:
        PlanOptions(handle_angle_deg=angle)
    PlanOptions(mni_mm=tuple(lo for lo, _ in MNI_BOX_MM))
    PlanOptions(native_ras_mm=(500.0, -500.0, 0.0))  # checked against the image, not here
    for strategy in STRATEGIES.values():
        PlanOptions(mni_mm=tuple(strategy.mni_mm))
