"""Deviation of delivered coil poses from the plan: hand-computed synthetic poses."""

import json
import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from datetime import date

from navsvc.cli import main
from navsvc.deviation import deviation_report, pose_deviation
from navsvc.errors import InputError
from navsvc.export import RecordedPose, export_plan, read_poses
from test_export_readers import brainsight_samples

F3_RAS_MM = np.array([-50.2, 53.1, 42.2])
DEPTH_MM = 20.0      # cortex target on the planned coil axis, this far below the coil centre


def rot_x(deg):
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def rot_z(deg):
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


@pytest.fixture
def planned():
    z = -F3_RAS_MM / np.linalg.norm(F3_RAS_MM)
    handle = np.array([-1.0, -1.0, 0.0])
    handle -= (handle @ z) * z
    y = -handle / np.linalg.norm(handle)
    matrix = np.eye(4)
    matrix[:3, :3] = np.column_stack([np.cross(y, z), y, z])
    matrix[:3, 3] = F3_RAS_MM
    return matrix


@pytest.fixture
def plan(planned):
    return {"plan_id": "P-0001", "target": {"strategy": "beam_f3", "cortex_ras_mm":
                                             list(F3_RAS_MM + DEPTH_MM * planned[:3, 2])},
            "coil": {"matrix": planned.tolist()}}


def delivered_pose(planned, shift_x_mm=3.0, twist_deg=10.0, tilt_deg=5.0):
    """Planned pose twisted about its normal, then tilted about the twisted x axis, and
    shifted along the planned x axis (in the coil plane)."""
    pose = planned.copy()
    pose[:3, :3] = planned[:3, :3] @ rot_z(twist_deg) @ rot_x(tilt_deg)
    pose[:3, 3] = planned[:3, 3] + shift_x_mm * planned[:3, 0]
    return pose


def expected_axis_to_target_mm(shift, twist, tilt):
    # in planned coil coordinates: target - delivered centre = (-shift, 0, DEPTH), delivered
    # normal u = Rz(twist) Rx(tilt) e_z = (sin tw sin ti, -cos tw sin ti, cos ti); |v x u|
    s_tw, c_tw = math.sin(math.radians(twist)), math.cos(math.radians(twist))
    s_ti, c_ti = math.sin(math.radians(tilt)), math.cos(math.radians(tilt))
    cross = (DEPTH_MM * c_tw * s_ti, DEPTH_MM * s_tw * s_ti + shift * c_ti, shift * c_tw * s_ti)
    return math.sqrt(sum(c * c for c in cross))


def test_synthetic_shift_twist_tilt(plan, planned):
    result = pose_deviation(planned, delivered_pose(planned), plan["target"]["cortex_ras_mm"])
    assert result.centre_distance_mm == pytest.approx(3.0, abs=1e-9)
    assert result.tilt_deg == pytest.approx(5.0, abs=1e-9)
    assert result.twist_deg == pytest.approx(10.0, abs=1e-9)
    assert result.axis_to_target_mm == pytest.approx(expected_axis_to_target_mm(3, 10, 5),
                                                     abs=1e-9)
    assert result.axis_to_target_mm == pytest.approx(3.721, abs=1e-3)


def test_twist_sign_and_unsigned_tilt(plan, planned):
    target = plan["target"]["cortex_ras_mm"]
    result = pose_deviation(planned, delivered_pose(planned, 0, -10, -5), target)
    assert result.twist_deg == pytest.approx(-10.0, abs=1e-9)
    assert result.tilt_deg == pytest.approx(5.0, abs=1e-9)
    assert result.centre_distance_mm == pytest.approx(0.0, abs=1e-12)


def test_planned_pose_has_zero_deviation(plan, planned):
    result = pose_deviation(planned, planned, plan["target"]["cortex_ras_mm"])
    assert result.to_dict() == pytest.approx({"centre_distance_mm": 0, "axis_to_target_mm": 0,
                                              "tilt_deg": 0, "twist_deg": 0}, abs=1e-6)


def test_pure_shift_along_the_normal_keeps_the_target_on_the_axis(plan, planned):
    pose = planned.copy()
    pose[:3, 3] += 7.0 * planned[:3, 2]
    result = pose_deviation(planned, pose, plan["target"]["cortex_ras_mm"])
    assert result.centre_distance_mm == pytest.approx(7.0)
    assert result.axis_to_target_mm == pytest.approx(0.0, abs=1e-9)


def test_twist_is_undefined_when_the_handle_points_along_the_planned_normal(plan, planned):
    pose = planned.copy()
    pose[:3, :3] = planned[:3, :3] @ rot_x(90)          # delivered y = planned z
    result = pose_deviation(planned, pose, plan["target"]["cortex_ras_mm"])
    assert result.tilt_deg == pytest.approx(90.0)
    assert math.isnan(result.twist_deg) and result.to_dict()["twist_deg"] is None


def test_the_same_pose_and_a_coil_turned_over_are_0_and_180_degrees_tilted_whatever_the_pose():
    # the dot product of two unit normals rounds past +-1 for about a quarter of the poses
    # (521 of 2,000 here turned over, 525 unchanged); unclipped, acos raised ValueError
    for rotation in Rotation.random(200, random_state=1):
        pose = np.eye(4)
        pose[:3, :3], pose[:3, 3] = rotation.as_matrix(), F3_RAS_MM
        turned_over = pose.copy()
        turned_over[:3, :3] = pose[:3, :3] @ np.diag([1.0, -1.0, -1.0])  # half a turn about x
        target = F3_RAS_MM + DEPTH_MM * pose[:3, 2]
        assert pose_deviation(pose, pose, target).tilt_deg == pytest.approx(0.0, abs=1e-5)
        assert pose_deviation(pose, turned_over, target).tilt_deg == pytest.approx(180.0, abs=1e-5)


@pytest.mark.parametrize("call, message", [
    (lambda planned: pose_deviation(np.eye(3), planned, F3_RAS_MM),
     "planned pose: expected a 4x4 matrix, got shape (3, 3)"),
    (lambda planned: pose_deviation(planned, np.eye(3), F3_RAS_MM),
     "delivered pose: expected a 4x4 matrix, got shape (3, 3)"),
    (lambda planned: pose_deviation(planned, planned, [0.0, math.nan, 1.0]), "target_ras_mm must be 3 finite numbers (mm)"),
    (lambda planned: deviation_report({"target": {"cortex_ras_mm": [0, 0, 0]}, "coil": {"matrix": np.eye(3).tolist()}},
                                      [RecordedPose("a", planned)]),
     "plan coil.matrix: expected a 4x4 matrix, got shape (3, 3)"),
    (lambda planned: deviation_report({"coil": {"matrix": planned.tolist()}}, [RecordedPose("a", planned)]),
     "plan is missing or has a bad field: 'target'"),
    (lambda planned: deviation_report({"target": {"cortex_ras_mm": [0, 0, 0]}, "coil": {"matrix": planned.tolist()}}, []),
     "no recorded pose to compare with the plan"),
])
def test_each_refusal_names_what_is_wrong_in_full(planned, call, message):
    with pytest.raises(InputError) as err:
        call(planned)
    assert str(err.value) == message


def test_why_a_pose_is_left_out_is_said_in_full(plan, planned):
    # a file with delivered poses: its targets are not compared
    report = deviation_report(plan, [RecordedPose("DLPFC", planned, kind="planned"), recorded(planned, "S1", 1)])
    assert report["left_out"] == [{"reason": "target, not a delivered pose (the file has delivered poses)",
                                   "n_poses": 1}]
    # navsvc's own Brainsight export read back: its cortex target row is not a coil pose
    own = deviation_report(plan, read_poses(export_plan(plan, "brainsight", "ras").content))
    assert own["left_out"] == [{"reason": "the plan's cortex target row of navsvc's Brainsight export, "
                                          "not a coil pose", "n_poses": 1}]


def recorded(planned, session, index, **kwargs):
    return RecordedPose(f"pulse {index}", delivered_pose(planned, **kwargs), session=session,
                        index=index, kind="delivered")


def test_report_per_session_mean_and_worst(plan, planned):
    poses = [RecordedPose("DLPFC", planned, kind="planned"),
             recorded(planned, "S1", 1, shift_x_mm=1, twist_deg=10, tilt_deg=2),
             recorded(planned, "S1", 2, shift_x_mm=3, twist_deg=-20, tilt_deg=4),
             recorded(planned, "S2", 1, shift_x_mm=2, twist_deg=4, tilt_deg=0)]
    report = deviation_report(plan, poses)
    assert report["compared"] == "delivered" and report["n_skipped_planned"] == 1
    assert [r["name"] for r in report["rows"]] == ["pulse 1", "pulse 2", "pulse 1"]
    row = report["rows"][1]
    assert {k: row.pop(k) for k in ("name", "session", "index", "target_name", "recorded_at", "kind")} == {
        "name": "pulse 2", "session": "S1", "index": 2, "target_name": None, "recorded_at": None,
        "kind": "delivered"}
    assert row == pytest.approx({"centre_distance_mm": 3.0, "axis_to_target_mm": expected_axis_to_target_mm(3, -20, 4),
                                 "tilt_deg": 4.0, "twist_deg": -20.0})
    assert report["plan_id"] == "P-0001"
    assert report["target_ras_mm"] == pytest.approx(plan["target"]["cortex_ras_mm"])
    s1, s2 = report["sessions"]
    assert (s1["session"], s1["n_poses"], s2["n_poses"]) == ("S1", 2, 1)
    assert s1["mean"]["centre_distance_mm"] == pytest.approx(2.0)
    assert s1["worst"]["centre_distance_mm"] == pytest.approx(3.0)
    assert s1["mean"]["tilt_deg"] == pytest.approx(3.0)
    assert s1["mean"]["twist_abs_deg"] == pytest.approx(15.0)
    assert s1["worst"]["twist_abs_deg"] == pytest.approx(20.0)
    assert report["overall"]["worst"]["tilt_deg"] == pytest.approx(4.0)
    assert report["overall"]["mean"]["centre_distance_mm"] == pytest.approx(2.0)
    json.dumps(report, allow_nan=False)


def test_report_compares_all_poses_when_none_is_delivered(plan, planned):
    report = deviation_report(plan, [RecordedPose("exported coil", planned)])
    assert report["compared"] == "all" and report["sessions"][0]["session"] == "(no session)"
    assert report["rows"][0]["centre_distance_mm"] == pytest.approx(0.0)


@pytest.mark.parametrize("space", ["ras", "lps"])
def test_own_brainsight_export_uploaded_back_compares_the_coil_target_only(plan, space):
    # the cortex target row lies 20 mm under the coil: it was compared as a coil pose
    # (22.5 mm, tilt 54.9 deg in review) and spoiled the report of a verification upload
    report = deviation_report(plan, read_poses(export_plan(plan, "brainsight", space).content))
    assert [row["name"] for row in report["rows"]] == ["P-0001 beam_f3 coil"]
    assert report["rows"][0]["centre_distance_mm"] == pytest.approx(0.0, abs=1e-6)
    assert report["compared"] == "all" and report["n_skipped_planned"] == 1
    assert report["n_left_out"] == 1 and "cortex target" in report["left_out"][0]["reason"]


COIL_TARGET = "P-0001 beam_f3 coil"


def m1_pose(planned):
    pose = planned.copy()
    pose[:3, 3] = [-38.0, -20.0, 70.0]       # over the motor hand knob, ~75 mm from the plan
    return pose


def test_samples_associated_with_another_target_are_left_out(plan, planned):
    # motor threshold hunted at M1 in the same Brainsight session: pooled with the DLPFC
    # samples they gave a mean of 18.7 mm and a worst of 89.7 mm for a session 1 mm off
    one_mm = delivered_pose(planned, shift_x_mm=1.0, twist_deg=0.0, tilt_deg=0.0)
    samples = ([(f"MT {i}", "Session 1", "M1 hotspot", m1_pose(planned), "2025-03-03")
                for i in range(5)]
               + [(f"Tx {i}", "Session 1", COIL_TARGET, one_mm, "2025-03-03") for i in range(3)]
               + [("Tx free", "Session 1", None, one_mm, "2025-03-03")])
    report = deviation_report(plan, read_poses(brainsight_samples(samples)))
    assert [row["name"] for row in report["rows"]] == ["Tx 0", "Tx 1", "Tx 2", "Tx free"]
    assert report["overall"]["worst"]["centre_distance_mm"] == pytest.approx(1.0, abs=0.01)
    assert report["n_left_out"] == 5 and report["left_out"] == [{
        "reason": "associated with target 'M1 hotspot', not with the plan's coil target "
                  "'P-0001 beam_f3 coil' (nor its along-normal or cortex target)", "n_poses": 5}]


def test_no_sample_of_the_plans_coil_target_is_an_input_error(plan, planned):
    samples = [("MT 1", "Session 1", "M1 hotspot", m1_pose(planned), "2025-03-03"),
               ("Tx 1", "Session 1", "DLPFC", planned, "2025-03-03")]
    with pytest.raises(InputError, match=r"no pose of the file can be compared with the plan: "
                                         r"1 associated with target 'M1 hotspot', .*; 1 associated "
                                         r"with target 'DLPFC', not with the plan's coil target "
                                         r"'P-0001 beam_f3 coil' \(nor its along-normal or "
                                         r"cortex target\)"):
        deviation_report(plan, read_poses(brainsight_samples(samples)))


def test_a_file_spanning_several_days_keeps_the_sessions_day(plan, planned):
    far = delivered_pose(planned, shift_x_mm=6.0, twist_deg=0.0, tilt_deg=0.0)
    samples = [("Mon 1", "Session 1", COIL_TARGET, planned, "2025-03-03"),
               ("Tue 1", "Session 2", COIL_TARGET, far, "2025-03-04"),
               ("Tue 2", "Session 2", None, far, "2025-03-04")]
    poses = read_poses(brainsight_samples(samples))
    monday = deviation_report(plan, poses, date(2025, 3, 3))
    assert [row["name"] for row in monday["rows"]] == ["Mon 1"]
    assert monday["left_out"] == [{"reason": "recorded on 2025-03-04, not on the session's day "
                                             "2025-03-03", "n_poses": 2}]
    assert len(deviation_report(plan, poses)["rows"]) == 3          # no day given: all
    # a one-day file is kept whole, whatever the session's day (the navigator's clock may be off)
    assert len(deviation_report(plan, poses[1:], date(2025, 3, 3))["rows"]) == 2


def test_report_rejects_empty_poses_and_bad_plan(plan, planned):
    with pytest.raises(InputError, match="no recorded pose"):
        deviation_report(plan, [])
    with pytest.raises(InputError, match="coil"):
        deviation_report({"target": plan["target"]}, [RecordedPose("a", planned)])


def test_deviation_command(plan, planned, tmp_path, capsys):
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    delivered = {"format": "navsvc.poses", "format_version": 1, "space": "LPS", "units": "mm",
                 "poses": [{"name": "pulse 1", "kind": "delivered", "session": "S1",
                            "matrix": (np.diag([-1.0, -1.0, 1.0, 1.0])
                                       @ delivered_pose(planned)).tolist()}]}
    poses_file = tmp_path / "delivered.json"
    poses_file.write_text(json.dumps(delivered))
    assert main(["deviation", str(tmp_path), str(poses_file), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["rows"][0]
    assert row["twist_deg"] == pytest.approx(10.0) and row["tilt_deg"] == pytest.approx(5.0)
    assert row["centre_distance_mm"] == pytest.approx(3.0)
    assert main(["deviation", str(tmp_path / "plan.json"), str(poses_file)]) == 0
    text = capsys.readouterr().out
    assert "pulse 1" in text and "S1 worst" in text and "10.0" in text
    assert main(["deviation", str(tmp_path), str(tmp_path / "missing.xml")]) == 2
    assert "no pose file" in capsys.readouterr().err


@pytest.mark.parametrize("row", ["along-normal coil", "cortex target"])
def test_samples_taken_at_the_plans_other_brainsight_rows_are_compared(plan, planned, row):
    # navsvc's Brainsight export lists the along-normal pose and the cortex target as
    # targets too; an operator who navigated to either gave the plan's treatment
    one_mm = delivered_pose(planned, shift_x_mm=1.0, twist_deg=0.0, tilt_deg=0.0)
    own_row = f"P-0001 beam_f3 {row}"
    samples = [(f"Tx {i}", "Session 1", own_row, one_mm, "2025-03-03") for i in range(2)]
    report = deviation_report(plan, read_poses(brainsight_samples(samples)))
    assert [r["target_name"] for r in report["rows"]] == [own_row, own_row]
    assert report["n_left_out"] == 0
    assert report["overall"]["worst"]["centre_distance_mm"] == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("fmt", ["json", "simnibs"])
def test_a_file_written_for_another_plan_is_refused(plan, planned, fmt):
    # another patient's file compared with this plan would make a false treatment record
    other = {**plan, "plan_id": "P-0002"}
    with pytest.raises(InputError) as err:
        deviation_report(plan, read_poses(export_plan(other, fmt).content))
    assert str(err.value) == ("the pose file was written for plan 'P-0002', not for this plan 'P-0001': "
                              "check that it is this patient's file for this plan")
    assert deviation_report(plan, read_poses(export_plan(plan, fmt).content))["n_left_out"] == 0


def test_a_file_naming_two_other_plans_names_both(plan, planned):
    poses = [RecordedPose(f"pulse {i}", planned, kind="delivered", plan_id=plan_id)
             for i, plan_id in enumerate(["P-0003", "P-0001", "P-0002"])]
    with pytest.raises(InputError, match="^the pose file was written for plan 'P-0002', 'P-0003', not for this plan"):
        deviation_report(plan, poses)
