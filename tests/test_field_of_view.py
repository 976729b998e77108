"""Where the image's field of view cuts the head: distances to its edge under every voxel
order and obliquity, the cut scalp vertices, and which plan points they spoil."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import trimesh

from navsvc.anatomy.field_of_view import (
    COIL_CLEARANCE_MM, FOV_EDGE_MM, POINT_CLEARANCE_MM, ScalpCut, landmarks_in_image, scalp_cut,
    scalp_not_in_image_text,
)
from navsvc.anatomy.scalp import Scalp
from navsvc.coords import edge_distance_mm
from navsvc.landmarks.placement import BeamF3

SHAPE = (40, 50, 60)
AFFINE = np.array([[2.0, 0, 0, -40], [0, 2.0, 0, -50], [0, 0, 2.0, -60], [0, 0, 0, 1]])  # box -41..39, -51..49, -61..59


def _reordered(shape, affine, order, flips):
    """The same field of view with the voxel axes permuted and flipped (affine updated)."""
    new_to_old = np.zeros((4, 4))
    new_to_old[3, 3] = 1.0
    for new_axis, old_axis in enumerate(order):
        n = shape[old_axis]
        new_to_old[old_axis, new_axis] = -1.0 if flips[new_axis] else 1.0
        new_to_old[old_axis, 3] = n - 1 if flips[new_axis] else 0.0
    return tuple(shape[a] for a in order), affine @ new_to_old


def test_edge_distance_of_an_axis_aligned_box():
    points = [[0, 0, 0], [-1, -1, -1], [38.5, 0, 0], [0, 0, -61.0], [0, 0, -65.0], [50, 60, 70]]
    distances = edge_distance_mm(SHAPE, AFFINE, points)
    # the box of voxel centres extended by half a voxel (1 mm): x -41..39, y -51..49, z -61..59
    assert distances == pytest.approx([39.0, 40.0, 0.5, 0.0, -4.0, -11.0])
    # a header's shape may name a fourth axis (one volume): the first three are the image's
    assert edge_distance_mm(SHAPE + (1,), AFFINE, points) == pytest.approx(distances)


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
@pytest.mark.parametrize("flips", list(itertools.product([False, True], repeat=3)))
def test_edge_distance_is_the_same_under_all_48_voxel_orders(order, flips):
    rng = np.random.default_rng(7)
    points = rng.uniform(-70, 70, size=(200, 3))
    shape, affine = _reordered(SHAPE, AFFINE, order, flips)
    assert edge_distance_mm(shape, affine, points) == pytest.approx(edge_distance_mm(SHAPE, AFFINE, points), abs=1e-9)


def test_edge_distance_under_an_oblique_affine_follows_the_rotated_faces():
    angle = np.deg2rad(25.0)
    rotation = np.eye(4)
    rotation[:2, :2] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    affine = rotation @ AFFINE
    # the centre of the rotated x = 39 face, and 3 mm in from it along its normal
    face_centre = (rotation @ [39.0, -1.0, -1.0, 1.0])[:3]
    inward = rotation[:3, :3] @ [-1.0, 0, 0]
    assert edge_distance_mm(SHAPE, affine, [face_centre, face_centre + 3 * inward]) == pytest.approx([0.0, 3.0])


def _sphere_scalp(radius_mm=80.0) -> Scalp:
    mesh = trimesh.creation.icosphere(subdivisions=5, radius=radius_mm)
    return Scalp(mesh, np.zeros((2, 2, 2), bool))


def test_a_head_inside_the_image_has_no_cut():
    cut = scalp_cut(_sphere_scalp(), (100, 100, 100), np.diag([2.0, 2, 2, 1]) @ _shift(-99))
    assert not cut.is_cut
    assert cut.trusted([[80.0, 0, 0]]).all()
    assert cut.distance_mm([[0, 0, 80.0]])[0] == np.inf


def _shift(offset_mm):
    shift = np.eye(4)
    shift[:3, 3] = offset_mm / 2.0
    return shift


def test_the_vertices_on_a_cut_top_are_found_and_spoil_points_near_them():
    scalp = _sphere_scalp()
    # field of view z from -100 to 60 mm: the top 20 mm of the 80 mm sphere is cut off
    affine = np.diag([2.0, 2, 2, 1])
    affine[:3, 3] = [-99.0, -99.0, -99.0]
    cut = scalp_cut(scalp, (100, 100, 80), affine)
    heights = cut.vertices_ras_mm[:, 2]
    assert cut.is_cut and heights.min() > 60 - FOV_EDGE_MM - 1e-6
    # every vertex above the image is in the cut
    assert (scalp.vertices_ras_mm[:, 2] > 60).sum() <= len(cut.vertices_ras_mm)
    on_cut_rim = [np.sqrt(80**2 - 56**2), 0, 56.0]
    equator = [80.0, 0, 0]
    below_rim = [80 * np.cos(np.deg2rad(40)), 0, 80 * np.sin(np.deg2rad(40))]  # z 51.4, ~8 mm from the cut
    assert cut.trusted([on_cut_rim, equator, below_rim]).tolist() == [False, True, True]
    assert cut.trusted([on_cut_rim, equator, below_rim], COIL_CLEARANCE_MM).tolist() == [False, True, False]


def _beam(paths):
    site = np.array([-40.0, 40, 40])
    return BeamF3(site, 350.0, 360.0, 560.0, 28.0, 90.0, np.array([0, 0, 80.0]), np.asarray(paths, float))


def test_landmark_flags_follow_their_scalp_the_beam_tape_and_the_hand_knob():
    cut = ScalpCut(np.array([[0.0, 0.0, 80.0]]))  # the vertex is cut
    landmarks = {"nasion": np.array([0, 80.0, 0]), "cz": np.array([0, 2.0, 79.0])}
    far_path = [[0, 80.0, 0], [0, 60, 50]]
    over_vertex = far_path + [[0, 0, 79.0]]
    m1_far, m1_near = np.array([-40.0, 0, 60]), np.array([-3.0, 0, 79])
    flags = landmarks_in_image(cut, landmarks, _beam(far_path), np.array([-40.0, 50, 50]), m1_far)
    assert flags == {"nasion": True, "cz": False, "beam_f3": True, "five_cm": True, "m1_hand_knob": True}
    flags = landmarks_in_image(cut, landmarks, _beam(over_vertex), np.array([-40.0, 50, 50]), m1_near)
    assert flags["beam_f3"] is False and flags["m1_hand_knob"] is False
    assert flags["five_cm"] is False, "the 5-cm site is measured from the hand knob"
    assert POINT_CLEARANCE_MM < COIL_CLEARANCE_MM


def test_an_outline_that_is_mostly_the_image_edges_is_refused():
    from navsvc.anatomy.checks import MAX_SCALP_ON_EDGES, require_head_outline
    from navsvc.errors import InputError

    scalp = _sphere_scalp()
    vertices = scalp.vertices_ras_mm
    require_head_outline(scalp, ScalpCut(vertices[: int(0.2 * len(vertices))]))
    with pytest.raises(InputError, match="cannot be told from its background"):
        require_head_outline(scalp, ScalpCut(vertices[: int((MAX_SCALP_ON_EDGES + 0.05) * len(vertices))]))


def test_a_vertex_3_mm_from_the_edge_is_not_on_the_cut_and_a_point_5_mm_from_the_cut_is_trusted():
    # voxel centres x = 0..9 mm: the field of view's face at x = -0.5 mm
    class Vertices:
        vertices_ras_mm = np.array([[2.5, 5.0, 5.0], [2.4, 5.0, 5.0], [5.0, 5.0, 5.0]])

    cut = scalp_cut(Vertices(), (10, 10, 10), np.eye(4))
    assert FOV_EDGE_MM == 3.0 and cut.vertices_ras_mm.tolist() == [[2.4, 5.0, 5.0]]
    assert POINT_CLEARANCE_MM == 5.0
    assert cut.trusted([[7.4, 5.0, 5.0], [7.3, 5.0, 5.0]]).tolist() == [True, False]


def test_one_removed_vertex_is_a_removed_scalp():
    cut = ScalpCut(np.empty((0, 3)), np.array([[0.0, 80.0, 0.0]]))
    assert cut.removed and cut.is_cut and not cut.by_field_of_view
    assert cut.distance_mm([[0.0, 80.0, 3.0]]) == pytest.approx([3.0])


def test_every_landmark_gets_its_own_flag():
    # three landmarks, the third near the cut: each keeps its own answer
    cut = ScalpCut(np.array([[0.0, 0.0, 80.0]]))
    landmarks = {"nasion": np.array([0, 80.0, 0]), "inion": np.array([0, -80.0, 0]), "cz": np.array([0, 2.0, 79.0])}
    flags = landmarks_in_image(cut, landmarks, _beam([[0, 80.0, 0]]), np.array([-40.0, 50, 50]),
                               np.array([-40.0, 0, 60]))
    assert flags == {"nasion": True, "inion": True, "cz": False, "m1_hand_knob": True, "five_cm": True,
                     "beam_f3": True}


def test_what_keeps_the_head_out_of_the_image_is_said_for_each_cause():
    assert scalp_not_in_image_text(True, False) == "the image's field of view cuts off part of the head"
    assert scalp_not_in_image_text(False, True) == (
        "part of the head (the face: defaced, or masked) was removed from the image")
    assert scalp_not_in_image_text(True, True) == (
        "the image's field of view cuts off part of the head, and part of it (the face: defaced, or masked) "
        "was removed from the image")
