"""navsvc.coil: the coil pose convention (SimNIBS matsimnibs, handle along -y).

Geometry: a spherical head of radius 90 mm centred at the origin (RAS), the coil over
a left-frontal point where F3 lies, the patient's axes R = +x, A = +y, S = +z.
"""

from __future__ import annotations

import numpy as np
import pytest

from navsvc.coil import axis_distance_mm, coil_matrix, handle_direction, handle_direction_words
from navsvc.errors import InputError
from navsvc.export.conventions import PLAN_ORTHONORMAL_TOLERANCE, check_pose

HEAD_RADIUS_MM = 90.0
RIGHT, ANTERIOR, SUPERIOR = np.eye(3)
LEFT = -RIGHT
#: F3 direction on a spherical head: left, anterior, superior
F3_RAS_MM = HEAD_RADIUS_MM * np.array([-0.55, 0.67, 0.5]) / np.linalg.norm([-0.55, 0.67, 0.5])
F3_INWARD = -F3_RAS_MM / np.linalg.norm(F3_RAS_MM)
ANGLES_DEG = [0.0, 15.0, 30.0, 45.0, 60.0, 90.0]


def is_valid_pose(matrix) -> bool:
    """The exports' own pose check at the engine's tolerance (orthonormal, right-handed, 0 0 0 1)."""
    try:
        check_pose(matrix, tolerance=PLAN_ORTHONORMAL_TOLERANCE, orthonormalize=False)
    except InputError:
        return False
    return True


def parasagittal_backwards(inward_normal, lateral):
    """Unit line in the coil plane parallel to the midsagittal plane, pointing posterior
    (all the normals of these tests but the marked ones lie on the upper half of the head)."""
    d = np.cross(inward_normal, lateral)
    d /= np.linalg.norm(d)
    return d if d @ ANTERIOR < 0 else -d


def in_plane_angle_deg(handle, inward_normal, lateral) -> float:
    """Angle in the coil plane between the handle and the parasagittal line, degrees."""
    back = parasagittal_backwards(inward_normal, lateral)
    return float(np.degrees(np.arccos(np.clip(handle @ back, -1.0, 1.0))))


def f3_coil(angle_deg=45.0, distance_mm=4.0):
    handle = handle_direction(F3_INWARD, RIGHT, LEFT, angle_deg)
    return coil_matrix(F3_RAS_MM, F3_INWARD, handle, distance_mm), handle


# -------------------------------------------------------------------- the matrix


@pytest.mark.parametrize("angle_deg", ANGLES_DEG)
def test_coil_axes_are_orthonormal_right_handed_z_into_the_head(angle_deg):
    matrix, handle = f3_coil(angle_deg)
    x, y, z, centre = matrix[:3, 0], matrix[:3, 1], matrix[:3, 2], matrix[:3, 3]
    assert is_valid_pose(matrix)
    assert np.allclose(matrix[:3, :3].T @ matrix[:3, :3], np.eye(3), atol=1e-12)
    assert np.isclose(np.linalg.det(matrix[:3, :3]), 1.0)
    assert np.allclose(np.cross(y, z), x) and np.allclose(np.cross(x, y), z)  # x = y × z
    assert np.allclose(matrix[3], [0, 0, 0, 1])
    # z points into the head: towards the sphere's centre
    assert np.allclose(z, F3_INWARD)
    assert (np.zeros(3) - centre) @ z > 0
    # the handle points to -y
    assert np.allclose(-y, handle)


def test_coil_centre_is_the_distance_outside_the_scalp():
    matrix, _ = f3_coil(distance_mm=4.0)
    centre = matrix[:3, 3]
    assert np.isclose(np.linalg.norm(centre), HEAD_RADIUS_MM + 4.0)
    assert np.allclose(centre, F3_RAS_MM - 4.0 * F3_INWARD)
    touching, _ = f3_coil(distance_mm=0.0)
    assert np.allclose(touching[:3, 3], F3_RAS_MM)


def test_coil_matrix_projects_an_off_plane_handle_into_the_coil_plane():
    tilted_handle = np.array([-0.5, -1.0, 0.7])
    matrix = coil_matrix(F3_RAS_MM, F3_INWARD, tilted_handle, 4.0)
    assert is_valid_pose(matrix)
    assert abs(matrix[:3, 1] @ F3_INWARD) < 1e-12
    projected = tilted_handle - (tilted_handle @ F3_INWARD) * F3_INWARD
    assert np.allclose(-matrix[:3, 1], projected / np.linalg.norm(projected))


# ------------------------------------------------------------------------ handle


@pytest.mark.parametrize("angle_deg", ANGLES_DEG)
def test_handle_angle_is_measured_from_the_midsagittal_plane(angle_deg):
    handle = handle_direction(F3_INWARD, RIGHT, LEFT, angle_deg)
    assert np.isclose(np.linalg.norm(handle), 1.0)
    assert abs(handle @ F3_INWARD) < 1e-12  # in the coil plane
    assert np.isclose(in_plane_angle_deg(handle, F3_INWARD, LEFT), angle_deg, atol=1e-9)
    if angle_deg < 90:
        assert handle @ ANTERIOR < 0  # posterior
    if angle_deg > 0:
        assert handle @ LEFT > 0  # turned away from the midline (the left hemisphere: to -x)


def test_handle_at_zero_degrees_is_parallel_to_the_midsagittal_plane():
    handle = handle_direction(F3_INWARD, RIGHT, LEFT, 0.0)
    assert abs(handle @ RIGHT) < 1e-12
    assert handle @ ANTERIOR < 0


def test_handle_on_the_vertex_has_the_angle_seen_from_above():
    # at the vertex the coil plane is axial: the handle is (-sin a, -cos a, 0) for a left target
    for angle_deg in ANGLES_DEG:
        handle = handle_direction(-SUPERIOR, RIGHT, LEFT, angle_deg)
        a = np.radians(angle_deg)
        assert np.allclose(handle, [-np.sin(a), -np.cos(a), 0.0], atol=1e-12)


def test_handle_at_45_degrees_over_f3_points_back_and_left():
    matrix, handle = f3_coil(45.0)
    assert handle[0] < 0 and handle[1] < 0  # left (-x) and posterior (-y)
    # 45 deg from the parasagittal line, so equal parts backwards and outwards in the plane
    back = parasagittal_backwards(F3_INWARD, LEFT)
    outwards = LEFT - (LEFT @ F3_INWARD) * F3_INWARD
    outwards /= np.linalg.norm(outwards)
    assert np.isclose(handle @ back, handle @ outwards)


def test_right_hemisphere_handle_is_the_mirror_image():
    mirror = np.diag([-1.0, 1.0, 1.0])
    f4, f4_inward = mirror @ F3_RAS_MM, mirror @ F3_INWARD
    for angle_deg in ANGLES_DEG:
        left = handle_direction(F3_INWARD, RIGHT, LEFT, angle_deg)
        right = handle_direction(f4_inward, RIGHT, RIGHT, angle_deg)
        assert np.allclose(right, mirror @ left, atol=1e-12)
    assert is_valid_pose(coil_matrix(f4, f4_inward, right, 4.0))  # still right-handed


# ----------------------------------------------------------------- axis distance


def test_axis_distance_hand_examples():
    matrix = np.eye(4)  # centre at the origin, z axis along +z
    assert np.isclose(axis_distance_mm(matrix, [3.0, 4.0, 10.0]), 5.0)
    assert np.isclose(axis_distance_mm(matrix, [0.0, 0.0, 25.0]), 0.0)
    assert np.isclose(axis_distance_mm(matrix, [0.0, 0.0, -25.0]), 0.0)  # a line, not a ray
    shifted = np.eye(4)
    shifted[:3, 3] = [10.0, 0.0, 0.0]
    assert np.isclose(axis_distance_mm(shifted, [10.0, -7.0, 3.0]), 7.0)


def test_axis_distance_over_f3():
    matrix, _ = f3_coil(45.0)
    z = matrix[:3, 2]
    on_axis = F3_RAS_MM + 20.0 * z  # 20 mm deep under the entry point
    assert axis_distance_mm(matrix, on_axis) < 1e-9
    assert np.isclose(axis_distance_mm(matrix, np.zeros(3)), 0.0, atol=1e-9)  # the sphere's centre
    off = on_axis + 3.0 * matrix[:3, 0]  # 3 mm along the coil's x
    assert np.isclose(axis_distance_mm(matrix, off), 3.0)


# -------------------------------------------------------------------- validation


def test_is_valid_pose_rejects_bad_matrices():
    matrix, _ = f3_coil()
    left_handed = matrix.copy()
    left_handed[:3, 0] *= -1
    assert not is_valid_pose(left_handed)
    scaled = matrix.copy()
    scaled[:3, :3] *= 1.01
    assert not is_valid_pose(scaled)
    bad_row = matrix.copy()
    bad_row[3, 0] = 1.0
    assert not is_valid_pose(bad_row)


# ------------------------------------------------------------------ degenerate normal


@pytest.mark.parametrize("normal", [LEFT, RIGHT])
def test_normal_along_the_left_right_axis_is_bad_input_naming_the_point(normal):
    # the coil plane is then parallel to the midsagittal plane: no parasagittal line to measure
    # the handle angle from (it raised a bare ValueError from normalising a zero vector); only
    # a target the user chose can be there, so it is their input to change (exit 2)
    with pytest.raises(InputError, match=r"scalp normal at \[-75\.0, 10\.5, 20\.0\] mm .* "
                                            r"lies along the left-right axis"):
        handle_direction(normal, RIGHT, LEFT, 45.0, point_ras_mm=[-75.0, 10.5, 20.0])
    with pytest.raises(InputError, match=r"scalp normal \(\[.*choose a target"):
        handle_direction(normal, RIGHT, LEFT, 0.0)


def test_normal_a_little_off_the_left_right_axis_still_has_a_handle():
    normal = np.array([1.0, 0.0, 1e-3])  # 0.06 deg from the axis: still a defined plane
    handle = handle_direction(normal, RIGHT, LEFT, 0.0)
    # a point a little below the left ear: back along the forehead-vertex-occiput line is up
    # the front of the head there
    assert np.allclose(handle, [0.0, 1.0, 0.0]) and abs(handle @ normal) < 1e-12


def _sagittal_arc_normals(elevations_deg, lateral_tilt_deg=35.0):
    """Inward normals of a left parasagittal arc over a spherical head, from the front
    (elevation 0: the forehead, straight anterior) over the vertex (90) to the back (180)."""
    e = np.radians(np.asarray(elevations_deg, float))[:, None]
    tilt = np.radians(lateral_tilt_deg)
    outward = np.cos(tilt) * (np.cos(e) * ANTERIOR + np.sin(e) * SUPERIOR) + np.sin(tilt) * LEFT
    return -outward


@pytest.mark.parametrize("angle_deg", [0.0, 45.0, 90.0, -45.0])
def test_handle_turns_smoothly_over_the_forehead_vertex_and_occiput(angle_deg):
    # The posterior-pointing side of the parasagittal line was chosen by the sign of its
    # anterior component, which vanishes where the normal is horizontal: 1 deg up or down
    # on the forehead (Fp1) turned the handle by 90 deg.
    elevations = np.linspace(-30.0, 210.0, 481)  # 0.5 deg steps, from below Fp1 to below the inion
    handles = np.array([handle_direction(n, RIGHT, LEFT, angle_deg) for n in _sagittal_arc_normals(elevations)])
    steps_deg = np.degrees(np.arccos(np.clip(np.sum(handles[1:] * handles[:-1], axis=1), -1.0, 1.0)))
    assert steps_deg.max() < 2.0, f"the handle jumps {steps_deg.max():.1f} deg between normals 0.5 deg apart"


def test_handle_at_zero_degrees_points_up_on_the_forehead_back_on_top_and_down_at_the_back():
    forehead, vertex, occiput = _sagittal_arc_normals([0.0, 90.0, 180.0])
    assert handle_direction(forehead, RIGHT, LEFT, 0.0) @ SUPERIOR > 0.99
    assert handle_direction(vertex, RIGHT, LEFT, 0.0) @ ANTERIOR < -0.99
    assert handle_direction(occiput, RIGHT, LEFT, 0.0) @ SUPERIOR < -0.99


def test_on_the_upper_head_the_handle_at_zero_degrees_points_posterior():
    # where every DLPFC target lies: the rule agrees with "posterior" whenever the scalp
    # faces upwards at all
    for normal in _sagittal_arc_normals(np.linspace(1.0, 179.0, 179)):
        assert handle_direction(normal, RIGHT, LEFT, 0.0) @ ANTERIOR < 0


@pytest.mark.parametrize("angle_deg,words", [
    (0, "posterior"), (45, "posterior and lateral"), (90, "lateral"), (135, "anterior and lateral"),
    (180, "anterior"), (-180, "anterior"), (-45, "posterior and medial"), (-90, "medial"),
    (-135, "anterior and medial"), (405, "posterior and lateral"), (0.5, "posterior and lateral"),
    (-0.5, "posterior and medial"), (90.5, "anterior and lateral"), (-89.5, "posterior and medial"),
    (540, "anterior"), (-360, "posterior")])
def test_handle_direction_words_follow_the_handle(angle_deg, words):
    # the summary said "posterior" for every angle: 135 deg points the handle anterior
    assert handle_direction_words(angle_deg) == words
    if abs(angle_deg) <= 180:
        lateral, anterior = np.array([-1.0, 0, 0]), np.array([0, 1.0, 0])
        handle = handle_direction(np.array([0, 0, -1.0]), -lateral, lateral, angle_deg)
        if "posterior" in words:
            assert handle @ anterior < -1e-6
        if "anterior" in words:
            assert handle @ anterior > 1e-6
        if "lateral" in words:
            assert handle @ lateral > 1e-6
        if "medial" in words:
            assert handle @ lateral < -1e-6
