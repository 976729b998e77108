"""Dose arithmetic: intensity from the motor threshold, the Stokes depth adjustment, its limits."""

import pytest

from navsvc.course.dose import above_protocol_reason, compute_dose, over_output_reason, plan_mt_offset
from navsvc.errors import InputError


def test_dose_and_stokes_adjustment():
    d = compute_dose(50, 120)
    assert d.intensity_pct_mso == 60 and d.adjusted_intensity_pct_mso is None
    d = compute_dose(50, 120, mt_offset_pct_mso=6.0)  # 2 mm deeper at ~3 %MSO/mm
    assert d.adjusted_mt_pct_mso == 56 and d.adjusted_intensity_pct_mso == pytest.approx(67.2)
    assert not d.exceeds_max_output
    assert compute_dose(85, 120).exceeds_max_output
    assert compute_dose(80, 120, -5.0).adjusted_intensity_pct_mso == 90
    assert compute_dose(80, 120, -5.0).adjustment_withheld is None


def test_the_dose_records_the_intensity_given_and_flags_only_that():
    # 10 Hz at 120 % of an 80 %MSO threshold gives 96 %MSO; the plan's +8.4 %MSO depth offset
    # (106.1 %MSO adjusted) is not given under a protocol that is not depth-adjusted. The
    # dose said "above maximum output" for it, and recorded no intensity as the one given.
    plain = compute_dose(80, 120, mt_offset_pct_mso=8.4)
    assert (plain.given_intensity_pct_mso, plain.adjusted_intensity_pct_mso) == (96.0, 106.1)
    assert not plain.exceeds_max_output and over_output_reason(plain) is None
    adjusted = compute_dose(80, 120, mt_offset_pct_mso=8.4, depth_adjusted=True)
    assert adjusted.given_intensity_pct_mso == 106.1 and adjusted.exceeds_max_output
    assert "106.1 %MSO, more than the stimulator's maximum output" in over_output_reason(adjusted)
    withheld = compute_dose(40, 120, mt_offset_pct_mso=-45.0, depth_adjusted=True)
    assert withheld.given_intensity_pct_mso == 48.0  # the adjustment is withheld: the measured dose


def test_a_depth_offset_that_would_take_the_threshold_to_nothing_is_not_applied():
    # a plan's offset can reach -75 %MSO (2.8 %MSO/mm over the 8-35 mm plausible depths)
    d = compute_dose(40, 120, mt_offset_pct_mso=-45.0)
    assert d.adjusted_mt_pct_mso is None and d.adjusted_intensity_pct_mso is None
    assert d.adjustment_withheld == (
        "the plan's depth offset (-45.0 %MSO) would take the motor threshold to -5.0 %MSO: "
        "not applied; check the plan's scalp-to-cortex distances")
    assert d.intensity_pct_mso == 48 and not d.exceeds_max_output  # the measured dose stands
    with pytest.raises(InputError) as err:
        compute_dose(0, 120)
    assert str(err.value) == "resting motor threshold must be 1-100 %MSO; got 0"
    with pytest.raises(InputError) as err:
        compute_dose(50, 500)
    assert str(err.value) == "intensity must be 1-200 % of the motor threshold; got 500"


def test_the_dose_limits_are_inclusive():
    # the stimulator's full output can be given; so can the rule's bounds themselves
    full = compute_dose(100, 100)
    assert full.given_intensity_pct_mso == 100.0 and not full.exceeds_max_output
    assert compute_dose(1, 1).intensity_pct_mso == 0.0 and compute_dose(50, 200).intensity_pct_mso == 100.0
    threshold_of_one = compute_dose(40, 120, mt_offset_pct_mso=-39.0)  # adjusted threshold 1 %MSO
    assert threshold_of_one.adjusted_mt_pct_mso == 1.0 and threshold_of_one.adjustment_withheld is None
    for rmt, pct in ((0.99, 120), (100.01, 100), (50, 0.99), (50, 200.01)):
        with pytest.raises(InputError):
            compute_dose(rmt, pct)


def test_dose_values_are_rounded_to_a_tenth_of_a_percent():
    dose = compute_dose(47.3, 110, mt_offset_pct_mso=2.345)  # 52.03, adjusted 49.645 -> 54.61
    assert (dose.intensity_pct_mso, dose.adjusted_mt_pct_mso, dose.adjusted_intensity_pct_mso) == (52.0, 49.6, 54.6)


def test_over_output_says_depth_adjusted_only_when_the_adjusted_dose_is_given():
    measured = compute_dose(90, 120)
    assert over_output_reason(measured) == (
        "120 % of a 90 %MSO motor threshold is 108.0 %MSO, more than the stimulator's maximum "
        "output (100 %MSO): log the intensity actually given")
    adjusted = compute_dose(80, 120, mt_offset_pct_mso=8.4, depth_adjusted=True)
    assert "motor threshold (depth-adjusted) is 106.1 %MSO" in over_output_reason(adjusted)


def test_only_an_intensity_above_the_protocols_needs_review():
    assert above_protocol_reason(120, 120) is None and above_protocol_reason(100, 120) is None
    assert above_protocol_reason(121, 120) == (
        "intensity 121 % of motor threshold is above the protocol's 120 %: a clinician should review this session")


def test_plan_mt_offset():
    assert plan_mt_offset({"dose": {"mt_offset_pct_mso": 4.5}}) == 4.5
    assert plan_mt_offset({"dose": {}}) is None
    assert plan_mt_offset({}) is None
    assert plan_mt_offset({"dose": {"mt_offset_pct_mso": "x"}}) is None
    for not_finite in (float("nan"), float("inf"), float("-inf")):  # a NaN dose would pass every limit check
        assert plan_mt_offset({"dose": {"mt_offset_pct_mso": not_finite}}) is None
