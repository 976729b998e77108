"""The plan's along-normal alternative entry (navsvc.target.along_normal) on the real Colin27 scalp."""

from __future__ import annotations

import numpy as np
import pytest

from navsvc import templates
from navsvc.anatomy.field_of_view import ScalpCut
from navsvc.anatomy.scalp import scalp_surface
from navsvc.grid import resample_to_working_grid
from navsvc.io import load_t1
from navsvc.target.along_normal import ALONG_NORMAL_SEARCH_MM, along_normal_entry, normal_line_miss_mm

NO_CUT = ScalpCut(np.empty((0, 3)))
#: targets 15 mm under the scalp, in these directions from the head centre, each pushed 6 mm
#: sideways so that no normal line passes exactly through it: F3-like, vertex, left, front
DIRECTIONS = np.array([[-0.55, 0.67, 0.5], [0, 0, 1], [-1, 0, 0.3], [0, 1, 0.2]], float)


@pytest.fixture(scope="module")
def scalp():
    return scalp_surface(resample_to_working_grid(load_t1(templates.COLIN_HEAD)).downsampled(2))


def _targets(scalp) -> list[np.ndarray]:
    targets = []
    for direction in DIRECTIONS / np.linalg.norm(DIRECTIONS, axis=1, keepdims=True):
        on_scalp = scalp.nearest_point(scalp.centre_ras_mm + 200.0 * direction)
        normal = scalp.inward_normal(on_scalp)
        sideways = np.cross(normal, [0.0, 0.0, 1.0] if abs(normal[2]) < 0.9 else [0.0, 1.0, 0.0])
        targets.append(on_scalp + 15.0 * normal + 6.0 * sideways / np.linalg.norm(sideways))
    return targets


def test_along_normal_line_passes_no_farther_than_the_nearest_points_line(scalp):
    for target in _targets(scalp):
        entry = scalp.nearest_point(target)
        along = along_normal_entry(scalp, NO_CUT, entry, target)
        assert normal_line_miss_mm(scalp, along, target) <= normal_line_miss_mm(scalp, entry, target)


def test_along_normal_entry_is_as_good_as_an_exhaustive_search(scalp):
    vertices = scalp.vertices_ras_mm
    for target in _targets(scalp):
        entry = scalp.nearest_point(target)
        near = vertices[np.linalg.norm(vertices - entry, axis=1) < ALONG_NORMAL_SEARCH_MM]
        exhaustive_mm = min(normal_line_miss_mm(scalp, v, target) for v in near)
        along = along_normal_entry(scalp, NO_CUT, entry, target)
        assert normal_line_miss_mm(scalp, along, target) <= exhaustive_mm + 0.25


@pytest.mark.parametrize("depth_mm", [0.5, 15.0, 40.0])
@pytest.mark.parametrize("sideways_mm", [0.0, 3.0, 8.0])
def test_miss_is_the_distance_from_the_normal_line(scalp, depth_mm, sideways_mm):
    """A target ``depth_mm`` along the inward normal and ``sideways_mm`` across it is missed
    by exactly ``sideways_mm``, however deep (the other tests compare misses only with
    misses, which a wrong formula applied alike would pass)."""
    on_scalp = scalp.nearest_point(scalp.centre_ras_mm + 200.0 * np.array([-0.55, 0.67, 0.5]))
    normal = scalp.inward_normal(on_scalp)
    across = np.cross(normal, [0.0, 0.0, 1.0])
    target = on_scalp + depth_mm * normal + sideways_mm * across / np.linalg.norm(across)
    assert normal_line_miss_mm(scalp, on_scalp, target) == pytest.approx(sideways_mm, abs=1e-9)


def test_a_target_behind_the_scalp_point_is_never_passed(scalp):
    on_scalp = scalp.nearest_point(scalp.centre_ras_mm + [0.0, 0.0, 200.0])
    assert normal_line_miss_mm(scalp, on_scalp, on_scalp - 10.0 * scalp.inward_normal(on_scalp)) == np.inf
