"""The QC report's page (navsvc.report.html), fast: what it says of a plan built by
:func:`navsvc.plan_document.build_plan` from made-up stage results, without drawing figures.

A clinician reads the warnings at the top and the summary first: each warning is checked
word for word, and each summary value against the plan field it shows.
"""

from __future__ import annotations

import base64
import html
import re

import pytest

from navsvc.plan_document import build_plan
from navsvc.report.html import png_img, render_page, warnings
from navsvc.report.values import fluid_words, scalp_rise_words
from navsvc.target.strategies import STRATEGIES
from navsvc.testing.plan_inputs import plan_inputs, with_value

QUALITY = ("Pearson correlation of the registered T1 with the template inside the template brain eroded by 6 mm"
           " = 0.812 (threshold 0.500)")
FLUID_AT_TARGET = ("Fluid fills a ball 7.3 mm wide within 10 mm of the mapped target, where a brain has grey or "
                   "white matter")


@pytest.fixture(scope="module")
def plan() -> dict:
    """A plan as the pipeline writes it (with its timings): fluid near the target, oz's scalp
    not in the image."""
    made = build_plan(**plan_inputs()) | {"timing_s": {"load": 0.52, "registration": 5.61, "total": 8.25}}
    made["registration"]["seconds"] = 5.96  # as the pipeline records it; distinct from the timing here
    return made


def _summary(page: str) -> dict[str, str]:
    return {html.unescape(k): html.unescape(v)
            for k, v in re.findall(r"<div><b>(.*?)</b><span>(.*?)</span></div>", page)}


def _rows(page: str) -> dict[str, str]:
    return {html.unescape(k): html.unescape(v) for k, v in re.findall(r"<tr><th>(.*?)</th><td>(.*?)</td></tr>", page)}


def test_the_plans_warnings_are_its_cautions_its_scalp_points_out_of_the_image_and_no_dose(plan):
    found = warnings(plan)
    assert len(found) == 4
    assert found[0].startswith(FLUID_AT_TARGET) and found[0].endswith(".")
    rise = plan["entry"]["scalp_rise"]["caution"]
    assert found[1] == f"{rise[0].upper()}{rise[1:]}." and rise.startswith("the scalp rises 2.5 mm")
    assert found[2] == ("Part of the head (the face: defaced, or masked) was removed from the image. These scalp "
                        "points are not reliable and are marked in the table: Oz.")
    assert found[3] == f"No dose suggestion: {plan['dose']['unavailable_reason']}."


def test_each_warning_is_shown_at_the_top_of_the_page_before_the_summary(plan):
    page = render_page(plan, {})
    shown = [html.unescape(w) for w in re.findall(r"<div class='warn'>⚠ (.*?)</div>", page)]
    assert shown == warnings(plan)
    assert page.index("<div class='warn'>") > page.index("<main>")
    assert page.rindex("<div class='warn'>") < page.index("<h2>Summary</h2>")


def test_a_plan_without_cautions_has_no_warnings(plan):
    clean = with_value(plan, "target", "fluid", "caution", None)
    clean = with_value(clean, "entry", "scalp_rise", "caution", None)
    clean = with_value(clean, "dose", "unavailable_reason", ...)
    clean["landmarks"]["points"]["oz"]["scalp_in_image"] = True
    assert warnings(clean) == []
    assert "class='warn'" not in render_page(clean, {})


@pytest.mark.parametrize("mni_x_mm, shown", [(39.5, "39.5"), (0.0, "0.0")])
def test_a_target_not_on_the_left_is_the_first_warning(plan, mni_x_mm, shown):
    right = with_value(plan, "target", "cortex_mni_mm", [mni_x_mm, 45.0, 25.0])
    assert warnings(right)[0] == (f"The target is NOT in the patient's left hemisphere (MNI x = {shown} mm, not < 0). "
                                  "Left-DLPFC plans must have x < 0. Do not use this plan without review.")
    # without the cortical point's MNI coordinate, the strategy's coordinate tells the side
    only_strategy = with_value(with_value(right, "target", "cortex_mni_mm", ...),
                               "target", "mni_mm", [38.0, 44.0, 26.0])
    assert warnings(only_strategy)[0].startswith("The target is NOT in the patient's left hemisphere (MNI x = 38.0")
    assert not warnings(with_value(right, "target", "cortex_mni_mm", [-0.5, 45.0, 25.0]))[0].startswith("The target is")


@pytest.mark.parametrize("in_grey_matter, warned", [(False, True), (True, False), (None, False)])
def test_a_target_out_of_grey_matter_is_warned(plan, in_grey_matter, warned):
    found = warnings(with_value(plan, "target", "in_grey_matter", in_grey_matter))
    assert ("The cortical target is not in grey matter." in found) is warned


def test_the_scalp_points_out_of_the_image_are_named_and_the_cause_given(plan):
    points = plan["landmarks"]["points"]
    cut = with_value(plan, "input", "field_of_view_cuts_scalp", True)
    cut = with_value(cut, "input", "scalp_removed", False)
    for name in ("cz", "beam_f3"):
        points_changed = cut["landmarks"]["points"]
        points_changed[name] = {**points[name], "scalp_in_image": False}
    found = [w for w in warnings(cut) if "not reliable" in w]
    assert found == ["The image's field of view cuts off part of the head. These scalp points are not reliable and "
                     "are marked in the table: Beam F3 site, Cz, Oz."]


def test_the_registration_quality_says_passed(plan):
    page = render_page(plan, {})
    assert _summary(page)["Registration quality"] == f"{QUALITY} <span class='ok'>passed</span>"
    assert _rows(page)["Registration quality"] == f"{QUALITY} <span class='ok'>passed</span>"
    assert f"Quality: {QUALITY} <span class='ok'>passed</span>." in html.unescape(page)


@pytest.mark.parametrize("stored, status", [
    ({"passed": False}, " <span class='bad'>BELOW THRESHOLD</span>"),
    # a plan without "passed" (made before it was written): a correlation at its threshold passes
    ({"passed": ..., "value": 0.5}, " <span class='ok'>passed</span>"),
    ({"passed": ..., "value": 0.4999}, " <span class='bad'>BELOW THRESHOLD</span>"),
    ({"passed": ..., "measure": "Dice coefficient"}, " <span class='ok'>passed</span>"),
    ({"passed": ..., "measure": "label overlap"}, " <span class='ok'>passed</span>"),
    ({"passed": ..., "measure": "mutual information"}, ""),  # lower or higher better: unknown
    ({"passed": ..., "value": "n/a"}, ""),
    ({"passed": "yes"}, " <span class='ok'>passed</span>"),  # not a boolean: judged from the value
])
def test_the_registration_quality_status_is_the_plans_or_judged_from_its_value(plan, stored, status):
    changed = plan
    for key, value in stored.items():
        changed = with_value(changed, "registration", "quality", key, value)
    quality = changed["registration"]["quality"]
    shown_value = "—" if quality["value"] == "n/a" else f"{float(quality['value']):.3f}"
    expected = f"{quality['measure']} = {shown_value} (threshold 0.500){status}"
    assert _summary(render_page(changed, {}))["Registration quality"] == expected
    below = "Registration quality is below its threshold: check the registration figure."
    assert (below in warnings(changed)) is ("BELOW" in status)


def test_the_summary_shows_the_plans_values(plan):
    summary = _summary(render_page(plan, {}))
    target, entry = plan["target"], plan["entry"]
    vector = "({:.1f}, {:.1f}, {:.1f})".format
    assert summary["Strategy"] == "ba9"
    assert summary["Cortical target, native RAS"] == vector(*target["cortex_ras_mm"])
    assert summary["Cortical target, MNI"] == vector(*target["cortex_mni_mm"])
    assert summary["Scalp-to-cortex distance"] == "15.7 mm"
    assert summary["Scalp entry point, native RAS"] == vector(*entry["scalp_ras_mm"])
    assert summary["Target in grey matter"] == "yes"
    assert summary["Dose suggestion (Stokes)"] == "—"  # fluid near the target: no suggestion
    with_dose = with_value(plan, "dose", "mt_offset_pct_mso", -4.24)
    assert _summary(render_page(with_dose, {}))["Dose suggestion (Stokes)"] == "MT − 4.2 %MSO"
    assert _summary(render_page(with_value(plan, "target", "in_grey_matter", False), {}))["Target in grey matter"] == "NO"


def test_the_provenance_parameters_and_timings_are_the_plans(plan):
    rows = _rows(render_page(plan, {}))
    assert (rows["Plan id"], rows["Created"]) == (plan["plan_id"], plan["created_at"])
    assert rows["Input SHA-256"] == f"<code>{'ab' * 32}</code>"
    assert (rows["Input shape (voxels)"], rows["Input voxel size (mm)"]) == ("4, 5, 6", "1.2, 1.2, 1.5")
    assert rows["Input orientation (voxel axes)"] == "L, I, A"
    assert (rows["Input noise (% of brain signal)"], rows["Input ghosting (% of brain signal)"]) == ("1.3", "—")
    assert rows["Head registration started from"] == "centres of mass"
    assert rows["Strategy MNI coordinate"] == "(-36.0, 39.0, 43.0)"
    assert (rows["coil_distance_mm"], rows["handle_angle_deg"], rows["strategy"]) == ("6.5", "-30", "ba9")
    assert (rows["load"], rows["registration"], rows["total"]) == ("0.5 s", "5.6 s", "8.2 s")
    assert rows["Registration template"] == plan["registration"]["template"]
    assert rows["Registration time"] == "6.0 s"
    assert (rows["Target strategy"], rows["Strategy source"]) == ("ba9", STRATEGIES["ba9"].citation)
    assert rows["Scalp rise above its smooth shape"] == scalp_rise_words(plan) and "2.5 mm" in scalp_rise_words(plan)
    assert rows["Fluid where the brain should be"] == fluid_words(plan) and "7.3 mm" in fluid_words(plan)
    ghosting = with_value(plan, "input", "ghosting_pct_of_brain", 4.04)
    assert _rows(render_page(ghosting, {}))["Input ghosting (% of brain signal)"] == "4.0"


def test_the_title_and_header_name_the_plan(plan):
    page = html.unescape(render_page(plan, {}))
    assert f"<title>rTMS targeting QC report — {plan['plan_id']}</title>" in page
    assert (f"<p>Plan {plan['plan_id']} · created {plan['created_at']} ·\nnavsvc {plan['navsvc_version']} · "
            "strategy ba9</p>") in page


def test_a_figure_is_embedded_whole_and_a_missing_one_is_said_missing():
    png = b"\x89PNG\r\n\x1a\n made-up bytes"
    embedded = png_img(png, 'T1 "slices" <axial>')
    assert embedded.startswith('<img alt="T1 &quot;slices&quot; &lt;axial&gt;" src="data:image/png;base64,')
    assert base64.b64decode(re.search(r"base64,([^\"]+)\"", embedded).group(1)) == png
    for missing in (None, b""):
        assert png_img(missing, "Scalp <3-D>") == '<p class="warn">Scalp &lt;3-D&gt;: not drawn (missing input).</p>'


def test_the_page_shows_each_figure_in_its_section(plan):
    figures = {"slices": b"slices-png", "scalp": b"scalp-png", "registration": b"registration-png"}
    page = render_page(plan, figures)
    sections = page.split("<h2>")
    for number, name in ((1, "slices"), (3, "scalp"), (4, "registration")):
        encoded = base64.b64encode(figures[name]).decode()
        assert [i for i, section in enumerate(sections) if encoded in section] == [number + 1], name
    assert page.count("not drawn (missing input)") == 0
    assert render_page(plan, {"slices": b"slices-png"}).count("not drawn (missing input)") == 2


def test_every_landmark_is_shown_by_its_name(plan):
    page = render_page(plan, {})
    labels = [html.unescape(label) for label in re.findall(r"<tr><th>([^<]*)</th><td class='num'>", page)]
    for shown in ("Nasion", "Left pre-auricular point (LPA)", "F3 (10-20, virtual)", "Beam F3 site", "5-cm-rule site",
                  "M1 hand knob, cortex", "Fz", "Cz", "Oz (NOT RELIABLE: the scalp here is not in the image)"):
        assert shown in labels, shown
    assert not set(labels) & set(plan["landmarks"]["points"])  # no key shown as it is stored ("oz")
