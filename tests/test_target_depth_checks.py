"""navsvc.target.depth_checks: a target closer to the scalp than cortex can be, or deeper
in the brain than a coil reaches, is refused."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from navsvc import pipeline
from navsvc.anatomy.checks import depth_in_brain_mm
from navsvc.anatomy.scalp import scalp_surface
from navsvc.anatomy.scalp_rise import ScalpRise
from navsvc.coords import unit
from navsvc.errors import InputError, PipelineError
from navsvc.grid import WorkingImage
from navsvc.target.depth_checks import (MAX_ENTRY_BELOW_HULL_MM, MIN_TARGET_DEPTH_MM, depth_under_entry_mm,
                                        require_cortical_depth)
from navsvc.target.individualize import CorticalTarget
from navsvc.target.results import TargetResult


def _sphere_grid_mm():
    """Voxel centres (mm) of a 60³ grid of 2 mm voxels centred on (1, 1, 1), and the mask of a
    45 mm ball about that centre."""
    xyz_mm = np.indices((60, 60, 60)).transpose(1, 2, 3, 0) * 2.0 - 59.0
    return xyz_mm, np.linalg.norm(xyz_mm, axis=-1) <= 45.0


def _brain(inside):
    return WorkingImage(inside.astype(np.float32), np.full(3, -59.0), 2.0)


class _OuterScalp:
    """A scalp on whose outer outline every entry point lies (for the other checks' tests), or
    ``below_hull_mm`` inside it."""

    def __init__(self, below_hull_mm: float = 0.0) -> None:
        self.below_hull_mm = below_hull_mm

    def depth_below_hull_mm(self, point_ras_mm) -> float:
        return self.below_hull_mm


SCALP = _OuterScalp()


def _target(cortex_ras_mm, entry_ras_mm, inward_normal, scalp_to_cortex_mm, method="nearest_grey_matter"):
    """A target result with only what the depth checks read filled in with meaning."""
    cortex = CorticalTarget(np.asarray(cortex_ras_mm, float), method, 3.0, 0.7)
    entry = np.asarray(entry_ras_mm, float)
    return TargetResult(np.zeros(3), cortex.cortex_ras_mm, cortex, entry, np.asarray(inward_normal, float),
                        np.eye(4), entry, np.eye(4), scalp_to_cortex_mm, ScalpRise(0.4, entry), 0.0)


def test_a_target_shallower_than_scalp_and_skull_is_refused():
    def target_at_depth(depth_mm):
        entry = np.array([-52.0, 50.0, 45.6])
        return _target(entry + [depth_mm, 0.0, 0.0], entry, [1.0, 0, 0], depth_mm - 1.0, method="scalp_ray")

    brain = WorkingImage(np.zeros((4, 4, 4), np.float32), np.array([-60.0, 40.0, 30.0]), 5.0)  # depth in brain 0
    require_cortical_depth(target_at_depth(MIN_TARGET_DEPTH_MM), brain, SCALP)  # the limit itself passes
    with pytest.raises(InputError, match="the cortical target lies 4.9 mm under the scalp"):
        require_cortical_depth(target_at_depth(MIN_TARGET_DEPTH_MM - 0.1), brain, SCALP)
    with pytest.raises(InputError, match="lies 1.2 mm under the scalp.*not the skin.*plain T1-weighted"):
        require_cortical_depth(target_at_depth(1.25), brain, SCALP)


def test_an_entry_point_as_deep_as_the_limit_inside_the_heads_outline_passes():
    entry = np.array([-52.0, 50.0, 45.6])
    target = _target(entry + [15.0, 0.0, 0.0], entry, [1.0, 0, 0], 14.0)
    brain = WorkingImage(np.zeros((4, 4, 4), np.float32), np.array([-60.0, 40.0, 30.0]), 5.0)
    require_cortical_depth(target, brain, _OuterScalp(MAX_ENTRY_BELOW_HULL_MM))
    with pytest.raises(InputError, match="nearest the target lies 20 mm inside the head's outer outline"):
        require_cortical_depth(target, brain, _OuterScalp(MAX_ENTRY_BELOW_HULL_MM + 0.1))


def test_depth_in_brain_is_the_distance_to_the_brain_surface():
    brain = _brain(_sphere_grid_mm()[1])
    assert depth_in_brain_mm(brain, [1.0, 1.0, 25.0], 34.0) == pytest.approx(45.0 - 25.0, abs=2.0)
    assert depth_in_brain_mm(brain, [1.0, 1.0, 1.0], 34.0) > 34.0  # the centre: beyond reach
    everywhere = brain.with_data(np.ones_like(brain.data))
    assert depth_in_brain_mm(everywhere, [1.0, 1.0, 1.0], 34.0) == np.inf  # nothing outside within reach
    assert depth_in_brain_mm(brain, [1.0, 1.0, 51.0], 34.0) == 0.0  # outside the brain
    assert depth_in_brain_mm(brain, [500.0, 0.0, 0.0], 34.0) == 0.0  # outside the grid


def test_a_named_strategys_target_deep_in_the_brain_fails_the_plan_and_a_chosen_one_is_bad_input():
    brain = WorkingImage(np.ones((40, 40, 40), np.float32), np.full(3, -78.0), 4.0)  # 160 mm of brain
    target = _target(np.zeros(3), [0.0, 0.0, 90.0], [0.0, 0.0, -1.0], 20.0)
    with pytest.raises(PipelineError, match=r"more than 34 mm below the brain's surface .*\(half-value depths up to "
                                            r"3\.4 cm\), so it is not a cortical target"):
        require_cortical_depth(target, brain, SCALP)
    with pytest.raises(InputError, match="more than 34 mm below the brain's surface"):
        require_cortical_depth(target, brain, SCALP, chosen_by_user=True)


def test_depth_under_the_entry_is_measured_from_where_the_line_enters_the_brain():
    brain = _brain(_sphere_grid_mm()[1])
    assert depth_under_entry_mm(brain, [1.0, 1.0, 80.0], [1.0, 1.0, 25.0]) == pytest.approx(20.0, abs=2.0)
    assert depth_under_entry_mm(brain, [1.0, 1.0, 80.0], [1.0, 1.0, 60.0]) == 0.0  # the line meets no brain
    assert depth_under_entry_mm(brain, [80.0, 1.0, 1.0], [-25.0, 1.0, 1.0]) == pytest.approx(70.0, abs=2.0)


def test_a_chosen_target_near_a_surface_far_from_the_coil_is_refused_as_out_of_reach():
    """A deep nucleus can lie near some brain surface (the insula, the midline) and still far
    below the surface under the coil: MNI (-15, 5, 10) lay 29 mm from the nearest surface and
    48 mm under the surface below Colin27's entry point."""
    xyz_mm, inside = _sphere_grid_mm()
    channel = (xyz_mm[..., 0] > 6.0) & (np.linalg.norm(xyz_mm[..., 1:], axis=-1) < 4.0)  # reaching in from the side
    brain = _brain(inside & ~channel)
    deep = np.array([1.0, 1.0, 1.0])
    assert depth_in_brain_mm(brain, deep, 34.0) < 10.0
    target = _target(deep, [1.0, 1.0, 60.0], [0.0, 0.0, -1.0], 20.0)
    with pytest.raises(InputError, match=r"target lies 4\d mm below the brain's surface \(59 mm under the scalp\)"):
        require_cortical_depth(target, brain, SCALP, chosen_by_user=True)


def test_an_entry_point_inside_the_brain_is_refused_however_shallow_the_target():
    """The head's outline can run into the head where dark fluid joins the air outside; the
    nearest scalp point to a target is then no place for a coil."""
    brain = _brain(_sphere_grid_mm()[1])
    inside_entry = np.array([1.0, 1.0, 20.0])
    target = _target(inside_entry + [0.0, 0.0, -12.0], inside_entry, [0.0, 0.0, -1.0], 10.0)
    with pytest.raises(InputError) as refused:
        require_cortical_depth(target, brain, SCALP, chosen_by_user=True)
    assert str(refused.value) == (
        "the scalp point nearest the target lies inside the brain: the head's outline found in this image runs "
        "into the head (fluid or a cavity as dark as the air outside and joined to it), so no point of it can be "
        "trusted. Plan on the scanner's plain T1-weighted series of the whole head, without fat suppression or "
        "intensity windowing")
    with pytest.raises(InputError, match="inside the brain"):
        require_cortical_depth(target, brain, SCALP)  # the image's fault, whatever chose the target
    outside_entry = np.array([1.0, 1.0, 58.0])
    outside = _target(outside_entry + [0.0, 0.0, -15.0], outside_entry, [0.0, 0.0, -1.0], 12.0)
    require_cortical_depth(outside, brain, SCALP)


def _tunnel_head():
    """A 56 mm head with a 6 mm tunnel bored into it from above, by x = 21 mm (as the scalp
    surface follows dark fluid joined to the air), and a brain beside the tunnel."""
    xyz_mm = _sphere_grid_mm()[0]
    head = np.linalg.norm(xyz_mm, axis=-1) <= 56.0
    tunnel = (xyz_mm[..., 2] > 0.0) & (np.linalg.norm(xyz_mm[..., :2] - [21.0, 1.0], axis=-1) < 6.0)
    scalp = scalp_surface(_brain(head & ~tunnel), head & ~tunnel)
    return scalp, _brain(np.linalg.norm(xyz_mm - [-20.0, 0.0, 0.0], axis=-1) <= 25.0)


def test_an_entry_point_deep_inside_the_heads_outline_is_refused():
    """Dark fluid joined to the air makes the scalp surface follow a tunnel into the head; the
    point of it nearest a deep target then lies on the tunnel's wall, outside the brain."""
    scalp, brain = _tunnel_head()
    deep = np.array([1.0, 1.0, 10.0])
    entry = scalp.nearest_point(deep)
    assert np.linalg.norm(entry[:2] - [21.0, 1.0]) < 8.0  # on the tunnel's wall
    assert scalp.depth_below_hull_mm(entry) > 30.0
    with pytest.raises(InputError, match=r"^the scalp point nearest the target lies \d\d mm inside the head's outer "
                                         r"outline: the head's outline found in this image runs into the head \(fluid "
                                         r"or a cavity as dark as the air outside and joined to it\), and a coil cannot "
                                         r"be placed inside the head\. Plan on the scanner's plain T1-weighted series"):
        require_cortical_depth(_target(deep, entry, unit(deep - entry), 10.0), brain, scalp)
    shallow = np.array([-40.0, 1.0, 1.0])  # under the outer skin, far from the tunnel
    entry = scalp.nearest_point(shallow)
    assert scalp.depth_below_hull_mm(entry) < 1.0 < MAX_ENTRY_BELOW_HULL_MM
    require_cortical_depth(_target(shallow, entry, unit(shallow - entry), 12.0), brain, scalp)


def test_a_hand_knob_whose_nearest_scalp_lies_inside_the_head_is_refused(monkeypatch):
    """The hand knob's scalp point gives the dose's reference depth and the 5-cm site: the
    plan checks it as it checks the entry point (on the tunnel head, a hand knob 8 mm below the
    tunnel's floor and 25 mm deep in the head)."""
    scalp, brain = _tunnel_head()
    knob = np.array([21.0, 1.0, -8.0])
    cortex = CorticalTarget(knob, "nearest_grey_matter", 0.0, 0.7)
    monkeypatch.setattr(pipeline, "_cortical_point", lambda ctx, mapped, *args: (cortex, None))
    monkeypatch.setattr(pipeline, "scalp_to_cortex_mm", lambda scalp_mm, cortex_mm, tissue: 8.0)
    ctx = SimpleNamespace(registration=SimpleNamespace(mni_to_native=lambda mni_mm: np.asarray(mni_mm)[None]),
                          scalp=scalp, brain_mask=brain,
                          cut=SimpleNamespace(trusted=lambda points_mm: np.ones(len(points_mm), bool)))
    with pytest.raises(InputError, match=r"the scalp point nearest the motor hand knob lies \d\d mm inside the head"):
        pipeline.locate_m1(ctx)
