"""The plan's dose block: the Stokes offset and when none is suggested, by hand."""

from __future__ import annotations

import pytest

from navsvc.dose import M1_NOT_IN_IMAGE, dose_summary, implausible_depth, mt_offset_pct_mso


@pytest.mark.parametrize("target_mm, m1_mm, offset", [(20.0, 15.0, 14.0), (12.0, 15.0, -8.4), (15.0, 15.0, 0.0)])
def test_the_offset_is_the_stokes_slope_times_the_extra_depth(target_mm, m1_mm, offset):
    # adjusted MT = MT + 2.8 %MSO/mm x (D_target - D_M1) (Stokes et al. 2005)
    assert mt_offset_pct_mso(target_mm, m1_mm) == pytest.approx(offset)
    assert mt_offset_pct_mso(target_mm, m1_mm, slope_pct_mso_per_mm=3.0) == pytest.approx(offset / 2.8 * 3.0)


@pytest.mark.parametrize("target_mm, m1_mm", [(8.0, 8.0), (35.0, 35.0), (18.0, 8.0), (8.0, 18.0)])
def test_depths_on_the_plausible_bounds_get_a_suggestion(target_mm, m1_mm):
    assert implausible_depth(target_mm, m1_mm) is None
    assert dose_summary(target_mm, m1_mm)["mt_offset_pct_mso"] == pytest.approx(2.8 * (target_mm - m1_mm))


@pytest.mark.parametrize("target_mm, m1_mm, words", [
    (7.9, 12.0, "measured at the target, 7.9 mm, is outside the 8-35 mm"),
    (20.0, 35.1, "measured at the motor hand knob, 35.1 mm, is outside the 8-35 mm"),
    (25.1, 15.0, "the target lies 10.1 mm deeper than the motor hand knob"),
    (10.0, 20.1, "the target lies 10.1 mm shallower than the motor hand knob")])
def test_implausible_depths_get_no_suggestion_and_say_why(target_mm, m1_mm, words):
    block = dose_summary(target_mm, m1_mm)
    assert block["mt_offset_pct_mso"] is None and words in block["unavailable_reason"]
    assert block["scalp_to_cortex_target_mm"] == target_mm and block["scalp_to_cortex_m1_mm"] == m1_mm


def test_without_the_motor_hand_knob_there_is_no_suggestion():
    block = dose_summary(17.25, None)
    assert (block["mt_offset_pct_mso"], block["scalp_to_cortex_m1_mm"]) == (None, None)
    assert block["unavailable_reason"] == M1_NOT_IN_IMAGE


def test_the_block_rounds_to_hundredths_of_a_mm_and_a_percent():
    block = dose_summary(17.123456, 15.0)
    assert (block["scalp_to_cortex_target_mm"], block["mt_offset_pct_mso"]) == (17.12, 5.95)
    assert "unavailable_reason" not in block and block["stokes_slope_pct_mso_per_mm"] == 2.8
