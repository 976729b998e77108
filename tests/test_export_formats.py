"""Export -> read round trips, the public API, file contents and the export command."""

import io
import json
import xml.etree.ElementTree as ET
import zipfile

import jsonschema
import numpy as np
import pytest
import scipy.io

from navsvc.cli import main
from navsvc.errors import InputError
from navsvc.export import (
    EXPORT_FORMATS, ExportFile, export_plan, read_brainsight, read_integrator_json,
    read_localite, read_poses, read_simnibs,
)
from navsvc.export.integrator_json import export_schema
from navsvc.testing.schema_keys import written_and_documented_keys

F3_RAS_MM = np.array([-50.2, 53.1, 42.2])
READERS = {"json": read_integrator_json, "localite": read_localite,
           "brainsight": read_brainsight, "simnibs": read_simnibs}
CASES = [(f, s) for f in EXPORT_FORMATS for s in ("ras", "lps") if (f, s) != ("simnibs", "lps")]


def pose(centre, outward, handle_hint):
    """SimNIBS-convention pose: z = -outward (into the head), handle (-y) near handle_hint."""
    z = -np.asarray(outward, float) / np.linalg.norm(outward)
    handle = np.asarray(handle_hint, float) - (np.asarray(handle_hint, float) @ z) * z
    y = -handle / np.linalg.norm(handle)
    matrix = np.eye(4)
    matrix[:3, :3] = np.column_stack([np.cross(y, z), y, z])
    matrix[:3, 3] = centre
    return matrix


@pytest.fixture
def plan():
    coil = pose(F3_RAS_MM, F3_RAS_MM, [-1, -1, 0])
    along = pose(F3_RAS_MM + [1.5, -2.0, 0.5], F3_RAS_MM + [0, 8, 0], [-1, -1, 0])
    return {"plan_id": "P-0001", "patient": {"name": "Jane Roe", "birth_date": "1970-01-01"},
            "target": {"strategy": "beam_f3", "cortex_ras_mm": list(F3_RAS_MM + 20 * coil[:3, 2])},
            "entry": {"scalp_ras_mm": list(F3_RAS_MM + 4 * coil[:3, 2]),
                      "along_normal": {"coil_matrix": along.tolist()}},
            "coil": {"matrix": coil.tolist(), "distance_to_scalp_mm": 4.0,
                     "handle_angle_deg": 45.0}}


def coil_poses(poses):
    return [p for p in poses if "cortex target" not in p.name]


@pytest.mark.parametrize("fmt, space", CASES)
def test_round_trip_gives_the_same_matrices(plan, fmt, space):
    exported = export_plan(plan, fmt, space)
    assert isinstance(exported, ExportFile) and exported.content
    for poses in (read_poses(exported.content), READERS[fmt](exported.content)):
        poses = coil_poses(poses)
        assert len(poses) == 2
        assert np.abs(poses[0].matrix_ras - np.array(plan["coil"]["matrix"])).max() < 1e-6
        along = np.array(plan["entry"]["along_normal"]["coil_matrix"])
        assert np.abs(poses[1].matrix_ras - along).max() < 1e-6
        assert all(p.kind == "planned" for p in poses)
        assert [p.name for p in poses] == ["P-0001 beam_f3 coil", "P-0001 beam_f3 along-normal coil"]


@pytest.mark.parametrize("fmt, space", CASES)
def test_names_carry_plan_id_and_strategy_only(plan, fmt, space):
    exported = export_plan(plan, fmt, space)
    contents = [exported.content]
    if fmt == "simnibs":
        with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
            contents = [archive.read(n) for n in archive.namelist()]
    joined = b"".join(contents)
    assert b"P-0001" in joined and b"beam_f3" in joined
    assert b"Jane" not in joined and b"1970" not in joined
    assert "P-0001" in exported.filename and "/" not in exported.filename


@pytest.mark.parametrize("space", ["ras", "lps"])
def test_localite_comment_stays_well_formed_with_hyphen_runs(plan, space):
    # "--" in an XML comment, or a comment ending in "-", made the whole file unreadable
    plan["plan_id"], plan["target"]["strategy"] = "P--1", "beam_f3-"
    content = export_plan(plan, "localite", space).content
    root = ET.fromstring(content)
    comment = content.decode().split("<!--", 1)[1].split("-->", 1)[0]
    assert "--" not in comment and not comment.endswith("-") and "P- -1" in comment
    assert [m.get("description") for m in root.iter("Marker")] == [
        "P--1 beam_f3- coil", "P--1 beam_f3- along-normal coil"]
    assert [p.name for p in read_poses(content)] == ["P--1 beam_f3- coil",
                                                     "P--1 beam_f3- along-normal coil"]
    plan["target"]["strategy"] = "-"  # the comment's text itself around a lone hyphen
    ET.fromstring(export_plan(plan, "localite", space).content)


def test_plan_without_along_normal_exports_one_pose(plan):
    del plan["entry"]["along_normal"]
    for fmt in EXPORT_FORMATS:
        assert len(coil_poses(read_poses(export_plan(plan, fmt).content))) == 1


def test_media_types_and_file_names(plan):
    expected = {"json": ("application/json", ".json"), "localite": ("application/xml", ".xml"),
                "brainsight": ("text/plain; charset=utf-8", ".txt"),
                "simnibs": ("application/zip", ".zip")}
    for fmt, (media_type, suffix) in expected.items():
        exported = export_plan(plan, fmt)
        assert exported.media_type == media_type and exported.filename.endswith(suffix)
    assert export_plan(plan, "localite").filename == "navsvc_P-0001_InstrumentMarker.xml"


@pytest.mark.parametrize("plan_id, stem", [("../../etc/passwd x", "navsvc_etc_passwd_x"),
                                           ("P 7/3:ü", "navsvc_P_7_3"), ("/./", "navsvc_plan"),
                                           ("_X-1_", "navsvc_X-1")])
def test_file_names_keep_only_safe_characters_of_the_plan_id(plan, plan_id, stem):
    plan["plan_id"] = plan_id
    for fmt in EXPORT_FORMATS:
        assert export_plan(plan, fmt).filename.startswith(stem + "_")


def test_the_files_name_the_plan_in_their_notes(plan):
    assert b"navsvc plan P-0001 (beam_f3). Written by navsvc" in export_plan(plan, "localite").content
    assert b"# Notes: navsvc plan P-0001 (beam_f3). Coil targets first" in export_plan(plan, "brainsight").content


def test_unknown_format_and_space_list_valid_values(plan):
    with pytest.raises(InputError, match="json, localite, brainsight, simnibs"):
        export_plan(plan, "ant")
    with pytest.raises(InputError, match="ras, lps"):
        export_plan(plan, "localite", "mni")
    with pytest.raises(InputError, match="always RAS"):
        export_plan(plan, "simnibs", "lps")


def test_plan_without_coil_matrix_is_input_error(plan):
    del plan["coil"]["matrix"]
    with pytest.raises(InputError, match="matrix"):
        export_plan(plan, "json")


def test_simnibs_zip_holds_matsimnibs_float64(plan):
    exported = export_plan(plan, "simnibs")
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        names = archive.namelist()
        mats = [n for n in names if n.endswith(".mat")]
        matsimnibs = scipy.io.loadmat(io.BytesIO(archive.read(mats[0])))["matsimnibs"]
        index = json.loads(archive.read(next(n for n in names if n.endswith(".json"))))
    assert mats == ["navsvc_P-0001_coil.mat", "navsvc_P-0001_along_normal.mat"]
    assert matsimnibs.dtype == np.float64 and matsimnibs.shape == (4, 4)
    assert np.array_equal(matsimnibs, np.array(plan["coil"]["matrix"]))
    assert index["space"] == "RAS" and "-y" in index["convention"]
    assert (index["plan_id"], index["strategy"], index["units"]) == ("P-0001", "beam_f3", "mm")
    assert index["files"] == {"navsvc_P-0001_coil.mat": "P-0001 beam_f3 coil",
                              "navsvc_P-0001_along_normal.mat": "P-0001 beam_f3 along-normal coil"}
    assert index["cortex_target_ras_mm"] == pytest.approx(plan["target"]["cortex_ras_mm"])
    assert export_plan(plan, "simnibs").content == exported.content  # reproducible bytes


def test_single_mat_file_is_read(plan):
    buffer = io.BytesIO()
    stack = np.stack([np.array(plan["coil"]["matrix"])] * 3, axis=2)
    scipy.io.savemat(buffer, {"matsimnibs": stack})
    poses = read_poses(buffer.getvalue())
    assert len(poses) == 3 and np.allclose(poses[2].matrix_ras, stack[:, :, 2])
    assert [(p.name, p.index, p.kind) for p in poses] == [(f"matsimnibs {i}", i, "planned") for i in (1, 2, 3)]
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {"matsimnibs": stack[:, :, 0]})
    [single] = read_poses(buffer.getvalue())
    assert (single.name, single.index) == ("matsimnibs", 1)


def test_a_zip_member_in_a_folder_is_named_by_its_file_name(plan):
    buffer = io.BytesIO()
    mat = io.BytesIO()
    scipy.io.savemat(mat, {"matsimnibs": np.array(plan["coil"]["matrix"])})
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("session 3/coil.mat", mat.getvalue())
    [only] = read_poses(buffer.getvalue())
    assert only.name == "coil.mat" and only.plan_id is None


@pytest.mark.parametrize("members", [
    {f"pose{i}.mat": b"x" for i in range(65)},               # more than 64 files
    {"big.mat": bytes(16 * 1024 * 1024 + 1)}])               # one file of more than 16 MiB
def test_a_simnibs_zip_beyond_the_limits_is_refused_before_unpacking(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    with pytest.raises(InputError, match="at most 64 files of at most 16777216 bytes each"):
        read_simnibs(buffer.getvalue())


def test_json_export_is_schema_valid_and_explicit(plan):
    document = json.loads(export_plan(plan, "json", "lps").content)
    jsonschema.validate(document, export_schema())
    coil = np.array(plan["coil"]["matrix"])
    first = document["poses"][0]
    assert document["space"] == "LPS"
    assert np.allclose(first["centre_mm"], coil[:3, 3] * [-1, -1, 1])
    assert np.allclose(first["handle_direction"], -coil[:3, 1] * [-1, -1, 1])
    assert np.allclose(first["normal_into_head"], coil[:3, 2] * [-1, -1, 1])
    assert np.allclose(document["cortex_target_mm"],
                       np.array(plan["target"]["cortex_ras_mm"]) * [-1, -1, 1])
    assert (document["plan_id"], document["strategy"]) == ("P-0001", "beam_f3")
    assert document["convention"].startswith("SimNIBS matsimnibs")
    assert [(pose["kind"], pose["role"]) for pose in document["poses"]] == [
        ("planned", "planned"), ("planned", "along_normal")]


@pytest.mark.parametrize("space", ["ras", "lps"])
def test_every_key_the_json_export_writes_is_documented_and_the_rest_belong_to_delivered_poses(plan, space):
    document = json.loads(export_plan(plan, "json", space).content)
    written, documented = written_and_documented_keys(document, export_schema())
    assert written - documented == set()
    assert documented - written == {f"$.poses[].{key}" for key in ("session", "index", "target_name", "recorded_at")}


def test_export_command_writes_the_file(plan, tmp_path, capsys):
    plan_dir = tmp_path / "run"
    plan_dir.mkdir()
    (plan_dir / "plan.json").write_text(json.dumps(plan))
    out = tmp_path / "coil.xml"
    assert main(["export", str(plan_dir), "--format", "localite", "--space", "lps",
                 "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    assert b'coordinateSpace="LPS"' in out.read_bytes()
    assert main(["export", str(plan_dir / "plan.json"), "--format", "simnibs",
                 "--out", str(tmp_path)]) == 0
    assert (tmp_path / "navsvc_P-0001_simnibs.zip").is_file()


def test_export_command_that_cannot_write_keeps_the_earlier_file(plan, tmp_path, capsys, monkeypatch):
    # the file was written in place: a full disk left a navigator a truncated export
    import navsvc.files

    (tmp_path / "plan.json").write_text(json.dumps(plan))
    out = tmp_path / "coil.xml"
    out.write_bytes(b"earlier export")

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(navsvc.files.os, "replace", disk_full)
    assert main(["export", str(tmp_path), "--format", "localite", "--out", str(out)]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert out.read_bytes() == b"earlier export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coil.xml", "plan.json"]


def test_export_command_bad_input_exits_2(plan, tmp_path, capsys):
    assert main(["export", str(tmp_path / "missing"), "--format", "json",
                 "--out", str(tmp_path / "x.json")]) == 2
    assert "no plan file" in capsys.readouterr().err
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    assert main(["export", str(tmp_path), "--format", "simnibs", "--space", "lps",
                 "--out", str(tmp_path / "x.zip")]) == 2
    assert "always RAS" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(tmp_path), "--format", "ant", "--out", "x"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize("source, fmt, expected", [
    ("dicom", "localite", b'coordinateSpace="LPS"'), ("nifti", "localite", b'coordinateSpace="RAS"'),
    (None, "localite", b'coordinateSpace="RAS"'), ("dicom", "brainsight", b"# Coordinate system: World"),
    ("nifti", "brainsight", b"# Coordinate system: NIfTI:Aligned"), ("dicom", "json", b'"space": "LPS"')])
def test_the_default_space_is_that_of_the_image_the_plan_was_made_from(plan, tmp_path, capsys, source,
                                                                       fmt, expected):
    # a clinic that uploaded a DICOM series loads that series into the navigator: a file in
    # the NIfTI world's RAS would put the coil on the other side if the navigator took it
    # for its own (DICOM) space
    if source:
        plan["input"] = {"format": source}
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    out = tmp_path / "coil"
    assert main(["export", str(tmp_path), "--format", fmt, "--out", str(out)]) == 0
    assert expected in out.read_bytes()
    space = "LPS (DICOM patient space)" if source == "dicom" else "RAS"
    assert capsys.readouterr().err.startswith(f"navsvc: coordinates in {space}, for a navigator project")
    assert export_plan(plan, fmt).content == out.read_bytes()


def test_a_dicom_plan_exports_to_simnibs_in_ras_and_to_ras_when_asked(plan, tmp_path):
    plan["input"] = {"format": "dicom"}
    assert export_plan(plan, "simnibs").content == export_plan(plan, "simnibs", "ras").content
    assert b'coordinateSpace="RAS"' in export_plan(plan, "localite", "ras").content


HOSTILE_PLANS = {
    "target beyond float": lambda plan: plan["target"].update(cortex_ras_mm=[10 ** 400, 0, 0]),
    "matrix entry beyond float": lambda plan: plan["coil"]["matrix"][0].__setitem__(3, 10 ** 400),
}


@pytest.mark.parametrize("command", ["export", "deviation"])
@pytest.mark.parametrize("damage", list(HOSTILE_PLANS))
def test_a_plan_with_numbers_beyond_float_exits_2(plan, tmp_path, capsys, command, damage):
    pose_file = tmp_path / "poses.json"
    pose_file.write_bytes(export_plan(plan, "json").content)
    HOSTILE_PLANS[damage](plan)
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    args = (["--format", "json", "--out", str(tmp_path / "x.json")] if command == "export"
            else [str(pose_file)])
    assert main([command, str(tmp_path / "plan.json"), *args]) == 2
    assert "int too large to convert to float" in capsys.readouterr().err


@pytest.mark.parametrize("text", [b'{"plan_id": ' + b"1" * 5000 + b"}", b'{"a":' + b"[" * 200_000])
def test_a_plan_file_json_cannot_hold_exits_2(tmp_path, capsys, text):
    (tmp_path / "plan.json").write_bytes(text)
    assert main(["export", str(tmp_path), "--format", "json", "--out", str(tmp_path / "x.json")]) == 2
    assert "is not a JSON plan" in capsys.readouterr().err


def test_unreadable_and_unwritable_files_exit_2(plan, tmp_path, capsys):
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    assert main(["export", str(tmp_path), "--format", "json", "--out", "/proc/navsvc-x.json"]) == 2
    assert "cannot write '/proc/navsvc-x.json'" in capsys.readouterr().err
    assert main(["deviation", str(tmp_path), "/proc/self/mem"]) == 2  # a file that reads as an I/O error
    assert "cannot read '/proc/self/mem'" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["localite", "brainsight", "json"])
def test_control_characters_in_plan_names_leave_a_file_that_reads_back(plan, fmt):
    # a plan id with a vertical tab made an XML file that no XML reader (navsvc's included)
    # accepts; a tab or line break in a Brainsight row would shift its columns
    plan["plan_id"] = "Xab\x0bcd\te\ud800\ufffe"
    plan["target"]["strategy"] = "fox\n2012\uffff"
    poses = read_poses(export_plan(plan, fmt).content)
    assert poses[0].name == "Xab?cd?e?? fox?2012? coil"
    assert np.allclose(poses[0].matrix_ras, plan["coil"]["matrix"])


@pytest.mark.parametrize("world, system", [("scanner", "NIfTI:Scanner"), ("aligned", "NIfTI:Aligned"),
                                           ("mni", "NIfTI:MNI-152"), ("talairach", "NIfTI:Talairach"),
                                           ("template", "NIfTI:Other-Template"), (None, "NIfTI:Aligned")])
def test_brainsight_names_the_nifti_system_of_the_input_header(plan, world, system):
    # Brainsight offers the NIfTI system the image's header names: a dcm2niix image (code 1)
    # has NIfTI:Scanner only, so a file that says NIfTI:Aligned names a system it lacks
    if world:
        plan["input"] = {"format": "nifti", "world_space": world}
    content = export_plan(plan, "brainsight", "ras").content
    assert f"# Coordinate system: {system}\n".encode() in content
    assert np.allclose(read_poses(content)[0].matrix_ras, plan["coil"]["matrix"])
    assert b"# Coordinate system: World\n" in export_plan(plan, "brainsight", "lps").content


@pytest.mark.parametrize("damage, where", [
    ("stored in LPS", "mm from the coil's axis"), ("moved 15 mm", "mm from the coil's axis"),
    ("turned around", "behind the coil")])
def test_a_coil_pose_that_does_not_point_at_the_target_is_not_exported(plan, damage, where):
    coil = np.array(plan["coil"]["matrix"])
    if damage == "stored in LPS":
        coil = np.diag([-1.0, -1.0, 1.0, 1.0]) @ coil @ np.diag([-1.0, -1.0, 1.0, 1.0])
    elif damage == "moved 15 mm":
        coil[:3, 3] += 15.0 * coil[:3, 0]
    else:
        coil[:3, 3] += 40.0 * coil[:3, 2]  # past the target: it now lies behind the coil
    plan["coil"]["matrix"] = coil.tolist()
    for fmt in EXPORT_FORMATS:
        with pytest.raises(InputError, match=f"plan coil.matrix does not point at the plan's cortex "
                                             f"target \\(it lies .*{where}\\)"):
            export_plan(plan, fmt)


@pytest.mark.parametrize("shift_mm, exported", [(9.9, True), (10.1, False)])
def test_a_coil_pose_is_exported_up_to_10_mm_off_its_target(plan, shift_mm, exported):
    coil = np.array(plan["coil"]["matrix"])
    coil[:3, 3] += shift_mm * coil[:3, 0]  # in the coil plane: the axis misses by shift_mm
    plan["coil"]["matrix"] = coil.tolist()
    if exported:
        assert np.allclose(read_poses(export_plan(plan, "json").content)[0].matrix_ras, coil)
    else:
        with pytest.raises(InputError, match="10.1 mm from the coil's axis"):
            export_plan(plan, "json")


@pytest.mark.parametrize("depth_mm, exported", [(0.0, False), (0.5, True)])
def test_a_coil_pose_is_exported_only_with_its_target_in_front_of_it(plan, depth_mm, exported):
    coil = np.array(plan["coil"]["matrix"])
    coil[:3, 3] = np.array(plan["target"]["cortex_ras_mm"]) - depth_mm * coil[:3, 2]
    plan["coil"]["matrix"] = coil.tolist()
    if exported:
        assert np.allclose(read_poses(export_plan(plan, "json").content)[0].matrix_ras, coil)
    else:  # a target in the coil's plane is not in front of it, however near its centre
        with pytest.raises(InputError, match="it lies behind the coil"):
            export_plan(plan, "json")


@pytest.mark.parametrize("cortex", [[1.0, 2.0], [1.0, 2.0, float("nan")], [[1.0, 2.0, 3.0]]])
def test_a_cortex_target_that_is_not_3_finite_numbers_is_refused(plan, cortex):
    plan["target"]["cortex_ras_mm"] = cortex
    with pytest.raises(InputError, match="target.cortex_ras_mm must be 3 finite numbers"):
        export_plan(plan, "json")
