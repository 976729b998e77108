"""The QC report's values and tables (navsvc.report.values, navsvc.report.tables): each of a
plan's values shown in its own row and column, formatted and escaped, a dash where missing."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from navsvc.report.tables import coil_table, coordinates_table, distances_table, dose_block, dose_headline
from navsvc.report.values import (MISSING, esc, fluid_words, fmt_number, fmt_value, intensity_words, plan_cautions,
                                  scalp_rise_cautions, scalp_rise_words)
from navsvc.testing.plan_inputs import with_value


@pytest.mark.parametrize("value, shown", [
    (12.345, "12.3 mm"), ("12.345", "12.3 mm"), (-0.04, "0.0 mm"),
    (None, "—"), ("", "—"), ("twelve", "—"), (True, "—"), (float("nan"), "—"), (float("inf"), "—"), ([1], "—"),
])
def test_a_malformed_number_is_a_dash_not_a_measure(value, shown):
    # a hand-edited plan's true would read "1.0 %MSO" as a dose offset
    assert fmt_number(value, 1, " mm") == shown


@pytest.mark.parametrize("value, shown", [
    (True, "yes"), (False, "no"), (None, "—"), ("", "—"), ([], "—"), (12.34567, "12.35"), (256, "256"),
    ([256, 256, 180], "256, 256, 180"), ([1.0, 1.2, 1.5], "1, 1.2, 1.5"), ("<LAS>", "&lt;LAS&gt;"),
])
def test_a_plan_value_is_shown_as_a_reader_expects(value, shown):
    assert fmt_value(value) == shown


def test_a_number_is_shown_with_one_decimal_unless_asked_and_without_a_unit_unless_given():
    assert fmt_number(14.26) == "14.3" and fmt_number(14.26, 2) == "14.26"


def _table_rows(table_html: str) -> dict[str, list[str]]:
    """Row heading -> the row's other cells, as text."""
    rows = [["".join(cell.itertext()) for cell in row] for row in ET.fromstring(table_html).iter("tr")]
    return {row[0]: row[1:] for row in rows}


def _plan_with_distinct_points() -> dict:
    """A plan whose every reported number differs, so that a value shown in another row or
    column, or with a sign lost, shows."""
    return {
        "target": {"strategy": "fox2012", "cortex_ras_mm": [-38.1, 44.2, 30.3], "cortex_voxel_ijk": [52, 170, 101],
                   "cortex_mni_mm": [-40.4, 42.5, 28.6], "native_ras_mm": [-37.7, 46.8, 29.9], "mni_mm": [-41.0, 43.0, 27.0]},
        "entry": {"scalp_ras_mm": [-52.1, 58.2, 44.3], "scalp_to_cortex_mm": 14.26, "scalp_to_target_mm": 16.04},
        "coil": {"matrix": [[0.1, 0.2, 0.97, -55.1], [0.3, -0.9, 0.25, 61.2], [0.95, 0.35, -0.05, 47.3], [0, 0, 0, 1]],
                 "distance_to_scalp_mm": 4.0, "handle_angle_deg": 45.0},
        "landmarks": {"points": {
            "zz_extra": {"ras_mm": [1.5, 2.5, 3.5], "voxel_ijk": [1, 2, 3], "mni_mm": [4.5, 5.5, 6.5]},
            "cz": {"ras_mm": [0.4, -10.3, 95.2], "voxel_ijk": [90, 110, 190], "mni_mm": [0.1, -12.2, 96.3],
                   "scalp_in_image": True},
            "f3": {"ras_mm": [-44.6, 50.7, 41.8], "voxel_ijk": [46, 176, 137], "mni_mm": [-46.9, 48.1, 40.2],
                   "scalp_in_image": False},
            "m1_hand_knob": {"ras_mm": [-50.3, -16.4, 78.5], "voxel_ijk": [40, 110, 174], "cortex_ras_mm": [-38.2, -18.3, 60.4],
                             "mni_mm": [-37.0, -21.0, 58.0]}},
            "distances_mm": {"f3": 12.34, "beam_f3": 23.45, "five_cm": 34.56}},
        "dose": {"mt_offset_pct_mso": -3.04, "scalp_to_cortex_target_mm": 14.26, "scalp_to_cortex_m1_mm": 15.27,
                 "stokes_slope_pct_mso_per_mm": 2.8},
    }


def test_the_coordinates_table_shows_each_point_in_its_row_and_columns():
    rows = _table_rows(coordinates_table(_plan_with_distinct_points()))
    header = rows.pop("Point")
    assert header == ["Native RAS (x, y, z) mm", "Native LPS (x, y, z) mm", "Voxel (i, j, k) of the input image",
                      "MNI (x, y, z) mm"]
    assert list(rows.items()) == [
        ("Cortical target (on the patient's cortex)",
         ["(-38.1, 44.2, 30.3)", "(38.1, -44.2, 30.3)", "(52, 170, 101)", "(-40.4, 42.5, 28.6)"]),
        ("Strategy point mapped to the patient", ["(-37.7, 46.8, 29.9)", "(37.7, -46.8, 29.9)", "—", "(-41.0, 43.0, 27.0)"]),
        ("Scalp entry point", ["(-52.1, 58.2, 44.3)", "(52.1, -58.2, 44.3)", "—", "—"]),
        ("Coil centre", ["(-55.1, 61.2, 47.3)", "(55.1, -61.2, 47.3)", "—", "—"]),
        ("F3 (10-20, virtual) (NOT RELIABLE: the scalp here is not in the image)",
         ["(-44.6, 50.7, 41.8)", "(44.6, -50.7, 41.8)", "(46, 176, 137)", "(-46.9, 48.1, 40.2)"]),
        ("M1 hand knob, cortex", ["(-38.2, -18.3, 60.4)", "(38.2, 18.3, 60.4)", "—", "(-37.0, -21.0, 58.0)"]),
        ("M1 hand knob, scalp point above it", ["(-50.3, -16.4, 78.5)", "(50.3, 16.4, 78.5)", "(40, 110, 174)", "—"]),
        ("Cz", ["(0.4, -10.3, 95.2)", "(-0.4, 10.3, 95.2)", "(90, 110, 190)", "(0.1, -12.2, 96.3)"]),
        ("zz_extra", ["(1.5, 2.5, 3.5)", "(-1.5, -2.5, 3.5)", "(1, 2, 3)", "(4.5, 5.5, 6.5)"]),
    ]


def test_a_point_chosen_on_the_mri_is_named_so_in_the_coordinates_table():
    plan = _plan_with_distinct_points()
    plan["target"]["strategy"] = "native"
    assert "Point chosen on the patient's MRI" in _table_rows(coordinates_table(plan))


def test_the_coil_distances_and_dose_tables_show_the_plans_values():
    plan = _plan_with_distinct_points()
    assert _table_rows(coil_table(plan)) == {
        "Coil normal z (into the head), RAS": ["(0.970, 0.250, -0.050)"],
        "Handle direction (−y), RAS": ["(-0.200, 0.900, -0.350)"],
        "Coil x axis (wing to wing), RAS": ["(0.100, 0.300, 0.950)"],
        "Coil centre to scalp": ["4.0 mm"],
        "Handle angle from the midsagittal direction": ["45° (posterior and lateral)"],
    }
    assert _table_rows(distances_table(plan)) == {
        "Scalp entry → cortical surface (scalp-to-cortex)": ["14.3 mm"],
        "Scalp entry → cortical target": ["16.0 mm"],
        "F3 (10-20) → MRI-guided scalp entry": ["12.3 mm"],
        "Beam F3 site → MRI-guided scalp entry": ["23.4 mm"],
        "5-cm-rule site → MRI-guided scalp entry": ["34.6 mm"],
    }
    dose = dose_block(plan)
    assert _table_rows(dose[:dose.index("<p")]) == {
        "Suggested intensity (MT = the patient's motor threshold)": ["MT − 3.0 %MSO"],
        "Offset": ["-3.0 %MSO"],
        "Scalp-to-cortex distance at the target (D_target)": ["14.3 mm"],
        "Scalp-to-cortex distance at M1 (D_M1)": ["15.3 mm"],
        "Slope k": ["2.80 %MSO/mm"],
    }


@pytest.mark.parametrize("offset, shown", [(4.24, "MT + 4.2 %MSO"), (0.5, "MT + 0.5 %MSO"), (0.0, "MT + 0.0 %MSO"),
                                           (-3.04, "MT − 3.0 %MSO"), (float("nan"), MISSING), ("x", MISSING),
                                           (None, MISSING)])
def test_the_dose_headline_says_more_or_less_output_by_the_offsets_sign(offset, shown):
    # a deeper target needs more output: the sign a clinician reads must be the offset's
    assert dose_headline({"dose": {"mt_offset_pct_mso": offset}}) == shown


def _plan_with_blocks(**overrides):
    plan = {
        "registration": {"intensity": {"bias_field_spread": 1.734, "uneven_from": 1.5, "uneven_corrected": True},
                         "head_orientation": {"caution": "head turned 50 degrees"},
                         "quality": {"caution": "quality near its threshold"}},
        "entry": {"scalp_rise": {"rise_mm": 1.26, "caution_from_mm": 3.0, "patch_radius_mm": 12.0,
                                 "caution": "scalp rises at the entry"}},
        "target": {"fluid": {"widest_mm": 4.44, "caution_from_mm": 5.0, "caution": "fluid near the target"}},
        "landmarks": {"points": {"m1_hand_knob": {
            "scalp_rise": {"rise_mm": 2.37, "caution": "scalp rises at the hand knob"},
            "fluid": {"widest_mm": 6.05, "caution": "fluid near the hand knob"}}}},
    }
    for path, value in overrides.items():
        plan = with_value(plan, *path.split("__"), value)
    return plan


def test_the_reports_intensity_scalp_and_fluid_lines_read_each_value_from_its_own_field():
    plan = _plan_with_blocks()
    assert intensity_words(plan) == ("uneven: the bias field spans a factor of 1.73 (from 1.50 on), corrected more "
                                     "strongly before registration")
    even = _plan_with_blocks(registration__intensity__uneven_corrected=False)
    assert intensity_words(even) == "even: the bias field spans a factor of 1.73"
    assert scalp_rise_words(plan) == "entry 1.3 mm, motor hand knob 2.4 mm, within 12 mm (cautioned from 3.0 mm)"
    assert fluid_words(plan) == "target 4.4 mm, motor hand knob 6.0 mm wide (cautioned from 5 mm)"


@pytest.mark.parametrize("path, value", [("registration__intensity__bias_field_spread", True),
                                         ("registration__intensity__uneven_corrected", 1),
                                         ("entry__scalp_rise__patch_radius_mm", "12"),
                                         ("target__fluid__caution_from_mm", None)])
def test_a_malformed_block_gives_no_line_rather_than_a_wrong_one(path, value):
    plan = _plan_with_blocks(**{path: value})
    words = {"intensity": intensity_words(plan), "scalp_rise": scalp_rise_words(plan), "fluid": fluid_words(plan)}
    broken = {"registration": "intensity", "entry": "scalp_rise", "target": "fluid"}[path.split("__")[0]]
    assert words[broken] is None
    assert all(text is not None for name, text in words.items() if name != broken)


def test_every_caution_of_a_plan_is_listed_once_in_its_order_and_blank_ones_are_not():
    assert plan_cautions(_plan_with_blocks()) == [
        "head turned 50 degrees", "quality near its threshold", "fluid near the target", "fluid near the hand knob",
        "scalp rises at the entry", "scalp rises at the hand knob"]
    quiet = _plan_with_blocks(registration__quality__caution="", target__fluid__caution=None,
                              entry__scalp_rise__caution=7)
    assert plan_cautions(quiet) == ["head turned 50 degrees", "fluid near the hand knob", "scalp rises at the hand knob"]
    assert scalp_rise_cautions(quiet) == ["scalp rises at the hand knob"]


def test_text_in_the_report_is_escaped_for_attributes_too():
    assert esc('<a href="x">O\'Reardon & co</a>') == "&lt;a href=&quot;x&quot;&gt;O&#x27;Reardon &amp; co&lt;/a&gt;"
