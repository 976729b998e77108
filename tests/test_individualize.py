"""The individualization rule on a grey-matter slab whose answer follows from geometry.

The slab of tests/test_scalp_to_cortex.py: 1 mm voxels, grey matter at voxel centres
x = 12..``last`` mm, so that trilinear sampling reads grey matter (probability > 0.5) on
11.5 < x < last + 0.5. The scalp point is at x = 0 and the ray steps 0.25 mm: the first
grey-matter sample is x = 11.75.
"""

from __future__ import annotations

import numpy as np
import pytest

from navsvc.errors import PipelineError
from navsvc.target.individualize import RULE, individualize
from test_scalp_to_cortex import grey_matter_slab

SCALP = np.array([0.0, 5.0, 5.0])


def everywhere(points):
    return np.ones(len(np.atleast_2d(points)), dtype=bool)


def test_the_target_is_the_middle_of_the_first_grey_matter_run_on_the_scalp_ray():
    # grey matter read on 11.75..15.25 mm: its middle, 13.5 mm
    found = individualize([20.0, 5.0, 5.0], SCALP, grey_matter_slab(), everywhere)
    assert found.method == "scalp_ray"
    assert found.cortex_ras_mm == pytest.approx([13.5, 5.0, 5.0])
    assert found.shift_mm == pytest.approx(6.5)
    assert found.gm_probability == pytest.approx(1.0)


def test_in_thick_grey_matter_the_target_lies_3_mm_below_its_surface():
    # grey matter read on 11.75..25.25 mm, its surface at 11.5 mm: the run is cut after 24
    # samples (6 mm) and its middle lies 3 mm below the surface
    found = individualize([20.0, 5.0, 5.0], SCALP, grey_matter_slab(last_x_mm=25), everywhere)
    assert found.cortex_ras_mm == pytest.approx([11.5 + 3.0, 5.0, 5.0])


def test_grey_matter_more_than_10_mm_from_the_mapped_coordinate_is_not_taken():
    # mapped at 24 mm: the ray's grey matter counts from x = 14 mm on (14..15.25, middle 14.5)
    found = individualize([24.0, 5.0, 5.0], SCALP, grey_matter_slab(), everywhere)
    assert found.cortex_ras_mm == pytest.approx([14.5, 5.0, 5.0])
    assert found.shift_mm == pytest.approx(9.5)


def test_grey_matter_of_the_other_hemisphere_is_not_taken():
    # a midline at x = 13 mm: only 11.75..12.75 mm is the mapped coordinate's side
    found = individualize([12.5, 5.0, 5.0], SCALP, grey_matter_slab(), lambda p: np.atleast_2d(p)[:, 0] < 13.0)
    assert found.cortex_ras_mm == pytest.approx([12.25, 5.0, 5.0])


@pytest.mark.parametrize("first_y_mm", [8, 15])
def test_without_grey_matter_on_the_ray_the_nearest_grey_matter_voxel_is_taken(first_y_mm):
    # grey matter only at y >= first_y_mm: the ray along y = 5 mm meets none; 10 mm away is allowed
    found = individualize([13.0, 5.0, 5.0], SCALP, grey_matter_slab(first_y_mm=first_y_mm), everywhere)
    assert found.method == "nearest_grey_matter"
    assert found.cortex_ras_mm == pytest.approx([13.0, first_y_mm, 5.0])
    assert found.shift_mm == pytest.approx(first_y_mm - 5.0)


def test_a_run_that_reaches_the_end_of_the_ray_ends_there():
    # mapped at 5 mm: the ray ends at 15 mm (last sample 14.75), inside thick grey matter;
    # the run is 11.75..14.75 mm (13 samples) and its middle sample lies at 13.25 mm
    found = individualize([5.0, 5.0, 5.0], SCALP, grey_matter_slab(last_x_mm=25), everywhere)
    assert found.method == "scalp_ray"
    assert found.cortex_ras_mm == pytest.approx([13.25, 5.0, 5.0])


@pytest.mark.parametrize("origin_ras_mm", [(0.0, 0.0, 0.0), (-3.0, -5.0, -5.0), (-10.0, -5.0, -5.0),
                                           (120.0, -90.0, 40.0)])
def test_the_target_does_not_depend_on_where_the_scanner_origin_lies(origin_ras_mm):
    # the slab, the scalp point and the mapped coordinate moved together: with the origin
    # at (-3, -5, -5) the scalp point lies at x = -3 and the mapped coordinate at x = +3, on
    # either side of the scanner's origin; the target must move with them
    origin = np.asarray(origin_ras_mm)
    found = individualize(origin + [6.0, 5.0, 5.0], origin + SCALP, grey_matter_slab(origin_ras_mm), everywhere)
    assert found.method == "scalp_ray"
    assert found.cortex_ras_mm == pytest.approx(origin + [13.5, 5.0, 5.0])


def test_the_rule_in_the_plan_states_the_limits_the_code_applies():
    assert "(at most 3 mm deep), within 10 mm of the mapped coordinate" in RULE
    assert RULE.endswith("else the nearest grey-matter voxel within 10 mm")


def test_the_refusal_says_where_and_what_to_do():
    with pytest.raises(PipelineError) as err:
        individualize([30.04, 5.0, 5.0], SCALP, grey_matter_slab(), everywhere, site="motor hand knob")
    assert str(err.value) == (
        "no grey matter within 10 mm of the mapped motor hand knob [30.0, 5.0, 5.0]: the registration "
        "to the template may have failed there (no plan or QC report is written); look at the T1 and "
        "plan this patient by hand")


@pytest.mark.parametrize("mapped, hemisphere", [([30.0, 5.0, 5.0], everywhere),
                                                ([13.0, 5.0, 5.0], lambda p: np.zeros(len(np.atleast_2d(p)), bool))])
def test_no_grey_matter_of_the_hemisphere_within_10_mm_is_an_error(mapped, hemisphere):
    with pytest.raises(PipelineError, match=r"no grey matter within 10 mm of the mapped target \[" + str(mapped[0])):
        individualize(mapped, SCALP, grey_matter_slab(), hemisphere)
