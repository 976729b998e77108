"""The coil pose a delivery log records, compared with the plan's: a matrix, a
navigator's file (only the plan's target and the session's day), a bad pose, and the
course summary's mean and worst deviation."""

from __future__ import annotations

import base64
import json

import pytest
from api_test_fakes import COIL_MATRIX, plan_dict
from course_helpers import clear_screening, delivery, log_delivery, sessions


def test_a_delivered_matrix_is_compared_with_the_plan_on_all_four_measures(client, auth, course):
    # the plan's coil sits 20 mm left of its target, z along +x; delivered 2.044 mm anterior
    # (logged to 0.01 mm) and turned 10 degrees anticlockwise about its own z axis (a twist
    # of -10: its size is logged)
    import math

    clear_screening(client, auth, course["id"])
    first = sessions(client, auth, course["id"])["items"][0]
    c, s = math.cos(math.radians(-10)), math.sin(math.radians(-10))
    delivered = [[0.0, 0.0, 1.0, -58.0], [-s, -c, 0.0, 46.044], [c, -s, 0.0, 26.0], [0.0, 0.0, 0.0, 1.0]]
    response = log_delivery(client, auth, first["id"], delivery("2025-03-03", pose_matrix=delivered))
    assert response.status_code == 201, response.text
    deviation = response.json()["deviation"]
    expected = {"centre_distance_mm": 2.04, "axis_to_target_mm": 2.04, "tilt_deg": 0.0, "twist_abs_deg": 10.0}
    assert deviation["mean"] == deviation["worst"] == expected
    assert (deviation["source"], deviation["n_poses"], deviation["n_left_out"]) == ("matrix", 1, 0)


def test_the_course_summary_averages_the_logged_poses_and_counts_adherence_without_cancelled(client, auth, course):
    # two sessions given 1 mm and 3 mm off the planned coil centre, one missed, then the
    # course stopped: 2 of 3 sessions due were given (the cancelled ones were never due)
    clear_screening(client, auth, course["id"])
    items = sessions(client, auth, course["id"])["items"]
    for item, day, shift_mm in ((items[0], "2025-03-03", 1.0), (items[1], "2025-03-04", 3.0)):
        moved = [row[:] for row in COIL_MATRIX]
        moved[1][3] += shift_mm
        assert log_delivery(client, auth, item["id"], delivery(day, pose_matrix=moved)).status_code == 201
    assert client.post(f"/api/v1/sessions/{items[2]['id']}/missed", headers=auth["technician"],
                       json={}).status_code == 200
    assert client.post(f"/api/v1/courses/{course['id']}/stop", headers=auth["clinician"],
                       json={"note": "moved away"}).status_code == 200
    summary = client.get(f"/api/v1/courses/{course['id']}/summary", headers=auth["clinician"]).json()
    assert summary["adherence"] == 0.667 and summary["cumulative_pulses"] == 6000
    assert summary["deviation"]["mean"]["centre_distance_mm"] == 2.0
    assert summary["deviation"]["worst"]["centre_distance_mm"] == 3.0


def test_pose_file_and_bad_pose(client, auth, course):
    clear_screening(client, auth, course["id"])
    first, second = sessions(client, auth, course["id"])["items"][:2]
    bad = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1]]
    response = log_delivery(client, auth, first["id"], delivery("2025-03-03", pose_matrix=bad))
    assert response.status_code == 422
    from navsvc.export import export_plan

    localite = export_plan(plan_dict(), "localite").content
    response = log_delivery(client, auth, first["id"], delivery(
        "2025-03-03", pose_file={"base64": base64.b64encode(localite).decode()}))
    assert response.status_code == 201, response.text
    deviation = response.json()["deviation"]
    assert deviation["source"] == "localite" and deviation["n_poses"] >= 1
    assert deviation["worst"]["centre_distance_mm"] == pytest.approx(0.0, abs=1e-3)
    response = log_delivery(client, auth, second["id"], delivery(
        "2025-03-04", pose_file={"text": "not a navigator file"}))
    assert response.status_code == 422 and "unrecognised" in response.json()["detail"]
    not_base64 = base64.b64encode(localite).decode()[:40] + "!" + base64.b64encode(localite).decode()[40:]
    response = log_delivery(client, auth, second["id"], delivery("2025-03-04", pose_file={"base64": not_base64}))
    assert response.status_code == 422 and response.json()["detail"] == "pose_file.base64 is not valid base64"


def _delivered_poses_json(samples) -> str:
    """navsvc JSON of delivered poses ``(target_name, shift of the plan's coil in mm, day)``."""
    poses = []
    for number, (target, shift_mm, day) in enumerate(samples, start=1):
        matrix = [row[:] for row in COIL_MATRIX]
        matrix[0][3] += shift_mm
        poses.append({"name": f"sample {number}", "kind": "delivered", "matrix": matrix,
                      "target_name": target, "recorded_at": f"{day}T09:{number:02d}:00"})
    return json.dumps({"format": "navsvc.poses", "format_version": 1, "space": "RAS",
                       "units": "mm", "poses": poses})


def test_pose_file_keeps_the_plans_target_and_the_sessions_day(client, auth, course):
    # a file holding motor-threshold samples at another target and yesterday's session was
    # pooled whole into this session's deviation
    clear_screening(client, auth, course["id"])
    first = sessions(client, auth, course["id"])["items"][0]
    plan = client.get(f"/api/v1/courses/{course['id']}", headers=auth["clinician"]).json()
    coil_target = f"{plan['plan_id']} fox2012 coil"
    text = _delivered_poses_json([("M1 hotspot", 80.0, "2025-03-03"), (coil_target, 1.0, "2025-03-03"),
                                  (None, 1.0, "2025-03-03"), (coil_target, 9.0, "2025-03-02")])
    response = log_delivery(client, auth, first["id"], delivery("2025-03-03", pose_file={"text": text}))
    assert response.status_code == 201, response.text
    deviation = response.json()["deviation"]
    assert deviation["source"] == "json" and deviation["n_poses"] == 2
    assert deviation["worst"]["centre_distance_mm"] == pytest.approx(1.0)
    assert deviation["n_left_out"] == 2 and deviation["left_out"] == [
        {"reason": f"associated with target 'M1 hotspot', not with the plan's coil target "
                   f"'{coil_target}' (nor its along-normal or cortex target)", "n_poses": 1},
        {"reason": "recorded on 2025-03-02, not on the session's day 2025-03-03", "n_poses": 1}]
