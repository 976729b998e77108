"""navsvc.landmarks.scalp_paths: tape-measure lengths along plane sections, on a sphere."""

from __future__ import annotations

import math

import numpy as np
import pytest
import trimesh

from navsvc.errors import PipelineError
from navsvc.landmarks import scalp_paths

RADIUS_MM = 90.0
NASION, INION, VERTEX = np.array([0.0, RADIUS_MM, 0.0]), np.array([0.0, -RADIUS_MM, 0.0]), np.array([0.0, 0.0, RADIUS_MM])
LEFT_EAR, RIGHT_EAR = np.array([-RADIUS_MM, 0.0, 0.0]), np.array([RADIUS_MM, 0.0, 0.0])


@pytest.fixture(scope="module")
def sphere() -> trimesh.Trimesh:
    return trimesh.creation.icosphere(subdivisions=5, radius=RADIUS_MM)


def test_midsagittal_half_circumference_is_pi_r(sphere):
    loop = scalp_paths.section_loop(sphere, np.zeros(3), [1.0, 0.0, 0.0], NASION)
    assert np.allclose(loop[:, 0], 0.0, atol=1e-9)  # in the plane
    assert np.allclose(np.linalg.norm(loop, axis=1), RADIUS_MM, rtol=0.01)  # on the sphere
    over_top = scalp_paths.arc(loop, NASION, INION, VERTEX)
    assert scalp_paths.length_mm(over_top) == pytest.approx(math.pi * RADIUS_MM, rel=0.01)
    assert np.linalg.norm(over_top[0] - NASION) < 3.0 and np.linalg.norm(over_top[-1] - INION) < 3.0
    assert over_top[:, 2].min() > -3.0 and over_top[:, 2].max() > RADIUS_MM - 1.0  # over the vertex
    under = scalp_paths.arc(loop, NASION, INION, -VERTEX)
    assert under[:, 2].max() < 3.0
    assert scalp_paths.length_mm(under) == pytest.approx(math.pi * RADIUS_MM, rel=0.01)


def test_coronal_half_circumference_and_full_loop(sphere):
    loop = scalp_paths.section_loop(sphere, np.zeros(3), [0.0, 1.0, 0.0], LEFT_EAR)
    ear_to_ear = scalp_paths.arc(loop, LEFT_EAR, RIGHT_EAR, VERTEX)
    assert scalp_paths.length_mm(ear_to_ear) == pytest.approx(math.pi * RADIUS_MM, rel=0.01)
    assert len(np.unique(loop.round(9), axis=0)) == len(loop)  # the closing repeat is dropped
    closed = np.vstack([loop, loop[:1]])
    assert scalp_paths.length_mm(closed) == pytest.approx(2 * math.pi * RADIUS_MM, rel=0.01)


def test_off_centre_section_is_the_small_circle(sphere):
    # plane x = 50 mm: a circle of radius sqrt(90² - 50²) = 74.83 mm
    loop = scalp_paths.section_loop(sphere, [50.0, 0.0, 0.0], [1.0, 0.0, 0.0], [50.0, 0.0, 80.0])
    small_r = math.sqrt(RADIUS_MM**2 - 50.0**2)
    assert scalp_paths.length_mm(np.vstack([loop, loop[:1]])) == pytest.approx(2 * math.pi * small_r, rel=0.01)


def test_oblique_quarter_arc(sphere):
    # great circle through the nasion and the left ear, plane tilted 45°: a quarter is pi r / 2
    normal = np.cross(NASION, LEFT_EAR + VERTEX)
    top = (LEFT_EAR + VERTEX) / np.linalg.norm(LEFT_EAR + VERTEX) * RADIUS_MM
    loop = scalp_paths.section_loop(sphere, np.zeros(3), normal, NASION)
    quarter = scalp_paths.arc(loop, NASION, top, 0.5 * (NASION + top))
    assert scalp_paths.length_mm(quarter) == pytest.approx(math.pi * RADIUS_MM / 2, rel=0.01)


def test_section_loop_picks_the_loop_nearest_the_point(sphere):
    second = sphere.copy()
    second.apply_translation([250.0, 0.0, 0.0])
    both = trimesh.util.concatenate([sphere, second])
    loop = scalp_paths.section_loop(both, np.zeros(3), [0.0, 0.0, 1.0], [260.0, 0.0, 0.0])
    assert np.allclose(loop.mean(axis=0), [250.0, 0.0, 0.0], atol=1.0)
    with pytest.raises(PipelineError, match="no scalp section"):  # the plane misses the scalp
        scalp_paths.section_loop(sphere, [0.0, 0.0, 200.0], [0.0, 0.0, 1.0], VERTEX)


def test_arc_towards_goes_round_in_the_given_direction(sphere):
    loop = scalp_paths.section_loop(sphere, np.zeros(3), [0.0, 0.0, 1.0], NASION)  # the equator
    to_left = scalp_paths.arc_towards(loop, NASION, [-1.0, 0.0, 0.0])
    assert to_left[3][0] < 0
    assert np.allclose(to_left[0], to_left[-1])  # the whole loop, closed
    assert scalp_paths.length_mm(to_left) == pytest.approx(2 * math.pi * RADIUS_MM, rel=0.01)
    quarter_point = scalp_paths.point_at(to_left, math.pi * RADIUS_MM / 2)
    assert np.linalg.norm(quarter_point - LEFT_EAR) < 2.0
    to_right = scalp_paths.arc_towards(loop, NASION, [1.0, 0.0, 0.0])
    assert np.linalg.norm(scalp_paths.point_at(to_right, math.pi * RADIUS_MM / 2) - RIGHT_EAR) < 2.0


@pytest.mark.parametrize("centre_x_mm", [120.0, -120.0])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_arc_towards_is_the_closed_loop_either_way_on_a_sphere_away_from_the_origin(sphere, sign, centre_x_mm):
    """Both ways round, from a start on the equator of a sphere centred far from the origin
    (so that no point stands in for a direction): the path leaves the start the way asked,
    visits every loop point once, and closes on its start."""
    centre = np.array([centre_x_mm, -40.0, 60.0])
    moved = sphere.copy()
    moved.apply_translation(centre)
    loop = scalp_paths.section_loop(moved, centre, [0.0, 0.0, 1.0], centre + NASION)
    direction = np.array([sign, 0.0, 0.0])
    path = scalp_paths.arc_towards(loop, centre + NASION, direction)
    assert len(path) == len(loop) + 1 and np.array_equal(path[0], path[-1])
    assert len(np.unique(path[:-1], axis=0)) == len(loop)
    assert np.dot(path[3] - path[0], direction) > 0
    assert scalp_paths.length_mm(path) == pytest.approx(2 * math.pi * RADIUS_MM, rel=0.01)
    ear = centre + (LEFT_EAR if sign < 0 else RIGHT_EAR)
    assert np.linalg.norm(scalp_paths.point_at(path, math.pi * RADIUS_MM / 2) - ear) < 2.0


def test_point_at_and_length_by_hand():
    polyline = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [10.0, 10.0, 0.0], [10.0, 10.0, 5.0]])
    assert scalp_paths.length_mm(polyline) == pytest.approx(25.0)
    assert np.allclose(scalp_paths.point_at(polyline, 0.0), [0.0, 0.0, 0.0])
    assert np.allclose(scalp_paths.point_at(polyline, 4.0), [4.0, 0.0, 0.0])
    assert np.allclose(scalp_paths.point_at(polyline, 15.0), [10.0, 5.0, 0.0])
    assert np.allclose(scalp_paths.point_at(polyline, 22.5), [10.0, 10.0, 2.5])
    assert np.allclose(scalp_paths.point_at(polyline, 99.0), [10.0, 10.0, 5.0])  # clamped
    assert np.allclose(scalp_paths.point_at(polyline, 25.0), [10.0, 10.0, 5.0])  # exactly the end
    fine = np.array([[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [1.0, 0.0, 0.0]])  # segments under 1 mm
    assert np.allclose(scalp_paths.point_at(fine, 0.25), [0.25, 0.0, 0.0])
    assert np.allclose(scalp_paths.point_at(fine, 0.75), [0.75, 0.0, 0.0])
    repeated = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [2.0, 0.0, 0.0], [2.0, 4.0, 0.0]])
    for distance_mm, expected in ((1.0, [1.0, 0.0, 0.0]), (2.0, [2.0, 0.0, 0.0]), (3.0, [2.0, 1.0, 0.0])):
        assert np.allclose(scalp_paths.point_at(repeated, distance_mm), expected)


def test_a_section_loop_holds_each_of_its_points_once():
    """The closing point (the first repeated) is dropped, and only it. A box cut across its
    middle: its triangles cut each face's edge at the corners and at the edge's middle."""
    box = trimesh.creation.box(extents=(40.0, 60.0, 80.0))
    loop = scalp_paths.section_loop(box, np.zeros(3), [0.0, 0.0, 1.0], [20.0, 0.0, 0.0])
    expected = {(x, y, 0.0) for x in (-20.0, 0.0, 20.0) for y in (-30.0, 0.0, 30.0)} - {(0.0, 0.0, 0.0)}
    assert len(loop) == 8 and {tuple(np.round(p, 6) + 0.0) for p in loop} == expected
    assert scalp_paths.length_mm(np.vstack([loop, loop[:1]])) == pytest.approx(200.0)
