"""A T1 whose field of view cuts off part of the head (Colin27 cropped, real pipeline).

Cut over the target's scalp: the plan is refused (no coil on scalp that is not in the
image). Cut over the vertex: the plan is made, but the dose suggestion, which needs the
hand knob's scalp-to-cortex distance, is withheld and the landmarks on the cut are
marked, in plan.json, the command's summary and the report.
"""

from __future__ import annotations

import json

import jsonschema
import nibabel as nib
import numpy as np
import pytest

from navsvc import templates
from navsvc.commands.plan import print_summary
from navsvc.course.dose import plan_mt_offset
from navsvc.dose import M1_NOT_IN_IMAGE, dose_summary
from navsvc.errors import InputError
from navsvc.pipeline import make_plan
from navsvc.plan_document import plan_schema
from navsvc.report.html import warnings
from navsvc.report.tables import coordinates_table


def _colin_cropped(folder, axis: int, keep_from_mm: float | None = None, keep_to_mm: float | None = None):
    """Colin27 with the voxels outside [keep_from_mm, keep_to_mm] along world ``axis`` dropped."""
    img = nib.load(str(templates.COLIN_HEAD))
    affine = img.affine
    assert np.allclose(affine[:3, :3], np.diag(np.diag(affine[:3, :3]))) and (np.diag(affine)[:3] > 0).all()
    index = lambda mm: int(round((mm - affine[axis, 3]) / affine[axis, axis]))  # noqa: E731
    lo = 0 if keep_from_mm is None else index(keep_from_mm)
    hi = img.shape[axis] if keep_to_mm is None else index(keep_to_mm) + 1
    cut = [slice(None)] * 3
    cut[axis] = slice(lo, hi)
    shift = np.eye(4)
    shift[axis, 3] = lo
    path = folder / "cropped.nii.gz"
    nib.save(nib.Nifti1Image(np.asanyarray(img.dataobj)[tuple(cut)], affine @ shift), str(path))
    return path


def test_a_head_cut_over_the_target_is_refused(tmp_path):
    path = _colin_cropped(tmp_path, axis=0, keep_from_mm=-48.0)  # the left scalp over the DLPFC is gone
    with pytest.raises(InputError, match="field of view cuts off part of the head"):
        make_plan(path, tmp_path / "out")
    assert not (tmp_path / "out" / "plan.json").exists()
    assert not list((tmp_path / "out").glob(".registration-*"))


@pytest.fixture(scope="module")
def vertex_cut_plan(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vertex_cut")
    path = _colin_cropped(folder, axis=2, keep_to_mm=70.0)  # the top of the head (hand knob's scalp) is gone
    return make_plan(path, folder / "out")


def test_a_head_cut_over_the_vertex_gets_a_plan_without_a_dose_suggestion(vertex_cut_plan):
    plan = vertex_cut_plan
    jsonschema.validate(plan, plan_schema())
    assert plan["input"]["field_of_view_cuts_scalp"] is True
    assert plan["target"]["in_grey_matter"] and plan["target"]["hemisphere"] == "left"
    assert plan["dose"]["mt_offset_pct_mso"] is None and plan["dose"]["scalp_to_cortex_m1_mm"] is None
    assert plan["dose"]["unavailable_reason"] == M1_NOT_IN_IMAGE
    assert plan_mt_offset(plan) is None, "the course must not apply a depth adjustment"
    points = plan["landmarks"]["points"]
    for name in ("cz", "m1_hand_knob", "five_cm", "beam_f3"):
        assert points[name]["scalp_in_image"] is False, name
    for name in ("f3", "nasion", "inion", "rpa"):
        assert points[name]["scalp_in_image"] is True, name


def test_the_cut_is_said_in_the_summary_and_the_report(vertex_cut_plan, tmp_path, capsys):
    print_summary(vertex_cut_plan, tmp_path)
    printed = capsys.readouterr().out
    assert "no depth adjustment" in printed and "MT offset" not in printed
    assert "not reliable here:" in printed and "m1_hand_knob" in printed
    found = warnings(vertex_cut_plan)
    assert any("field of view cuts off part of the head" in w for w in found)
    assert any(w.startswith("No dose suggestion:") for w in found)
    assert "NOT RELIABLE" in coordinates_table(vertex_cut_plan)


def test_the_whole_head_keeps_its_dose_suggestion(colin_plan):
    assert colin_plan["dose"]["mt_offset_pct_mso"] is not None
    assert "unavailable_reason" not in colin_plan["dose"]
    points = colin_plan["landmarks"]["points"]
    assert points["m1_hand_knob"]["scalp_in_image"] and points["cz"]["scalp_in_image"]
    # Colin27's image (the MNI box) ends at y = +90 mm, on the forehead where Fpz lies
    assert points["fpz"]["scalp_in_image"] is False


@pytest.mark.parametrize("target_mm, m1_mm, where", [(1.25, 18.75, "target"), (18.5, 40.0, "motor hand knob"),
                                                     (36.0, 18.0, "target")])
def test_no_dose_suggestion_from_an_implausible_depth(target_mm, m1_mm, where):
    # fitzgerald2009 once put its target in Colin27's scalp: 1.25 mm deep, offset -49 %MSO
    block = dose_summary(target_mm, m1_mm)
    assert block["mt_offset_pct_mso"] is None
    assert f"measured at the {where}" in block["unavailable_reason"]
    assert block["scalp_to_cortex_m1_mm"] == m1_mm, "the measurements themselves are still reported"


@pytest.mark.parametrize("target_mm, m1_mm, word", [(31.0, 12.0, "deeper"), (9.0, 30.0, "shallower")])
def test_no_dose_suggestion_from_a_depth_difference_beyond_ten_mm(target_mm, m1_mm, word):
    # each depth is plausible on its own; together they would suggest +53 / -59 %MSO
    block = dose_summary(target_mm, m1_mm)
    assert block["mt_offset_pct_mso"] is None
    assert f"mm {word} than the motor hand knob" in block["unavailable_reason"]
    assert block["scalp_to_cortex_target_mm"] == target_mm and block["scalp_to_cortex_m1_mm"] == m1_mm


@pytest.mark.parametrize("target_mm, m1_mm", [(25.0, 15.0), (15.0, 25.0)])
def test_a_ten_mm_depth_difference_still_gets_a_suggestion(target_mm, m1_mm):
    assert dose_summary(target_mm, m1_mm)["mt_offset_pct_mso"] == pytest.approx(2.8 * (target_mm - m1_mm))


def test_dose_summary_without_the_hand_knob_distance():
    block = dose_summary(18.5, None)
    assert block["mt_offset_pct_mso"] is None and block["unavailable_reason"] == M1_NOT_IN_IMAGE
    assert json.loads(json.dumps(block)) == block
    assert dose_summary(18.5, 17.5)["mt_offset_pct_mso"] == pytest.approx(2.8)
