"""What the user chooses (``--native``, ``--mni``, ``--coil-distance``, ``--handle-angle``)
planned end to end on Colin27, against the default plan of the same head: the given point is
the one planned, in the space it was given; a right-hemisphere coordinate is planned on the
right with the handle turned to the right; the coil sits at the given distance with its handle
turned by the given angle."""

from __future__ import annotations

import json

import numpy as np

from navsvc.cli import main
from navsvc.options import DEFAULT_COIL_DISTANCE_MM, DEFAULT_HANDLE_ANGLE_DEG, PlanOptions
from navsvc.pipeline import make_plan
from navsvc.target.strategies import get_strategy

#: the registration is deterministic (the repeatability test): the same head maps a point
#: to the same place to well within this, mm
SAME_MM = 0.1


def _plan(colin_head_path, folder, options: PlanOptions) -> dict:
    make_plan(colin_head_path, folder, options)
    return json.loads((folder / "plan.json").read_text())


def _distance_mm(a, b) -> float:
    return float(np.linalg.norm(np.subtract(a, b)))


def test_a_native_target_is_planned_where_it_was_given(tmp_path, colin_head_path, colin_plan):
    # the default plan's cortical target, given back as a native point
    given = colin_plan["target"]["cortex_ras_mm"]
    native_plan = _plan(colin_head_path, tmp_path / "native", PlanOptions(native_ras_mm=tuple(given)))
    target = native_plan["target"]
    assert target["strategy"] == "native" and "clinician" in target["citation"]
    assert native_plan["parameters"]["native_ras_mm"] == given and native_plan["parameters"]["strategy"] is None
    assert target["native_ras_mm"] == given
    # its MNI coordinate is the given point mapped by the registration: the default plan's cortex_mni_mm
    assert _distance_mm(target["mni_mm"], colin_plan["target"]["cortex_mni_mm"]) < SAME_MM
    assert target["hemisphere"] == "left" and target["in_grey_matter"]
    # the individualized target given back is its own individualized target (0.0 mm on Colin27)
    assert _distance_mm(target["cortex_ras_mm"], given) < 0.5
    assert _distance_mm(native_plan["entry"]["scalp_ras_mm"], colin_plan["entry"]["scalp_ras_mm"]) < 0.5


def test_an_mni_target_is_the_named_strategy_when_it_is_the_strategys_coordinate(tmp_path, colin_head_path,
                                                                                 colin_plan):
    fox2012_mm = tuple(float(v) for v in get_strategy("fox2012").mni_mm)
    plan = _plan(colin_head_path, tmp_path / "mni", PlanOptions(mni_mm=fox2012_mm))
    assert plan["target"]["strategy"] == "mni" and plan["target"]["mni_mm"] == list(fox2012_mm)
    for block, key in (("target", "native_ras_mm"), ("target", "cortex_ras_mm"), ("entry", "scalp_ras_mm")):
        assert _distance_mm(plan[block][key], colin_plan[block][key]) < SAME_MM, (block, key)
    assert np.allclose(plan["coil"]["matrix"], colin_plan["coil"]["matrix"], atol=1e-3)


def test_the_mirrored_coordinate_is_planned_on_the_right_with_the_handle_to_the_right(tmp_path, colin_head_path,
                                                                                      colin_plan):
    # Colin27 is stored in MNI-aligned RAS: right is +x in both spaces
    x, y, z = (float(v) for v in get_strategy("fox2012").mni_mm)
    plan = _plan(colin_head_path, tmp_path / "right", PlanOptions(mni_mm=(-x, y, z)))
    left, right = colin_plan, plan
    assert right["target"]["hemisphere"] == "right" and left["target"]["hemisphere"] == "left"
    for block, key in (("target", "native_ras_mm"), ("target", "cortex_ras_mm"), ("entry", "scalp_ras_mm")):
        assert left[block][key][0] < -20.0 < 20.0 < right[block][key][0], (block, key)
        # Colin27's hemispheres are near mirror images: the two points are too (3.9-4.3 mm apart)
        mirrored = np.multiply(right[block][key], [-1, 1, 1])
        assert _distance_mm(mirrored, left[block][key]) < 6.0, (block, key)
    # 45 degrees posterior and lateral: away from the midline on each side
    assert right["coil"]["handle_points"] == left["coil"]["handle_points"] == "posterior and lateral"
    assert left["coil"]["handle_direction_ras"][0] < -0.3 and right["coil"]["handle_direction_ras"][0] > 0.3
    assert left["coil"]["handle_direction_ras"][1] < -0.3 and right["coil"]["handle_direction_ras"][1] < -0.3


def _unit(vector) -> np.ndarray:
    return np.asarray(vector, float) / np.linalg.norm(vector)


def test_the_coil_distance_and_handle_angle_given_on_the_command_line_place_the_coil(tmp_path, colin_head_path,
                                                                                     colin_plan):
    assert main(["plan", str(colin_head_path), "--out", str(tmp_path / "out"),
                 "--coil-distance", "10", "--handle-angle", "90"]) == 0
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert (plan["parameters"]["coil_distance_mm"], plan["parameters"]["handle_angle_deg"]) == (10.0, 90.0)
    assert (plan["coil"]["distance_to_scalp_mm"], plan["coil"]["handle_angle_deg"]) == (10.0, 90.0)
    assert plan["coil"]["handle_points"] == "lateral"
    for block, key in (("target", "cortex_ras_mm"), ("entry", "scalp_ras_mm")):  # the coil options move only the coil
        assert _distance_mm(plan[block][key], colin_plan[block][key]) < SAME_MM, (block, key)
    for made, distance_mm in ((colin_plan, DEFAULT_COIL_DISTANCE_MM), (plan, 10.0)):
        matrix = np.array(made["coil"]["matrix"])
        # the centre lies outside the scalp along the coil's z axis (into the head), at the distance asked
        assert np.allclose(matrix[:3, 3], np.add(made["entry"]["scalp_ras_mm"], -distance_mm * matrix[:3, 2]),
                           atol=0.01)
    default_handle, handle = (_unit(made["coil"]["handle_direction_ras"]) for made in (colin_plan, plan))
    turned_deg = np.degrees(np.arccos(np.clip(default_handle @ handle, -1.0, 1.0)))
    assert abs(turned_deg - (90.0 - DEFAULT_HANDLE_ANGLE_DEG)) < 0.5
    # turned about the same coil normal, away from the midline: to the patient's left, -x
    assert np.allclose(np.array(plan["coil"]["matrix"])[:3, 2], np.array(colin_plan["coil"]["matrix"])[:3, 2],
                       atol=1e-3)
    assert handle[0] < default_handle[0] < 0.0
