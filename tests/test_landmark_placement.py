"""Beam F3 and the 5-cm site on a spherical scalp, where the tape's path is a circle.

Every expected point follows from circle geometry; only the Beam distances come from
:func:`navsvc.landmarks.beam.beam_distances` (tested against Beam et al.'s worked values
in tests/test_beam.py). The scene is also turned by a random rotation: the frame must
carry "left" and "anterior" with it. The head frame and the montage's landmarks are checked
against the alignment they come from.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import trimesh
from scipy.spatial.transform import Rotation

from navsvc.anatomy.scalp import Scalp
from navsvc.coords import apply_affine
from navsvc.landmarks.beam import beam_distances
from navsvc.landmarks.montage import LANDMARK_LABELS, landmark_positions_colin_mm
from navsvc.landmarks.placement import (HeadFrame, beam_f3, five_cm_site, head_frame,
                                        project_montage)

RADIUS_MM = 90.0
#: the tape starts at the section's vertex nearest the start point, up to half an edge away
#: (edges of this icosphere's sections are about 2-3 mm; a head's scalp mesh has 1 mm ones)
TOLERANCE_MM = 1.5


@pytest.fixture(scope="module")
def sphere_mesh() -> trimesh.Trimesh:
    return trimesh.creation.icosphere(subdivisions=5, radius=RADIUS_MM)


def scene(mesh: trimesh.Trimesh, seed: int | None, shift_mm=(0.0, 0.0, 0.0)):
    """The scalp and frame, turned by a random rotation (none for ``seed=None``) and then
    moved by ``shift_mm``."""
    rotation = np.eye(3) if seed is None else Rotation.random(random_state=seed).as_matrix()
    turned = mesh.copy()
    turned.apply_transform(np.block([[rotation, np.zeros((3, 1))], [np.zeros((1, 3)), np.ones((1, 1))]]))
    turned.apply_translation(shift_mm)
    frame = HeadFrame(*(rotation @ axis for axis in np.eye(3)))
    return Scalp(turned, np.zeros((2, 2, 2), bool)), frame, rotation


@pytest.mark.parametrize("seed", [None, 1, 2])
def test_the_five_cm_site_is_5_cm_anterior_along_the_parasagittal_circle(sphere_mesh, seed):
    scalp, frame, rotation = scene(sphere_mesh, seed)
    # M1 scalp point 40 mm left of the midline: its parasagittal circle has radius r
    r = math.sqrt(RADIUS_MM**2 - 40.0**2)
    m1 = np.array([-40.0, 0.0, r])
    angle = 50.0 / r  # 5 cm of arc
    expected = np.array([-40.0, r * math.sin(angle), r * math.cos(angle)])
    site = five_cm_site(scalp, rotation @ m1, frame)
    assert np.linalg.norm(site - rotation @ expected) < TOLERANCE_MM


@pytest.mark.parametrize("seed, shift_mm", [(None, (0.0, 0.0, 0.0)), (3, (0.0, 0.0, 0.0)), (4, (0.0, 0.0, 0.0)),
                                            (None, (30.0, -20.0, 100.0)), (4, (-60.0, 40.0, 20.0))])
def test_beam_f3_on_a_sphere_is_where_the_tape_puts_it(sphere_mesh, seed, shift_mm):
    """Also on heads away from the world's origin, as every scanner's are."""
    scalp, frame, rotation = scene(sphere_mesh, seed, shift_mm)
    points = {"nasion": [0, RADIUS_MM, 0], "inion": [0, -RADIUS_MM, 0], "lpa": [-RADIUS_MM, 0, 0],
              "rpa": [RADIUS_MM, 0, 0], "fpz": [0, RADIUS_MM, 0], "t7": [-RADIUS_MM, 0, 0],
              "t8": [RADIUS_MM, 0, 0]}
    beam = beam_f3(scalp, {k: rotation @ np.asarray(v, float) + shift_mm for k, v in points.items()}, frame)
    half = math.pi * RADIUS_MM
    assert (beam.nasion_inion_mm, beam.tragus_tragus_mm, beam.head_circumference_mm) == pytest.approx(
        (half, half, 2 * half), rel=0.01)
    assert np.linalg.norm(beam.cz_ras_mm - shift_mm - rotation @ [0, 0, RADIUS_MM]) < TOLERANCE_MM
    # X along the equator from Fpz towards the left, then Y from Cz down the great circle to it
    dist = beam_distances(half, half, 2 * half)
    phi, psi = dist.x_from_fpz / RADIUS_MM, dist.y_from_cz / RADIUS_MM
    expected = RADIUS_MM * np.array([-math.sin(psi) * math.sin(phi), math.sin(psi) * math.cos(phi), math.cos(psi)])
    # the landmarks are vertices of the icosphere, so the tape starts exactly on them
    assert np.linalg.norm(beam.site_ras_mm - shift_mm - rotation @ expected) < 0.1
    assert (rotation.T @ (beam.site_ras_mm - shift_mm))[0] < -20.0  # on the left


def _alignment(linear: np.ndarray, shift_mm) -> SimpleNamespace:
    """A head alignment whose Colin27-to-native map is ``linear @ p + shift_mm``."""
    matrix = np.eye(4)
    matrix[:3, :3], matrix[:3, 3] = linear, shift_mm
    return SimpleNamespace(colin_to_native=lambda points_mm: apply_affine(matrix, points_mm))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_head_frame_is_the_alignments_rotation(seed):
    """A head turned, scaled and moved: its right, anterior and superior axes are the columns
    of the turn, whatever the scale and shift."""
    rotation = Rotation.random(random_state=seed).as_matrix()
    frame = head_frame(_alignment(1.1 * rotation, [30.0, -20.0, 100.0]))
    assert np.allclose(frame.right, rotation[:, 0], atol=1e-9)
    assert np.allclose(frame.anterior, rotation[:, 1], atol=1e-9)
    assert np.allclose(frame.superior, rotation[:, 2], atol=1e-9)


def test_a_sheared_alignment_gives_an_orthonormal_right_handed_frame_kept_on_its_anterior_axis():
    shear = np.array([[1.0, 0.1, 0.2], [0.0, 1.1, 0.15], [0.0, 0.0, 0.9]])
    rotation = Rotation.random(random_state=5).as_matrix()
    linear = rotation @ shear
    frame = head_frame(_alignment(linear, [-5.0, 12.0, 40.0]))
    axes = np.stack([frame.right, frame.anterior, frame.superior], axis=1)
    assert np.allclose(axes.T @ axes, np.eye(3), atol=1e-9) and np.linalg.det(axes) > 0
    assert np.allclose(frame.anterior, linear[:, 1] / np.linalg.norm(linear[:, 1]), atol=1e-9)
    assert np.dot(frame.superior, linear[:, 2]) > 0.95 * np.linalg.norm(linear[:, 2])
    assert np.dot(frame.right, linear[:, 0]) > 0.95 * np.linalg.norm(linear[:, 0])


def test_montage_landmarks_land_on_the_scalp_where_the_alignment_carries_them(sphere_mesh):
    """A spherical scalp centred where the alignment moves Colin27's origin: each landmark is
    the scalp point in the direction of its Colin27 position, under its own name."""
    centre = np.array([30.0, -20.0, 100.0])
    moved = sphere_mesh.copy()
    moved.apply_translation(centre)
    landmarks = project_montage(Scalp(moved, np.zeros((2, 2, 2), bool)), _alignment(np.eye(3), centre))
    colin = landmark_positions_colin_mm()
    assert list(landmarks) == list(LANDMARK_LABELS) == list(colin)
    for name, point in landmarks.items():
        expected = centre + RADIUS_MM * colin[name] / np.linalg.norm(colin[name])
        assert np.linalg.norm(point - expected) < 0.5, name
