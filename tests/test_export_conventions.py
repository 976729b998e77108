"""Coil-axis and world-space conventions against hand-computed matrices (F3 pose)."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from navsvc.errors import InputError
from navsvc.export import export_plan, read_poses
from navsvc.export.conventions import (SIMNIBS_TO_BRAINSIGHT_AXES, SIMNIBS_TO_LOCALITE_AXES, _with_axes, check_pose,
                                      check_space, localite_to_simnibs, plain_decimal, point_to_space,
                                      simnibs_to_localite)
from navsvc.testing.heads import all_orientations

F3_RAS_MM = np.array([-50.2, 53.1, 42.2])


def unit(v):
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


@pytest.fixture
def f3():
    """Coil over F3, normal towards the head centre (origin), handle 45 deg from the
    midsagittal plane pointing posterior and left; SimNIBS axes built by hand."""
    z = -unit(F3_RAS_MM)                            # into the head
    handle = unit([-1.0, -1.0, 0.0])                # posterior-left, 45 deg from midline
    handle = unit(handle - (handle @ z) * z)        # in the coil plane
    y = -handle                                     # navsvc: handle points to -y
    x = np.cross(y, z)
    matrix = np.eye(4)
    matrix[:3, 0], matrix[:3, 1], matrix[:3, 2], matrix[:3, 3] = x, y, z, F3_RAS_MM
    plan = {"plan_id": "P-0001", "target": {"strategy": "beam_f3",
                                             "cortex_ras_mm": list(F3_RAS_MM + 20 * z)},
            "entry": {"scalp_ras_mm": list(F3_RAS_MM + 4 * z)},
            "coil": {"matrix": matrix.tolist(), "distance_to_scalp_mm": 4.0,
                     "handle_angle_deg": 45.0}}
    return {"matrix": matrix, "x": x, "y": y, "z": z, "handle": handle, "plan": plan}


def localite_matrices(content: bytes):
    root = ET.fromstring(content)
    return root.get("coordinateSpace"), [
        np.array([[float(m.get(f"data{r}{c}")) for c in range(4)] for r in range(4)])
        for m in root.iter("Matrix4D")]


def brainsight_rows(content: bytes):
    lines = content.decode("utf-8").splitlines()
    header = next(line for line in lines if line.startswith("# Target Name"))
    columns = header[2:].split("\t")
    rows = [dict(zip(columns, line.split("\t"))) for line in lines if not line.startswith("#")]
    return [line for line in lines if line.startswith("#")], rows


def test_fixture_is_a_valid_right_handed_pose(f3):
    m = f3["matrix"]
    assert np.allclose(m[:3, :3].T @ m[:3, :3], np.eye(3), atol=1e-12)
    assert np.allclose(np.cross(f3["y"], f3["z"]), f3["x"])
    # handle (-y) points posterior and to the left, 45 deg from the midsagittal plane
    assert f3["handle"][1] < 0 and f3["handle"][0] < 0
    # projecting onto the coil plane moves the 45 deg by about one degree
    assert np.degrees(np.arcsin(abs(f3["handle"][0]))) == pytest.approx(46.2, abs=0.05)


def test_localite_axes_of_f3_pose_by_hand(f3):
    space, matrices = localite_matrices(export_plan(f3["plan"], "localite").content)
    expected = np.eye(4)
    # Localite x = SimNIBS z (into head), y = -SimNIBS y (= handle), z = SimNIBS x
    expected[:3, 0], expected[:3, 1], expected[:3, 2] = f3["z"], -f3["y"], f3["x"]
    expected[:3, 3] = F3_RAS_MM
    assert space == "RAS"
    assert np.allclose(matrices[0], expected, atol=1e-12)
    assert matrices[0][:3, 0] @ (-F3_RAS_MM) > 0          # Localite x into the head
    assert np.allclose(matrices[0][:3, 1], f3["handle"])  # Localite y along the handle


def test_localite_markers_have_the_layout_of_the_navigators_own_files(f3):
    # the attributes of Localite's InstrumentMarker files: a marker not "set" is not shown as a
    # target, and the index numbers the markers from 0
    plan = dict(f3["plan"], entry={**f3["plan"]["entry"], "along_normal": {"coil_matrix": f3["plan"]["coil"]["matrix"]}})
    root = ET.fromstring(export_plan(plan, "localite").content)
    assert root.tag == "InstrumentMarkerList" and root.get("coordinateSpace") == "RAS"
    instruments = root.findall("InstrumentMarker")
    assert len(instruments) == 2  # the planned pose and the along-normal one
    for index, instrument in enumerate(instruments):
        assert instrument.attrib == {"alwaysVisible": "false", "index": str(index), "selected": "false"}
        (marker,) = instrument.findall("Marker")
        assert marker.attrib == {"additionalInformation": "", "color": "#ff0000",
                                 "description": marker.get("description"), "set": "true"}
        assert marker.get("description").endswith("coil")
        assert [child.tag for child in marker] == ["Matrix4D"]


def test_localite_lps_is_ras_with_x_and_y_rows_negated(f3):
    _, ras = localite_matrices(export_plan(f3["plan"], "localite", "ras").content)
    space, lps = localite_matrices(export_plan(f3["plan"], "localite", "lps").content)
    assert space == "LPS"
    for m_ras, m_lps in zip(ras, lps):
        expected = m_ras.copy()
        expected[0, :] *= -1
        expected[1, :] *= -1
        assert np.allclose(m_lps, expected, atol=1e-12)
    assert lps[0][0, 3] == pytest.approx(50.2) and lps[0][1, 3] == pytest.approx(-53.1)


def test_brainsight_axes_of_f3_pose_by_hand(f3):
    headers, rows = brainsight_rows(export_plan(f3["plan"], "brainsight").content)
    assert "# Version: 12" in headers and "# Coordinate system: NIfTI:Aligned" in headers
    assert "# Encoding: UTF-8" in headers
    assert "# Units: millimetres, degrees, milliseconds, and microvolts" in headers
    coil = rows[0]
    loc = [float(coil[f"Loc. {a}"]) for a in "XYZ"]
    axes = {i: np.array([float(coil[f"m{i}n{r}"]) for r in range(3)]) for i in range(3)}
    assert np.allclose(loc, F3_RAS_MM, atol=1e-9)
    assert np.allclose(axes[0], -f3["x"], atol=1e-9)     # Brainsight x = -SimNIBS x
    assert np.allclose(axes[1], f3["y"], atol=1e-9)      # Brainsight y = SimNIBS y
    assert np.allclose(axes[2], -f3["z"], atol=1e-9)     # Brainsight z = -SimNIBS z
    assert axes[2] @ F3_RAS_MM > 0                       # ... which points out of the head


def test_brainsight_rows_have_the_headers_columns_and_no_more(f3):
    lines = export_plan(f3["plan"], "brainsight").content.decode("utf-8").splitlines()
    header = next(line for line in lines if line.startswith("# Target Name"))[2:].split("\t")
    assert header == ["Target Name", "Loc. X", "Loc. Y", "Loc. Z"] + [f"m{a}n{r}" for a in range(3) for r in range(3)]
    rows = [line.split("\t") for line in lines if not line.startswith("#")]
    assert len(rows) == 2 and all(len(row) == len(header) for row in rows)  # the coil, the cortex target


@pytest.mark.parametrize("space, flip", [("ras", [1, 1, 1]), ("lps", [-1, -1, 1])])
def test_brainsight_cortex_target_row_has_the_planned_coil_axes(f3, space, flip):
    # identity axes made Brainsight show a coil 20 mm inside the brain, handle anterior (RAS
    # files) or posterior (LPS files); now the row carries the planned coil's orientation
    _, rows = brainsight_rows(export_plan(f3["plan"], "brainsight", space).content)
    coil, cortex = rows[0], rows[-1]
    assert cortex["Target Name"] == "P-0001 beam_f3 cortex target"
    assert np.allclose([float(cortex[f"Loc. {a}"]) for a in "XYZ"],
                       np.multiply(f3["plan"]["target"]["cortex_ras_mm"], flip), atol=1e-9)
    axes = [f"m{i}n{r}" for i in range(3) for r in range(3)]
    assert [cortex[a] for a in axes] == [coil[a] for a in axes]
    cortex_pose = read_poses(export_plan(f3["plan"], "brainsight", space).content)[-1]
    assert np.allclose(cortex_pose.matrix_ras[:3, :3], f3["matrix"][:3, :3], atol=1e-12)
    assert np.allclose(-cortex_pose.matrix_ras[:3, 1], f3["handle"], atol=1e-12)
    assert cortex_pose.matrix_ras[:3, 1] @ [0, 1, 0] > 0    # handle (-y) posterior, both spaces


def test_brainsight_lps_writes_world_with_x_and_y_negated(f3):
    headers, rows = brainsight_rows(export_plan(f3["plan"], "brainsight", "lps").content)
    _, ras_rows = brainsight_rows(export_plan(f3["plan"], "brainsight", "ras").content)
    assert "# Coordinate system: World" in headers
    for key in ("Loc. X", "Loc. Y", "m0n0", "m0n1", "m1n0", "m1n1", "m2n0", "m2n1"):
        assert float(rows[0][key]) == pytest.approx(-float(ras_rows[0][key]), abs=1e-9)
    for key in ("Loc. Z", "m0n2", "m1n2", "m2n2"):
        assert float(rows[0][key]) == pytest.approx(float(ras_rows[0][key]), abs=1e-9)


def test_localite_flip_is_an_involution_and_keeps_handedness(f3):
    loc = simnibs_to_localite(f3["matrix"])
    assert np.linalg.det(loc[:3, :3]) == pytest.approx(1.0)
    assert np.allclose(localite_to_simnibs(loc), f3["matrix"], atol=1e-15)


@pytest.mark.parametrize("bad, message", [
    (np.eye(3), "4x4"),
    (np.diag([1.0, 1.0, -1.0, 1.0]), "left-handed"),
    (np.diag([1.0, 2.0, 1.0, 1.0]), "orthonormal"),
    (np.diag([1.0, 1e200, 1.0, 1.0]), "orthonormal"),  # refused before its AᵀA overflows
    (np.diag([1.05, 1.0, 1.0, 1.0]), "orthonormal"),   # 5 % scaled: not a rounding of axes
    (np.array([[1, 0.05, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]]), "orthonormal"),  # sheared
    (np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 1.0]]), "last row"),
    (np.full((4, 4), np.nan), "non-finite"),
    ([["a"] * 4] * 4, "numeric"),
])
@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_check_pose_rejects_bad_matrices(bad, message):
    with pytest.raises(InputError, match=message):
        check_pose(bad)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("convert", [localite_to_simnibs, simnibs_to_localite])
def test_an_infinite_axis_entry_stays_infinite_through_the_axis_conversion(f3, convert):
    # the conversion moves and negates columns: no inf * 0 turns a file's "inf" into NaN
    matrix = np.array(f3["matrix"])
    matrix[0, 0] = np.inf
    converted = convert(matrix)
    assert np.isinf(converted).sum() == 1 and not np.isnan(converted).any()
    with pytest.raises(InputError, match="non-finite"):
        check_pose(converted)


def test_check_pose_refuses_a_pose_in_metres(f3):
    # a centre in metres lies within a tenth of a millimetre of the origin; it passed as mm
    metres = f3["matrix"].copy()
    metres[:3, 3] /= 1000.0
    with pytest.raises(InputError, match=r"0\.0844 mm from the image's origin.*metres"):
        check_pose(metres, "pulse 1")
    near = f3["matrix"].copy()
    near[:3, 3] = unit(F3_RAS_MM) * 19.9
    with pytest.raises(InputError, match="less than 20 mm"):
        check_pose(near)
    near[:3, 3] = unit(F3_RAS_MM) * 20.0
    assert np.array_equal(check_pose(near, orthonormalize=False), near)


def test_check_pose_makes_rounded_axes_orthonormal(f3):
    rounded = np.round(f3["matrix"], 3)                 # Brainsight writes 3 decimals
    pose = check_pose(rounded)
    assert np.allclose(pose[:3, :3].T @ pose[:3, :3], np.eye(3), atol=1e-12)
    assert np.allclose(pose, f3["matrix"], atol=2e-3)


@pytest.mark.parametrize("perm, flips", list(all_orientations()))
def test_axis_conversion_is_the_right_multiplication_it_stands_for(f3, perm, flips):
    # the conversion moves and negates columns instead of multiplying; for every signed
    # permutation, not only the two the navigators use, that must be the product
    axes_flip = np.eye(3)[:, list(perm)] * np.where(flips, -1.0, 1.0)
    expected = f3["matrix"].copy()
    expected[:3, :3] = f3["matrix"][:3, :3] @ axes_flip
    assert np.array_equal(_with_axes(f3["matrix"], axes_flip), expected)


@pytest.mark.parametrize("value, text", [(-0.0, "0.0"), (0.0, "0.0"), (-1e-7, "-0.0000001"), (12.5, "12.5"),
                                         (1e21, "1000000000000000000000.0")])
def test_plain_decimal_writes_no_exponent_and_no_negative_zero(value, text):
    assert plain_decimal(value) == text


@pytest.mark.parametrize("axes_flip", [SIMNIBS_TO_LOCALITE_AXES, SIMNIBS_TO_BRAINSIGHT_AXES])
def test_each_navigator_axis_flip_is_a_signed_permutation_its_own_inverse_with_determinant_one(axes_flip):
    # the conversion moves and negates columns by each column's largest entry: a matrix with
    # another non-zero entry would mean something else than the conversion does
    assert np.array_equal(np.abs(axes_flip).sum(axis=0), np.ones(3))
    assert np.array_equal(np.abs(axes_flip).sum(axis=1), np.ones(3))
    assert np.array_equal(axes_flip @ axes_flip, np.eye(3))
    assert np.linalg.det(axes_flip) == pytest.approx(1.0)


@pytest.mark.parametrize("space, expected", [("lps", [30.5, -22.1, 47.3]), (" LPS ", [30.5, -22.1, 47.3]),
                                             ("ras", [-30.5, 22.1, 47.3]), ("RAS", [-30.5, 22.1, 47.3])])
def test_a_point_in_lps_has_x_and_y_negated_and_converts_back_by_the_same_call(space, expected):
    left_dlpfc_ras_mm = np.array([-30.5, 22.1, 47.3])
    converted = point_to_space(left_dlpfc_ras_mm.reshape(1, 3), space)
    assert converted.shape == (3,) and np.array_equal(converted, expected)
    assert np.array_equal(point_to_space(converted, space), left_dlpfc_ras_mm)
    converted[0] = 0.0  # a new array, not a view of the caller's point
    assert left_dlpfc_ras_mm[0] == -30.5


def test_an_unknown_space_is_refused_naming_the_valid_ones():
    with pytest.raises(InputError) as err:
        check_space("mni")
    assert str(err.value) == "unknown space 'mni'; valid values: ras, lps"


@pytest.mark.parametrize("bad, message", [
    (np.eye(3), "pulse 2: expected a 4x4 matrix, got shape (3, 3)"),
    (np.diag([1.0, 1.0, -1.0, 1.0]), "pulse 2: coil axes are left-handed (a mirrored pose)"),
    (np.diag([1.0, 1.02, 1.0, 1.0]), "pulse 2: coil axes are not orthonormal (an entry of 1.02)"),
    (np.diag([1.0, 0.9, 1.0, 1.0]), "pulse 2: coil axes are not orthonormal (error 0.19)"),
    (np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 1.0]]),
     "pulse 2: last row must be 0 0 0 1, got [1.0, 0.0, 0.0, 1.0]"),
    (np.full((4, 4), np.inf), "pulse 2: matrix holds non-finite values"),
])
def test_check_pose_says_in_full_what_is_wrong(bad, message):
    bad = np.array(bad)
    if bad.shape == (4, 4) and np.isfinite(bad).all():
        bad[:3, 3] = F3_RAS_MM
    with pytest.raises(InputError) as err:
        check_pose(bad, "pulse 2")
    assert str(err.value) == message


def test_a_coil_centre_up_to_10_m_from_the_origin_is_checked_further_and_beyond_it_refused(f3):
    far = f3["matrix"].copy()
    far[:3, 3] = [-10_000.0, 53.1, 42.2]
    assert np.array_equal(check_pose(far, orthonormalize=False), far)
    far[0, 3] = -10_000.5
    with pytest.raises(InputError) as err:
        check_pose(far, "marker 'M0'")
    assert str(err.value) == ("marker 'M0': coil centre [-10000.5, 53.1, 42.2] lies more than 10000 mm from the "
                              "image's origin: not a pose over a head (check the units: mm)")


def test_a_centre_near_the_origin_is_refused_asking_whether_the_pose_is_in_metres(f3):
    near = f3["matrix"].copy()
    near[:3, 3] = [0.0, 0.0, 19.9]
    with pytest.raises(InputError) as err:
        check_pose(near, "pulse 1")
    assert str(err.value) == (
        "pulse 1: coil centre [0.0, 0.0, 19.9] lies 19.9 mm from the image's origin, less than 20 mm, "
        "where no coil sits (scanner and MNI-aligned images have their origin inside the head). "
        "Is the pose in metres? Positions must be in mm")
