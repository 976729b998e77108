"""Fluid where the brain should be, near a target: measured on tissue models whose geometry
is known, and carried into the plan's caution and its dose block."""

from __future__ import annotations

import numpy as np
import pytest

from navsvc.anatomy.tissue import LocalTissue
from navsvc.dose import dose_summary
from navsvc.errors import InputError
from navsvc.grid import WorkingImage
from navsvc.report.values import fluid_words, plan_cautions
from navsvc.target.fluid import (WIDEST_CAUTION_MM, fluid_caution, require_cortex_outside_fluid,
                                 require_no_fluid_instead_of_cortex, widest_fluid_mm)

SHAPE = (41, 41, 41)
ORIGIN_RAS_MM = np.array([-60.0, 20.0, 10.0])  # 1 mm voxels: the box's centre is (-40, 40, 30)
CENTRE_RAS_MM = ORIGIN_RAS_MM + 20.0


def _tissue(fluid: np.ndarray, template_brain: float | np.ndarray = 1.0) -> LocalTissue:
    """A box of grey matter whose ``fluid`` voxels are CSF."""
    csf = fluid.astype(np.float32)
    posterior = np.stack([csf, 1.0 - csf, np.zeros_like(csf)])
    grid = WorkingImage(np.zeros(SHAPE, np.float32), ORIGIN_RAS_MM, 1.0)
    return LocalTissue(grid, posterior, np.broadcast_to(np.float32(template_brain), SHAPE).copy(), fluid.copy())


def _distance_to(point_ras_mm) -> np.ndarray:
    ras = ORIGIN_RAS_MM + np.indices(SHAPE).transpose(1, 2, 3, 0)
    return np.linalg.norm(ras - np.asarray(point_ras_mm, float), axis=-1)


@pytest.mark.parametrize("diameter_mm", [6.0, 10.0, 16.0])
def test_a_ball_of_fluid_reads_its_diameter(diameter_mm):
    tissue = _tissue(_distance_to(CENTRE_RAS_MM) <= diameter_mm / 2)
    # voxel centres 1 mm apart: the distance to the nearest voxel outside lies within a voxel of the radius
    assert widest_fluid_mm(tissue, CENTRE_RAS_MM, 10.0) == pytest.approx(diameter_mm, abs=2.0)


def test_a_sulcus_of_fluid_reads_its_width_not_its_extent():
    sheet = (np.abs(np.arange(SHAPE[0]) - 20) <= 1)[:, None, None] & np.ones(SHAPE, bool)  # 3 mm thick, 41 wide
    tissue = _tissue(sheet)
    assert widest_fluid_mm(tissue, CENTRE_RAS_MM, 10.0) <= 4.0 < WIDEST_CAUTION_MM


def test_fluid_where_the_template_has_none_is_not_counted():
    # ventricles and the space round the brain are fluid in the template too
    ball = _distance_to(CENTRE_RAS_MM) <= 8.0
    assert widest_fluid_mm(_tissue(ball, template_brain=0.0), CENTRE_RAS_MM, 10.0) == 0.0
    template_brain = np.where(_distance_to(CENTRE_RAS_MM) <= 8.0, 0.2, 1.0)
    assert widest_fluid_mm(_tissue(ball, template_brain), CENTRE_RAS_MM, 10.0) == 0.0


def test_only_balls_centred_within_reach_count():
    away_ras_mm = CENTRE_RAS_MM + [0.0, 0.0, 16.0]
    tissue = _tissue(_distance_to(away_ras_mm) <= 5.0)
    # its nearest voxels within 10 mm of the centre lie 1 mm inside its edge
    assert widest_fluid_mm(tissue, CENTRE_RAS_MM, 10.0) < WIDEST_CAUTION_MM
    assert widest_fluid_mm(tissue, CENTRE_RAS_MM, 16.0) == pytest.approx(10.0, abs=2.0)


def test_no_fluid_reads_zero():
    assert widest_fluid_mm(_tissue(np.zeros(SHAPE, bool)), CENTRE_RAS_MM, 10.0) == 0.0


def test_the_caution_starts_at_its_limit_and_says_what_to_do():
    assert fluid_caution(WIDEST_CAUTION_MM - 0.1, "target", 10.0) is None
    text = fluid_caution(WIDEST_CAUTION_MM, "target", 10.0)
    assert text.startswith("fluid fills a ball 6.0 mm wide within 10 mm of the mapped target, where a brain has")
    assert "lesion" in text and "no depth adjustment" in text and "--native" in text
    assert "of the mapped motor hand knob" in fluid_caution(9.0, "motor hand knob", 15.0)


def test_fluid_near_a_site_withholds_the_dose_suggestion():
    block = dose_summary(18.0, 17.0, fluid_near_sites=["target"])
    assert block["mt_offset_pct_mso"] is None
    assert "fluid where the brain should be lies near the target" in block["unavailable_reason"]
    both = dose_summary(18.0, 17.0, fluid_near_sites=["target", "motor hand knob"])["unavailable_reason"]
    assert "near the target and the motor hand knob" in both
    assert dose_summary(18.0, 17.0, fluid_near_sites=[])["mt_offset_pct_mso"] == pytest.approx(2.8)


def test_the_plans_cautions_and_words_include_the_fluid():
    caution = fluid_caution(9.0, "target", 10.0)
    plan = {"target": {"fluid": {"widest_mm": 9.0, "within_mm": 10.0, "caution_from_mm": 6.0, "caution": caution}},
            "landmarks": {"points": {"m1_hand_knob": {"fluid": {"widest_mm": 2.0, "within_mm": 15.0,
                                                                "caution_from_mm": 6.0, "caution": None}}}}}
    assert plan_cautions(plan) == [caution]
    assert fluid_words(plan) == "target 9.0 mm, motor hand knob 2.0 mm wide (cautioned from 6 mm)"
    assert fluid_words({"target": {}}) is None  # a plan made before schema 1.12.0


def test_a_cavity_that_took_the_cortex_is_refused_as_the_patients_anatomy():
    require_no_fluid_instead_of_cortex(WIDEST_CAUTION_MM - 0.1, "target", 10.0)  # a failed registration: not this
    with pytest.raises(InputError, match=r"within 10 mm of the mapped target, and fluid fills a ball 19\.4 mm wide"
                                         r".*give it with --native X Y Z"):
        require_no_fluid_instead_of_cortex(19.4, "target", 10.0)
    with pytest.raises(InputError, match="mapped motor hand knob.*cannot be made on this image"):
        require_no_fluid_instead_of_cortex(19.4, "motor hand knob", 15.0)


def test_a_cortical_point_amid_a_cavitys_fluid_is_refused_and_one_at_its_rim_is_not():
    """A wide cavity's fluid can pass for grey matter (the class widens over it): a point
    mostly surrounded by fluid is no cortex, even where the fluid is patchy."""
    ball = _distance_to(CENTRE_RAS_MM) <= 15.0  # a 30 mm ball
    patchy = ball & (np.indices(SHAPE).sum(axis=0) % 5 != 0)  # every fifth voxel called tissue
    with pytest.raises(InputError, match=r"^80% of the volume within 5 mm of the target's cortical point found is "
                                         r"fluid.*give it with --native X Y Z"):
        require_cortex_outside_fluid(_tissue(patchy), CENTRE_RAS_MM, "target")
    with pytest.raises(InputError, match=r"motor hand knob's cortical point .*cannot be made on this image"):
        require_cortex_outside_fluid(_tissue(ball), CENTRE_RAS_MM, "motor hand knob")
    require_cortex_outside_fluid(_tissue(ball), CENTRE_RAS_MM + [0.0, 0.0, 15.0], "target")  # on the rim: half
    with pytest.raises(InputError):
        require_cortex_outside_fluid(_tissue(ball), CENTRE_RAS_MM + [0.0, 0.0, 11.0], "target")


def test_a_point_beside_a_sulcus_is_not_taken_for_one_in_a_cavity():
    sheet = (np.abs(np.arange(SHAPE[0]) - 20) <= 2)[:, None, None] & np.ones(SHAPE, bool)  # 5 mm thick
    require_cortex_outside_fluid(_tissue(sheet), CENTRE_RAS_MM + [3.0, 0.0, 0.0], "target")  # grey matter at its wall
