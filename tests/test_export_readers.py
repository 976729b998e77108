"""Readers on navigator-written files (trigger markers, samples) and on bad files."""

import io
import json
import struct
import zipfile

import numpy as np
import pytest
import scipy.io

from navsvc.errors import InputError
from navsvc.export import read_brainsight, read_localite, read_poses, read_simnibs
from navsvc.export.poses import check_size

# a SimNIBS-convention pose over the left DLPFC, axes written out by hand:
# z into the head, y = -handle (handle posterior-left), x = y cross z
X = np.array([-0.35372909806056146, 0.35372909806056146, -0.8658818916980094])
Y = np.array([0.7217768902981523, 0.6920190290297338, -0.012156648068995768])
Z = np.cross(X, Y)
C = np.array([-50.2, 53.1, 42.2])
POSE = np.eye(4)
POSE[:3, 0], POSE[:3, 1], POSE[:3, 2], POSE[:3, 3] = X, Y, Z, C


def matrix4d(columns, centre):
    m = np.eye(4)
    m[:3, :3] = np.column_stack(columns)
    m[:3, 3] = centre
    return " ".join(f'data{r}{c}="{float(m[r, c])!r}"' for r in range(4) for c in range(4))


#: a tracked Localite pose by hand (x = SimNIBS z, y = -SimNIBS y, z = SimNIBS x), RAS
GOOD_MATRIX = matrix4d([Z, -Y, X], C)
#: what Localite writes for a pulse the tracking did not see: the identity
UNTRACKED = matrix4d(list(np.eye(3)), np.zeros(3))


def trigger_list(space="RAS"):
    flip = np.array([-1.0, -1.0, 1.0]) if space == "LPS" else np.ones(3)
    # Localite axes by hand: x = SimNIBS z, y = -SimNIBS y, z = SimNIBS x
    tracked = matrix4d([Z * flip, -Y * flip, X * flip], C * flip)
    shifted = matrix4d([Z * flip, -Y * flip, X * flip], (C + [0, 0, 2]) * flip)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<TriggerMarkerList coordinateSpace="{space}" isOnlineReading="false" startTime="15:28:23.660">
    <TriggerMarker color="#ffafaf" description="" recordingTime="98768" selected="false"
        set="true" visibility="true">
        <ResponseValues><Value key="valueA" response="84.0"/></ResponseValues>
        <Matrix4D {tracked}/>
    </TriggerMarker>
    <TriggerMarker color="#ffafaf" description="" recordingTime="103853" selected="false"
        set="false" visibility="true"><Matrix4D {UNTRACKED}/></TriggerMarker>
    <TriggerMarker color="#ffafaf" description="late" recordingTime="108853" selected="false"
        set="true" visibility="true"><Matrix4D {shifted}/></TriggerMarker>
</TriggerMarkerList>
""".encode()


@pytest.mark.parametrize("space", ["RAS", "LPS"])
def test_localite_trigger_markers_are_delivered_poses(space):
    poses = read_localite(trigger_list(space))
    assert [p.index for p in poses] == [1, 3]                  # untracked pulse 2 skipped
    assert [p.name for p in poses] == ["pulse 1", "late"]
    assert all(p.kind == "delivered" for p in poses)
    assert poses[0].recorded_at == "15:30:02.428"              # 15:28:23.660 + 98.768 s
    assert poses[0].session == "TriggerMarkerList 15:28:23.660"
    assert np.allclose(poses[0].matrix_ras, POSE, atol=1e-12)
    assert np.allclose(poses[1].matrix_ras[:3, 3], C + [0, 0, 2])


@pytest.mark.parametrize("set_flag, matrix", [("false", GOOD_MATRIX), ("true", "identity"),
                                              ("FALSE", GOOD_MATRIX)])
def test_localite_pulses_not_set_or_untracked_are_skipped_each_alone(set_flag, matrix):
    # an untracked pulse is written with an identity matrix whatever its set flag; a pulse
    # with set="false" is not a pose whatever its matrix
    if matrix == "identity":
        matrix = UNTRACKED
    content = (f'<TriggerMarkerList coordinateSpace="RAS" startTime="15:28:23.660">'
               f'<TriggerMarker set="{set_flag}" recordingTime="1"><Matrix4D {matrix}/></TriggerMarker>'
               f'<TriggerMarker set="true" recordingTime="2"><Matrix4D {GOOD_MATRIX}/></TriggerMarker>'
               f'<TriggerMarker recordingTime="3"><Matrix4D {GOOD_MATRIX}/></TriggerMarker>'
               f'</TriggerMarkerList>').encode()
    assert [(p.name, p.index) for p in read_localite(content)] == [("pulse 2", 2), ("pulse 3", 3)]


def test_localite_instrument_markers_not_set_are_skipped_and_the_rest_kept():
    content = ('<InstrumentMarkerList coordinateSpace="RAS">'
               f'<InstrumentMarker><Marker description="old" set="false"><Matrix4D {GOOD_MATRIX}/></Marker></InstrumentMarker>'
               f'<InstrumentMarker><Marker set="true"><Matrix4D {GOOD_MATRIX}/></Marker></InstrumentMarker>'
               f'<InstrumentMarker><Marker description="M2"><Matrix4D {GOOD_MATRIX}/></Marker></InstrumentMarker>'
               '</InstrumentMarkerList>').encode()
    poses = read_localite(content)
    assert [(p.name, p.index, p.kind) for p in poses] == [("marker 2", 2, "planned"), ("M2", 3, "planned")]
    assert np.allclose(poses[0].matrix_ras, POSE, atol=1e-12)


@pytest.mark.parametrize("recording_ms, expected", [("inf", None), ("1e300", None), ("-1e300", None),
                                                     ("1e15", "1e15 ms after list start"), ("nan", None)])
def test_localite_recording_time_beyond_any_clock_is_not_an_error(recording_ms, expected):
    # a pose is still read; only its clock time is unknown (it raised OverflowError: an HTTP 500)
    data = trigger_list().replace(b'recordingTime="98768"', f'recordingTime="{recording_ms}"'.encode())
    poses = read_localite(data)
    assert poses[0].recorded_at == expected and np.allclose(poses[0].matrix_ras, POSE, atol=1e-12)


SAMPLE_COLUMNS = ("Sample Name\tSession Name\tIndex\tAssoc. Target\tLoc. X\tLoc. Y\tLoc. Z\t"
                  "m0n0\tm0n1\tm0n2\tm1n0\tm1n1\tm1n2\tm2n0\tm2n1\tm2n2\tDist. to Target\t"
                  "Target Error\tAngular Error\tTwist Error\tStim. Power\tDate\tTime\t"
                  "Creation Cause\tCrosshairs Driver\tOffset\tComment\tEMG Start\tEMG End\t"
                  "EMG Res.\tEMG Channels")


SAMPLE_TAIL = "\t(null)" * 4 + "\t(null)\t{date}\t{time}\tRemote\tCoil 1\t0.000" + "\t(null)" * 5


def brainsight_values(centre, x=X, y=Y, z=Z):
    # Brainsight axes by hand: m0 = -SimNIBS x, m1 = SimNIBS y, m2 = -SimNIBS z
    values = list(centre) + list(-x) + list(y) + list(-z)
    return "\t".join(f"{v:.3f}" for v in values)


def brainsight_samples(samples, system="NIfTI:Aligned"):
    """A Brainsight file of samples ``(name, session, assoc. target or None, pose, date)``;
    poses in the SimNIBS convention, RAS."""
    lines = ["# Version: 12", f"# Coordinate system: {system}", "# " + SAMPLE_COLUMNS]
    for index, (name, session, target, pose, day) in enumerate(samples, start=1):
        lines.append(f"{name}\t{session}\t{index}\t{target or '(null)'}\t"
                     + brainsight_values(pose[:3, 3], *pose[:3, :3].T)
                     + SAMPLE_TAIL.format(date=day, time="10:00:00.000"))
    return ("\n".join(lines) + "\n").encode()


def brainsight_file(system="NIfTI:Aligned"):
    lines = ["# Version: 12", f"# Coordinate system: {system}",
             "# Created by: Brainsight 2.5", "# Units: millimetres, degrees, milliseconds, "
             "and microvolts", "# Encoding: UTF-8", "# Notes: test",
             "# Target Name\tLoc. X\tLoc. Y\tLoc. Z\tm0n0\tm0n1\tm0n2\tm1n0\tm1n1\tm1n2\t"
             "m2n0\tm2n1\tm2n2",
             "DLPFC\t" + brainsight_values(C),
             "# " + SAMPLE_COLUMNS,
             "Sample 1\tSession 1\t1\tDLPFC\t" + brainsight_values(C)
             + SAMPLE_TAIL.format(date="2024-03-04", time="10:00:01.250"),
             "Sample 2\tSession 1\t2\t(null)\t" + brainsight_values(C + [1, 0, 0])
             + SAMPLE_TAIL.format(date="2024-03-04", time="10:00:03.000"),
             "Sample 3\tSession 2\t1\tDLPFC\t" + "\t".join(["(null)"] * 12)
             + SAMPLE_TAIL.format(date="2024-03-05", time="09:00:00.000"),
             "# Electrode Name\tLoc. X\tLoc. Y\tLoc. Z", "Fz\t0\t0\t0"]
    return ("\n".join(lines) + "\n").encode()


def test_brainsight_targets_and_samples():
    poses = read_poses(brainsight_file())
    assert [(p.name, p.kind) for p in poses] == [
        ("DLPFC", "planned"), ("Sample 1", "delivered"), ("Sample 2", "delivered")]
    sample = poses[1]
    assert (sample.session, sample.index, sample.target_name) == ("Session 1", 1, "DLPFC")
    assert sample.recorded_at == "2024-03-04T10:00:01.250"
    assert poses[2].target_name is None
    assert np.allclose(sample.matrix_ras, POSE, atol=2e-3)     # 3 decimals in the file
    axes = sample.matrix_ras[:3, :3]
    assert np.allclose(axes.T @ axes, np.eye(3), atol=1e-12)


@pytest.mark.parametrize("index", ["\u00b2", "\u0663", "x", "7" * 5000])
def test_brainsight_sample_index_that_is_not_an_ascii_number_is_dropped(index):
    # "\u00b2".isdigit() is True but int() refuses it, and so it does an integer of over
    # 4300 digits (each raised ValueError: an HTTP 500)
    data = brainsight_file().replace(b"\tSession 1\t1\t", f"\tSession 1\t{index}\t".encode(), 1)
    sample = read_poses(data)[1]
    assert sample.name == "Sample 1" and sample.index is None


@pytest.mark.parametrize("index, kept", [("9" * 18, 999_999_999_999_999_999), ("1" + "0" * 18, None)])
def test_a_brainsight_sample_index_is_kept_up_to_18_digits(index, kept):
    # any number of up to 18 digits fits a signed 64-bit integer; one of 19 may not
    data = brainsight_file().replace(b"\tSession 1\t1\t", f"\tSession 1\t{index}\t".encode(), 1)
    assert read_poses(data)[1].index == kept


def test_a_brainsight_encoding_line_left_empty_is_read_as_utf8():
    data = brainsight_file().replace(b"# Encoding: UTF-8", b"# Encoding:")
    assert [p.name for p in read_poses(data)] == ["DLPFC", "Sample 1", "Sample 2"]


def test_brainsight_rows_after_blank_lines_and_other_sections_are_read():
    lines = brainsight_file().decode().splitlines()
    at = lines.index("# Version: 12") + 2
    landmarks = ["# Planned Landmark Name\tLoc. X\tLoc. Y\tLoc. Z", "Nasion\t0\t80\t0", ""]
    data = "\n".join(lines[:at] + landmarks + [line for row in lines[at:] for line in (row, "")]).encode()
    assert [p.name for p in read_poses(data)] == ["DLPFC", "Sample 1", "Sample 2"]


@pytest.mark.parametrize("day, clock, recorded_at", [("(null)", "10:00:01.250", "10:00:01.250"),
                                                      ("2024-03-04", "(null)", "2024-03-04"),
                                                      ("(null)", "(null)", None)])
def test_brainsight_sample_time_with_date_or_clock_missing(day, clock, recorded_at):
    data = brainsight_file().replace(b"\t2024-03-04\t10:00:01.250\t", f"\t{day}\t{clock}\t".encode(), 1)
    assert read_poses(data)[1].recorded_at == recorded_at


@pytest.mark.parametrize("missing", ["(null)", ""])
def test_a_brainsight_field_left_empty_reads_as_missing(missing):
    data = brainsight_file().replace(b"Sample 2\tSession 1\t2\t(null)\t", f"Sample 2\t{missing}\t2\t{missing}\t".encode(), 1)
    sample = read_poses(data)[2]
    assert sample.name == "Sample 2" and sample.session is None and sample.target_name is None


def test_a_brainsight_row_that_is_not_a_number_is_named_by_its_line():
    data = brainsight_file().replace(b"Sample 2\tSession 1\t2\t(null)\t", b"Sample 2\tSession 1\t2\t(null)\tabc", 1)
    with pytest.raises(InputError, match=r"line 11 \('Sample 2'\).*could not convert string to float: 'abc"):
        read_poses(data)


def test_brainsight_world_is_read_as_lps():
    poses = read_brainsight(brainsight_file("World"))
    assert np.allclose(poses[0].matrix_ras[:3, 3], C * [-1, -1, 1], atol=1e-9)
    assert np.allclose(poses[0].matrix_ras[:3, 2], Z * [-1, -1, 1], atol=2e-3)


def zip_bytes(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def damaged_zip(field: str) -> bytes:
    """A navsvc-like zip with one header field set to what zipfile cannot handle."""
    data = bytearray(zip_bytes({"a.mat": mat_bytes(matsimnibs=POSE)}))
    central, end = data.find(b"PK\x01\x02"), data.rfind(b"PK\x05\x06")
    if field == "directory offset":      # one byte too far: a member's offset becomes -1
        struct.pack_into("<I", data, end + 16, struct.unpack_from("<I", data, end + 16)[0] + 1)
    elif field == "version":             # version needed to extract 24.4
        struct.pack_into("<H", data, central + 6, 244)
    else:                                # compression method 99
        struct.pack_into("<H", data, central + 10, 99)
    return bytes(data)


def mat_bytes(**variables):
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, variables)
    return buffer.getvalue()


def _corrupt_deflated_zip() -> bytes:
    """A SimNIBS zip whose deflated .mat member has garbled data (zlib.error on reading)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.mat", mat_bytes(matsimnibs=POSE) * 20)
    data = bytearray(buffer.getvalue())
    member = zipfile.ZipFile(io.BytesIO(bytes(data))).infolist()[0]
    start = member.header_offset + 30 + len(member.filename.encode()) + len(member.extra)
    for k in range(start + 5, start + 40):
        data[k] ^= 0x5A
    return bytes(data)


#: an ANT Neuro visor2 marker file (.mrk) as visor2 2.8.0 writes it (structure from a review file)
ANT_NEURO_MRK = {
    "Configuration": {"SourceInfo": {"AppName": "visor2", "AppVersion": "2.8.0"},
                      "AssociatedImageInfo": {"NIfTI_qoffset": [90.0, -126.0, -172.0]}},
    "TargetMarkers": [{"CoilTarget": {
        "Name": "CoilMarker_1", "CoordinateSystem": "ASSOCIATED_IMAGE", "PositionalUnit": "mm",
        "CoilAxesConvention": "simnibs",
        "CoilPose": {"RigidTransformMatrix4x4": POSE.tolist()}}}],
}
LOCALITE_MARKER = ('<InstrumentMarkerList coordinateSpace="{space}"><InstrumentMarker><Marker '
                   'description="M0" set="true"><Matrix4D {matrix}/></Marker></InstrumentMarker>'
                   '</InstrumentMarkerList>')
BAD_FILES = {
    "empty": (b"", "empty"),
    "unknown": (b"hello world", "unrecognised"),
    "wrong root": (b"<Session/>", "neither"),
    "broken xml": (b"<InstrumentMarkerList coordinateSpace='RAS'>", "well-formed"),
    "dtd": (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><InstrumentMarkerList/>',
            "document type"),
    "no space": (b"<InstrumentMarkerList/>", "coordinateSpace"),
    "bad space": (LOCALITE_MARKER.format(space="MNI", matrix=GOOD_MATRIX).encode(), "MNI"),
    "no marker": (b'<InstrumentMarkerList coordinateSpace="RAS"/>', "no tracked"),
    "missing entry": (LOCALITE_MARKER.format(space="RAS", matrix='data00="1"').encode(),
                      "Localite file: marker 'M0' Matrix4D lacks attribute 'data01'"),
    "mirrored": (LOCALITE_MARKER.format(space="RAS", matrix=matrix4d([Z, Y, X], C)).encode(),
                 "Localite marker 'M0'.*left-handed"),
    "pulse not a number": (trigger_list().replace(b'data00="', b'data00="x', 1),
                           "Localite file: TriggerMarker 1 Matrix4D has a non-number"),
    "pulse mirrored": (trigger_list().replace(GOOD_MATRIX.encode(), matrix4d([Z, Y, X], C).encode()),
                       "Localite TriggerMarker 1.*left-handed"),
    "brainsight internal": (brainsight_file("Brainsight"), "not supported"),
    "brainsight short header": (b"# Version: 12\n# Target Name\tLoc. X\nT\t1\n", "lacks"),
    "brainsight no system": (brainsight_file().replace(b"# Coordinate system: NIfTI:Aligned\n",
                                                       b""), "no '# Coordinate system:'"),
    "brainsight text": (brainsight_file().replace(b"\t-0.354", b"\tabc", 1), "abc"),
    "brainsight latin-1": (b"# Version: 12\n# Notes: \xe9\n", "UTF-8"),
    "brainsight declared latin-1": (brainsight_file().replace(b"# Encoding: UTF-8", b"# Encoding: ISO-8859-1"),
                                    "Brainsight file: encoding 'ISO-8859-1' is not UTF-8"),
    "zip without mat": (zip_bytes({"a.txt": b"x"}), "no .mat"),
    "mat without matsimnibs": (mat_bytes(other=np.eye(4)), "no variable 'matsimnibs'"),
    "mat wrong shape": (mat_bytes(matsimnibs=np.eye(3)), r"must be 4x4 or 4x4xN, got shape \(3, 3\)"),
    "mat four dimensions": (mat_bytes(matsimnibs=np.zeros((4, 4, 2, 2))),
                            r"must be 4x4 or 4x4xN, got shape \(4, 4, 2, 2\)"),
    "corrupt mat": (b"MATLAB 5.0 MAT-file, truncated", "MAT-file"),
    "mat v7.3": (b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Mar  3 09:30:00 2025 HDF5 "
                 b"schema 1.00 .".ljust(512) + b"\x89HDF\r\n\x1a\n", r"MATLAB 7.3 \(HDF5\) MAT-file.*'-v7'"),
    "json not schema": (json.dumps({"format": "navsvc.poses"}).encode(), "required"),
    "json without format": (json.dumps({"poses": [], "Configuration": {"SourceInfo": {}}}).encode(),
                            "navsvc JSON: \\(document\\): 'format' is a required property"),
    "json bad matrix": (json.dumps({
        "format": "navsvc.poses", "format_version": 1, "space": "RAS", "units": "mm",
        "poses": [{"name": "a", "matrix": [[1, 0, 0, 0]] * 3 + [[0, 0, 0, 1]]}]}).encode(),
        "orthonormal"),
    "json syntax": (b"{not json", "not valid JSON"),
    "json number beyond float": (json.dumps({
        "format": "navsvc.poses", "format_version": 1, "space": "RAS", "units": "mm",
        "poses": [{"name": "a", "matrix": [[10 ** 400, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]}]}).encode(),
        "beyond floating point"),
    "json integer over 4300 digits": (b'{"format": ' + b"1" * 5000 + b"}", "not valid JSON"),
    "json nested too deep": (b'{"format":' + b"[" * 200_000, "not valid JSON"),
    "simnibs corrupt deflate": (_corrupt_deflated_zip(), "cannot unpack zip"),
    "simnibs zip offset off by one": (damaged_zip("directory offset"), "cannot unpack zip"),
    "simnibs zip of a later version": (damaged_zip("version"), "corrupt zip"),
    "simnibs zip unknown compression": (damaged_zip("method"), "cannot unpack zip"),
    "json pose centre hostile or in micrometres": (json.dumps({
        "format": "navsvc.poses", "format_version": 1, "space": "RAS", "units": "mm",
        "poses": [{"name": "a", "matrix": [[1, 0, 0, 1e300], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]}]}).encode(),
        "more than 10000 mm from the image's origin"),
    "json pose in metres": (json.dumps({
        "format": "navsvc.poses", "format_version": 1, "space": "RAS", "units": "mm",
        "poses": [{"name": "a", "matrix": [[*POSE[r, :3], POSE[r, 3] / 1000] for r in range(3)]
                   + [[0, 0, 0, 1]]}]}).encode(), "Is the pose in metres"),
    "ant neuro visor2 mrk": (json.dumps(ANT_NEURO_MRK, indent=2).encode(),
                             r"ANT Neuro visor2 marker file \(\.mrk\): navsvc does not read ANT Neuro "
                             r"files yet; export the poses as a Localite XML, Brainsight \.txt, SimNIBS "
                             r"\.zip/\.mat or navsvc JSON file"),
    "ant neuro markers without source info": (
        json.dumps({"TargetMarkers": ANT_NEURO_MRK["TargetMarkers"]}).encode(), "ANT Neuro"),
    "ant neuro source info only": (json.dumps({"Configuration": ANT_NEURO_MRK["Configuration"],
                                               "Markers": []}).encode(), "ANT Neuro"),
    "localite unknown encoding": (b'<?xml version="1.0" encoding="UUF-8"?>' + LOCALITE_MARKER.format(
        space="RAS", matrix=GOOD_MATRIX).encode(), "save it again as UTF-8"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_files_raise_input_error(name):
    data, message = BAD_FILES[name]
    with pytest.raises(InputError, match=message):
        read_poses(data)


def test_pose_files_up_to_64_mib_are_read_and_larger_ones_refused():
    limit = 64 * 1024 * 1024
    assert check_size(bytearray(limit), "Brainsight file") == bytes(limit)
    with pytest.raises(InputError, match=f"Brainsight file: file of {limit + 1} bytes exceeds the {limit} byte limit"):
        check_size(bytes(limit + 1), "Brainsight file")


def test_a_simnibs_zip_of_64_files_one_of_16_mib_is_read():
    members = {f"pose{i}.mat": mat_bytes(matsimnibs=POSE) for i in range(63)}
    members["padding.bin"] = bytes(16 * 1024 * 1024)  # neither .mat nor .json: not read, but counted
    poses = read_simnibs(zip_bytes(members))
    assert [pose.name for pose in poses] == [f"pose{i}.mat" for i in range(63)]


def test_readers_refuse_non_bytes_and_truncated_zip():
    with pytest.raises(InputError):
        read_localite("<InstrumentMarkerList/>")
    good = zip_bytes({"a.mat": mat_bytes(matsimnibs=POSE)})
    assert np.allclose(read_simnibs(good)[0].matrix_ras, POSE)
    with pytest.raises(InputError):
        read_simnibs(good[: len(good) // 2])
