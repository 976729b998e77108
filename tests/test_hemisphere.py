"""One hemisphere rule (navsvc.target.hemisphere): MNI x < 0 is left; the midline is not."""

from __future__ import annotations

import numpy as np
import pytest

from navsvc.plan_document import plan_schema
from navsvc.target.hemisphere import LEFT, RIGHT, hemisphere, is_left


@pytest.mark.parametrize("x_mm, expected", [(-38.0, LEFT), (-0.01, LEFT), (0.0, RIGHT), (0.01, RIGHT), (40.0, RIGHT)])
def test_hemisphere_of_one_point(x_mm, expected):
    assert hemisphere([x_mm, 44.0, 26.0]) == expected


def test_is_left_takes_many_points():
    points = np.array([[-1.0, 0, 0], [0.0, 5, 5], [2.0, -3, 1]])
    assert is_left(points).tolist() == [True, False, False]


def test_the_words_are_the_plan_schemas():
    # plan.json's target.hemisphere carries them; navigation integrators read "left"/"right"
    enum = plan_schema()["properties"]["target"]["properties"]["hemisphere"]["enum"]
    assert (LEFT, RIGHT) == ("left", "right") and enum == [LEFT, RIGHT]
