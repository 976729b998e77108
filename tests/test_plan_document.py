"""plan.json's builder, fast: each field is the value of its own input.

Every input (:mod:`navsvc.testing.plan_inputs`) holds values no other input holds, so a field
read from the wrong input (the along-normal entry for the entry, the target's scalp rise for
the hand knob's) or rounded to other decimals fails. The end-to-end Colin27 tests check the values are right
for a real head; these check which value goes where.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import jsonschema
import numpy as np
import pytest

from navsvc.anatomy.field_of_view import ScalpCut
from navsvc.anatomy.scalp_rise import ScalpRise
from navsvc.landmarks.placement import LandmarkSet
from navsvc.options import PlanOptions
from navsvc.plan_document import SCHEMA_VERSION, build_plan, plan_json, plan_schema
from navsvc.target.individualize import RULE, CorticalTarget
from navsvc.target.results import M1Site, TargetResult
from navsvc.target.strategies import M1_HAND_KNOB_MNI_MM, STRATEGIES
from navsvc.testing.plan_inputs import MNI_SHIFT_MM, TEN_05, plan_inputs, voxel_to_ras_affine
from navsvc.testing.schema_keys import written_and_documented_keys


def _mm(values) -> list[float]:
    return [round(float(v), 3) for v in values]


def test_the_document_matches_its_schema_and_is_strict_json():
    plan = build_plan(**plan_inputs())
    jsonschema.validate({**plan, "timing_s": {"total": 1.0}}, plan_schema())
    assert json.loads(plan_json(plan)) == json.loads(json.dumps(plan))
    assert plan["schema_version"] == SCHEMA_VERSION
    assert build_plan(**plan_inputs())["plan_id"] != plan["plan_id"]


@pytest.mark.parametrize("dose_available", [True, False])
def test_every_key_written_is_documented_and_every_key_documented_is_written(dose_available):
    """An integrator reads the schema's keys: a key renamed in the code, or in the schema,
    fails here (the schema leaves most keys optional, so validating does not see it)."""
    inputs = plan_inputs()
    if dose_available:  # no fluid near the target (the hand knob has none)
        inputs["target"] = TargetResult(**{**vars(inputs["target"]), "fluid_widest_mm": 1.0})
    plan = build_plan(**inputs)
    assert ("unavailable_reason" not in plan["dose"]) is dose_available
    written, documented = written_and_documented_keys(plan, plan_schema(), "plan")
    assert written - documented == set()
    added_by_the_pipeline = {"plan.timing_s", "plan.files"}
    only_when_unavailable = {"plan.dose.unavailable_reason"}
    assert documented - written == added_by_the_pipeline | (only_when_unavailable if dose_available else set())


def test_the_input_block_describes_the_image_as_stored():
    block = build_plan(**plan_inputs())["input"]
    assert block["sha256"] == "ab" * 32 and block["format"] == "dicom" and block["world_space"] == "scanner"
    assert block["shape"] == [4, 5, 6]
    assert block["voxel_size_mm"] == [1.2, 1.2, 1.5]
    assert block["orientation"] == ["L", "I", "A"]
    assert np.allclose(block["affine"], voxel_to_ras_affine(), atol=1e-12)
    assert (block["field_of_view_cuts_scalp"], block["scalp_removed"]) == (False, True)
    assert (block["noise_pct_of_brain"], block["ghosting_pct_of_brain"]) == (1.3, None)
    cut_by_edge = build_plan(**plan_inputs(cut=ScalpCut(np.ones((3, 3))), noise_pct_of_brain=None,
                                       ghosting_pct_of_brain=4.04))["input"]
    assert (cut_by_edge["field_of_view_cuts_scalp"], cut_by_edge["scalp_removed"]) == (True, False)
    assert (cut_by_edge["noise_pct_of_brain"], cut_by_edge["ghosting_pct_of_brain"]) == (None, 4.0)


def test_the_registration_block_reports_its_measures_and_files():
    block = build_plan(**plan_inputs())["registration"]
    assert block["quality"]["value"] == 0.8123 and block["quality"]["passed"] is True
    assert block["head_orientation"]["turn_from_upright_deg"] == 13.7
    assert block["head_start"] == "centres of mass"
    assert block["intensity"]["bias_field_spread"] == 1.235 and block["intensity"]["uneven_corrected"] is True
    assert block["transforms"] == {"native_to_mni_warp": "native_to_mni_1Warp.nii.gz"}
    assert block["seconds"] is None  # the pipeline writes it when the stage has ended


def test_the_target_block_holds_each_point_in_its_own_space():
    inputs = plan_inputs()
    cortex_ras_mm = inputs["target"].cortex.cortex_ras_mm
    block = build_plan(**inputs)["target"]
    assert block["strategy"] == "ba9" and block["citation"] == STRATEGIES["ba9"].citation
    assert block["mni_mm"] == [-36.0, 39.0, 43.0]
    assert block["native_ras_mm"] == _mm(inputs["target"].native_ras_mm)
    assert block["cortex_ras_mm"] == _mm(cortex_ras_mm)
    assert block["cortex_lps_mm"] == _mm(cortex_ras_mm * [-1, -1, 1])
    assert block["cortex_mni_mm"] == _mm(cortex_ras_mm + MNI_SHIFT_MM)
    assert block["cortex_voxel_ijk"] == [40, 50, 60]
    assert block["hemisphere"] == "left"
    assert (block["in_grey_matter"], block["grey_matter_probability"]) == (True, 0.988)
    assert block["individualization"] == {"rule": RULE, "method": "scalp_ray", "shift_mm": 3.81}
    assert block["fluid"]["widest_mm"] == 7.3
    assert block["fluid"]["caution"].startswith("fluid fills a ball 7.3 mm wide within 10 mm of the mapped target, ")


@pytest.mark.parametrize("probability, in_grey_matter", [(0.5, False), (0.5001, True)])
def test_the_target_is_in_grey_matter_above_a_probability_of_one_half(probability, in_grey_matter):
    inputs = plan_inputs()
    target = inputs["target"]
    cortex = CorticalTarget(target.cortex.cortex_ras_mm, target.cortex.method, target.cortex.shift_mm, probability)
    plan = build_plan(**{**inputs, "target": TargetResult(**{**vars(target), "cortex": cortex})})
    assert plan["target"]["in_grey_matter"] is in_grey_matter


def test_the_hemisphere_is_the_cortical_targets_side_in_mni_space():
    inputs = plan_inputs()
    moved = SimpleNamespace(**{**vars(inputs["registration"]),
                               "native_to_mni": lambda p: np.atleast_2d(p) * [-1, 1, 1]})
    assert build_plan(**{**inputs, "registration": moved})["target"]["hemisphere"] == "right"


@pytest.mark.parametrize("options, strategy, citation", [
    (PlanOptions(native_ras_mm=(-30.0, 20.0, 50.0)), "native", "coordinate chosen by the clinician in native space"),
    (PlanOptions(mni_mm=(-40.0, 30.0, 40.0)), "mni", "coordinate given by the user in ICBM 2009a MNI space"),
    (PlanOptions(), "fox2012", STRATEGIES["fox2012"].citation),
])
def test_the_strategy_says_what_chose_the_target(options, strategy, citation):
    plan = build_plan(**plan_inputs(options=options))
    assert (plan["target"]["strategy"], plan["target"]["citation"]) == (strategy, citation)
    assert plan["parameters"] == options.to_dict()


def test_the_entry_block_is_the_entry_and_not_the_along_normal_point():
    inputs = plan_inputs()
    target = inputs["target"]
    block = build_plan(**inputs)["entry"]
    assert block["scalp_ras_mm"] == _mm(target.entry_ras_mm)
    assert block["scalp_to_cortex_mm"] == 15.68
    assert block["scalp_to_target_mm"] == round(float(np.linalg.norm([-9.0, 6.0, 12.0])), 2) == 16.16
    assert block["inward_normal_ras"] == [0.6, 0.0, -0.8]
    assert block["scalp_to_brain_mask_mm"] == 18.7
    assert block["along_normal"]["scalp_ras_mm"] == _mm(target.along_normal_entry_ras_mm)
    assert np.allclose(block["along_normal"]["coil_matrix"], target.along_normal_coil, atol=1e-12)
    rise = block["scalp_rise"]
    assert rise["rise_mm"] == 2.46 and rise["peak_ras_mm"] == [-50.123, 30.5, 80.26]
    assert rise["caution"].startswith("the scalp rises 2.5 mm above its smooth shape within 15 mm of the entry "
                                      "point, most at (-50.1, 30.5, 80.3) mm RAS: ")
    assert (". The entry point, the coil's position and tilt and the scalp-to-cortex depth are measured on the "
            "scalp as imaged, on top of it. Look at the T1 there") in rise["caution"]


def test_a_scalp_rise_below_the_caution_has_no_place_and_an_unmeasured_one_no_height():
    inputs = plan_inputs()
    for rise, height in ((ScalpRise(1.9, np.array([1.0, 2.0, 3.0])), 1.9), (ScalpRise(None, None), None)):
        target = TargetResult(**{**vars(inputs["target"]), "scalp_rise": rise})
        block = build_plan(**{**inputs, "target": target})["entry"]["scalp_rise"]
        assert (block["rise_mm"], block["peak_ras_mm"], block["caution"]) == (height, None, None)


def test_the_coil_block_is_the_pose_and_the_options_it_was_built_with():
    inputs = plan_inputs()
    coil = inputs["target"].coil
    block = build_plan(**inputs)["coil"]
    assert np.allclose(block["matrix"], coil, atol=1e-12)
    assert block["centre_ras_mm"] == _mm(coil[:3, 3])
    assert block["handle_direction_ras"] == _mm(-coil[:3, 1]) == [-0.0, -1.0, -0.0]
    assert (block["distance_to_scalp_mm"], block["handle_angle_deg"]) == (6.5, -30.0)
    assert block["handle_points"] == "posterior and medial"
    # the axis from the centre: along z = (sin 20°, 0, cos 20°) from (-12, 7, 16) mm off the target
    z_axis = np.array([np.sin(np.deg2rad(20.0)), 0.0, np.cos(np.deg2rad(20.0))])
    off = np.array([12.0, -7.0, -16.0])
    assert block["axis_to_target_mm"] == round(float(np.linalg.norm(off - (off @ z_axis) * z_axis)), 2)


def test_the_landmarks_block_keeps_each_point_and_its_distance_from_the_entry():
    inputs = plan_inputs()
    entry = inputs["target"].entry_ras_mm
    block = build_plan(**inputs)["landmarks"]
    points = block["points"]
    assert set(points) == {*TEN_05, "beam_f3", "five_cm", "m1_hand_knob"}
    for name in TEN_05:
        assert points[name]["ras_mm"] == _mm(inputs["landmarks"].points_ras_mm[name])
    assert points["beam_f3"]["ras_mm"] == [-35.5, 40.5, 70.5]
    assert points["five_cm"]["ras_mm"] == [-40.0, 10.0, 95.0]
    assert {name for name, point in points.items() if not point["scalp_in_image"]} == {"oz"}
    expected = {name: round(float(np.linalg.norm(np.asarray(points[name]["ras_mm"]) - entry)), 1)
                for name in ("f3", "beam_f3", "five_cm", "fpz", "cz")}
    assert block["distances_mm"] == expected
    assert len(set(expected.values())) == 5
    assert block["beam_measurements_mm"] == {"tragus_tragus": 396.1, "nasion_inion": 388.4,
                                             "head_circumference": 614.0, "x_from_fpz": 70.8, "y_from_cz": 103.4}


def test_the_hand_knob_reports_its_own_scalp_cortex_rise_and_fluid():
    knob = build_plan(**plan_inputs())["landmarks"]["points"]["m1_hand_knob"]
    assert knob["ras_mm"] == [-46.884, -49.291, 103.805]
    assert knob["cortex_ras_mm"] == [-36.5, -20.25, 60.125]
    assert knob["mni_mm"] == list(M1_HAND_KNOB_MNI_MM)
    assert knob["scalp_rise"]["rise_mm"] == 0.35 and knob["scalp_rise"]["caution"] is None
    assert knob["fluid"]["widest_mm"] == 1.0 and knob["fluid"]["caution"] is None
    assert knob["scalp_in_image"] is True


def test_the_dose_uses_the_hand_knobs_depth_only_when_its_scalp_is_in_the_image():
    inputs = plan_inputs()
    target = TargetResult(**{**vars(inputs["target"]), "fluid_widest_mm": 5.9})
    dose = build_plan(**{**inputs, "target": target})["dose"]
    assert (dose["scalp_to_cortex_target_mm"], dose["scalp_to_cortex_m1_mm"]) == (15.68, 17.19)
    assert dose["mt_offset_pct_mso"] == round(2.8 * (15.6789 - 17.1944), 2) == -4.24
    landmarks = inputs["landmarks"]
    outside = LandmarkSet(landmarks.points_ras_mm, landmarks.beam, landmarks.five_cm_ras_mm,
                          {**landmarks.scalp_in_image, "m1_hand_knob": False})
    dose = build_plan(**{**inputs, "target": target, "landmarks": outside})["dose"]
    assert (dose["scalp_to_cortex_m1_mm"], dose["mt_offset_pct_mso"]) == (None, None)
    assert "hand knob" in dose["unavailable_reason"]


@pytest.mark.parametrize("target_fluid_mm, knob_fluid_mm, sites", [
    (7.26, 1.04, "the target"), (1.0, 6.0, "the motor hand knob"), (6.0, 9.0, "the target and the motor hand knob"),
])
def test_fluid_near_a_site_withholds_the_dose_and_names_the_site(target_fluid_mm, knob_fluid_mm, sites):
    inputs = plan_inputs()
    target = TargetResult(**{**vars(inputs["target"]), "fluid_widest_mm": target_fluid_mm})
    m1 = M1Site(**{**vars(inputs["m1"]), "fluid_widest_mm": knob_fluid_mm})
    dose = build_plan(**{**inputs, "target": target, "m1": m1})["dose"]
    assert dose["mt_offset_pct_mso"] is None and dose["scalp_to_cortex_m1_mm"] == 17.19
    assert sites in dose["unavailable_reason"]


def test_the_hand_knobs_cautions_name_the_hand_knob():
    inputs = plan_inputs()
    m1 = M1Site(**{**vars(inputs["m1"]), "scalp_rise": ScalpRise(2.2, np.array([-47.0, -49.0, 104.0])),
                   "fluid_widest_mm": 6.04})
    knob = build_plan(**{**inputs, "m1": m1})["landmarks"]["points"]["m1_hand_knob"]
    assert knob["scalp_rise"]["caution"].startswith(
        "the scalp rises 2.2 mm above its smooth shape within 15 mm of the motor hand knob's scalp point, most at "
        "(-47.0, -49.0, 104.0) mm RAS: ")
    assert (". The scalp-to-cortex depth there, and with it the dose suggestion, is measured on the scalp as "
            "imaged, on top of it. Look at the T1 there") in knob["scalp_rise"]["caution"]
    assert knob["scalp_rise"]["peak_ras_mm"] == [-47.0, -49.0, 104.0]
    assert knob["fluid"]["caution"].startswith(
        "fluid fills a ball 6.0 mm wide within 10 mm of the mapped motor hand knob, ")
