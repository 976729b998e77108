"""The navsvc JSON pose reader on integrator-written files: the explicit centre, normal and
handle fields checked against the matrix, and what a delivered pose says kept."""

import json

import numpy as np
import pytest

from navsvc.errors import InputError
from navsvc.export import read_poses
from test_export_readers import C, POSE, X, Y, Z


def integrator_json(matrix=POSE, space="RAS", **fields):
    pose = {"name": "pulse 1", "kind": "delivered", "matrix": np.asarray(matrix).tolist(),
            **{key: list(value) for key, value in fields.items()}}
    return json.dumps({"format": "navsvc.poses", "format_version": 1, "space": space,
                       "units": "mm", "poses": [pose]}).encode()


def rotated(vector, axis, degrees):
    """``vector`` turned about ``axis`` by ``degrees`` (Rodrigues)."""
    k, a = axis / np.linalg.norm(axis), np.radians(degrees)
    return vector * np.cos(a) + np.cross(k, vector) * np.sin(a) + k * (k @ vector) * (1 - np.cos(a))


def test_integrator_json_explicit_fields_that_agree_are_accepted():
    lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ POSE
    agreeing = integrator_json(lps, "LPS", centre_mm=lps[:3, 3] + [0.5, 0, 0],
                               normal_into_head=rotated(lps[:3, 2], lps[:3, 0], 1.5),
                               handle_direction=-3 * rotated(lps[:3, 1], lps[:3, 2], 1.5))
    assert np.allclose(read_poses(agreeing)[0].matrix_ras, POSE, atol=1e-12)


def test_integrator_json_refuses_a_handle_reversed_against_its_explicit_fields():
    # handle turned 180 degrees about the normal, still right-handed; the fields say the plan's
    reversed_handle = POSE.copy()
    reversed_handle[:3, :2] *= -1
    data = integrator_json(reversed_handle, centre_mm=C, normal_into_head=Z, handle_direction=-Y)
    with pytest.raises(InputError, match=r"pose 1 \('pulse 1'\): handle_direction \[-0\.7218, "
                                         r"-0\.692, 0\.0122\] disagrees with the matrix, which gives "
                                         r"\[0\.7218, 0\.692, -0\.0122\] \(180 degrees apart"):
        read_poses(data)


@pytest.mark.parametrize("field, value, message", [
    ("centre_mm", C + [0, 1.2, 0], r"centre_mm \[-50\.2, 54\.3, 42\.2\] .* \[-50\.2, 53\.1, 42\.2\] "
                                   r"\(1\.2 mm apart, more than 1\)"),
    ("centre_mm", C + [0.9, 0, -0.9], r"\(1\.27 mm apart, more than 1\)"),  # 0.9 mm off on two axes
    ("normal_into_head", rotated(Z, X, 2.5), r"normal_into_head .* \(2\.5 degrees apart, more than 2\)"),
    ("handle_direction", -rotated(Y, Z, -3.0), r"handle_direction .* \(3 degrees apart"),
    ("handle_direction", [0.0, 0.0, 0.0], "zero vector"),
    ("normal_into_head", [float("nan"), 0.0, 1.0], "non-finite"),
    ("centre_mm", [10 ** 400, 0, 0], "beyond floating point"),
])
def test_integrator_json_refuses_explicit_fields_that_disagree(field, value, message):
    with pytest.raises(InputError, match=message):
        read_poses(integrator_json(**{field: value}))


def test_integrator_json_keeps_what_it_says_of_a_delivered_pose():
    pose = {"name": "pulse 7", "kind": "delivered", "matrix": POSE.tolist(), "session": "S3", "index": 7,
            "target_name": "DLPFC", "recorded_at": "2026-03-02T10:15:00"}
    document = {"format": "navsvc.poses", "format_version": 1, "space": "RAS", "units": "mm",
                "plan_id": "P-0001", "poses": [pose, {"name": "marker", "matrix": POSE.tolist()}]}
    delivered, marker = read_poses(json.dumps(document).encode())
    assert (delivered.kind, delivered.session, delivered.index, delivered.target_name, delivered.recorded_at,
            delivered.plan_id) == ("delivered", "S3", 7, "DLPFC", "2026-03-02T10:15:00", "P-0001")
    assert (marker.kind, marker.index, marker.session) == ("planned", 2, None)  # unsaid: planned, numbered
