"""Brainsight: tab-separated target export and target/sample reader.

File layout (Brainsight text export; checked against the Brainsight files shipped
as SimNIBS test data)::

    # Version: 12
    # Coordinate system: NIfTI:Aligned   (NIfTI:Scanner, NIfTI:MNI-152, ... or World)
    # Created by: ...
    # Units: millimetres, degrees, milliseconds, and microvolts
    # Encoding: UTF-8
    # Notes: ...
    # Target Name<TAB>Loc. X<TAB>Loc. Y<TAB>Loc. Z<TAB>m0n0 ... m2n2
    <one row per target>
    # Sample Name<TAB>Session Name<TAB>Index<TAB>Assoc. Target<TAB>Loc. X ... m2n2
        <TAB>Dist. to Target ... Twist Error<TAB>Stim. Power<TAB>Date<TAB>Time ...
    <one row per recorded sample>

``Loc.`` is the coil centre (mm); ``m0n*``, ``m1n*``, ``m2n*`` are the x, y and z
coil axes. Brainsight coil axes are the SimNIBS axes with x and z negated, so
the Brainsight z axis points out of the head. Missing values read ``(null)``.

World spaces: ``NIfTI:*`` systems are the image's NIfTI world (RAS); ``World``
is the DICOM patient space (LPS) of DICOM-based projects. Brainsight's own
``Brainsight`` system has its origin at a voxel corner and cannot be converted
without the image, so it is refused.
"""

from __future__ import annotations

import numpy as np

from navsvc import __version__
from navsvc.errors import InputError
from navsvc.export.conventions import (
    brainsight_to_simnibs,
    check_pose,
    check_space,
    plain_decimal,
    ras_to_space,
    simnibs_to_brainsight,
    space_to_ras,
)
from navsvc.export.poses import DELIVERED, PLANNED, ExportFile, PlanExport, RecordedPose
from navsvc.export.poses import decode_text

MEDIA_TYPE = "text/plain; charset=utf-8"
AXIS_COLUMNS = tuple(f"m{axis}n{row}" for axis in range(3) for row in range(3))
POSE_COLUMNS = ("Loc. X", "Loc. Y", "Loc. Z") + AXIS_COLUMNS
TARGET_HEADER = ("Target Name",) + POSE_COLUMNS
#: Brainsight's name of the NIfTI coordinate system of each header code (plan
#: ``input.world_space``): Brainsight offers the system the image's header names, so a file
#: for a scanner-coded image (dcm2niix writes code 1) says NIfTI:Scanner. Names as Rogue
#: Research gives them in SimNIBS pull requests #122 and #289 for the Version 12 files
#: written here (Brainsight 2.5.3 and later write Version 14, with NIfTI:S:/NIfTI:Q:
#: names; whether they import Version 12 is not verified here); older plans, which do not
#: record the code, and images whose header names no world (code 0) get NIfTI:Aligned.
NIFTI_SYSTEM = {"scanner": "NIfTI:Scanner", "aligned": "NIfTI:Aligned", "talairach": "NIfTI:Talairach",
                "mni": "NIfTI:MNI-152", "template": "NIfTI:Other-Template"}
#: the coordinate system of an LPS (DICOM project) file
LPS_SYSTEM = "World"


def coordinate_system(export: PlanExport, space: str) -> str:
    """The ``# Coordinate system:`` header value of a file in ``space`` for this plan.

    Parameters
    ----------
    export : PlanExport
        The plan; its ``world_space`` (the input header's world code name, or None) picks
        the NIfTI system.
    space : str
        ``"ras"`` or ``"lps"``, already lower case (as :func:`check_space` returns it); any
        value other than ``"lps"`` is treated as RAS.

    Returns
    -------
    str
        ``"World"`` for ``"lps"``; otherwise the :data:`NIFTI_SYSTEM` name of
        ``export.world_space``, or ``"NIfTI:Aligned"`` when it is None or not listed.
    """
    return LPS_SYSTEM if space == "lps" else NIFTI_SYSTEM.get(export.world_space, "NIfTI:Aligned")


def _clean(text: str) -> str:
    return " ".join(str(text).split())


def _row(name: str, matrix_bs: np.ndarray) -> str:
    values = list(matrix_bs[:3, 3]) + [matrix_bs[row, axis] for axis in range(3)
                                       for row in range(3)]
    # shortest exact decimals (Brainsight itself writes 3) keep the round trip exact
    return "\t".join([_clean(name)] + [plain_decimal(v) for v in values])


def write_brainsight(export: PlanExport, space: str = "ras") -> ExportFile:
    """Write the plan as a Brainsight target list.

    Parameters
    ----------
    export : PlanExport
        Poses of the plan and its cortex target.
    space : str
        ``"ras"`` writes the NIfTI system the plan's input header names (NIfTI projects:
        :func:`coordinate_system`); ``"lps"`` writes ``World`` (DICOM projects, whose world
        is the DICOM patient space).

    Returns
    -------
    ExportFile
        ``<stem>_brainsight.txt``: one target row per coil pose, then a target at
        the cortex target with the planned coil's axes, so that whichever target
        the operator picks, Brainsight shows the planned handle direction.
    """
    space = check_space(space)
    lines = [
        "# Version: 12",
        f"# Coordinate system: {coordinate_system(export, space)}",
        f"# Created by: navsvc {__version__}",
        "# Units: millimetres, degrees, milliseconds, and microvolts",
        "# Encoding: UTF-8",
        f"# Notes: {_clean(export.label)}. Coil targets first, then the cortex target "
        "with the planned coil's orientation.",
        "# " + "\t".join(TARGET_HEADER),
    ]
    rows = [(pose.name, pose.matrix_ras) for pose in export.poses]
    rows.append((export.cortex_target_name, _cortex_target_pose(export)))
    for name, matrix_ras in rows:
        lines.append(_row(name, ras_to_space(simnibs_to_brainsight(matrix_ras), space)))
    content = ("\n".join(lines) + "\n").encode("utf-8")
    return ExportFile(f"{export.stem}_brainsight.txt", MEDIA_TYPE, content)


def _cortex_target_pose(export: PlanExport) -> np.ndarray:
    # Brainsight shows every target row as a coil pose (manual not checked). Identity axes
    # would put the handle posterior in RAS files and anterior in LPS files (handle to -y,
    # as in the 14 samples of Brainsight's own exports in SimNIBS's test data); the planned
    # rotation gives every row the planned handle instead.
    pose = np.array(export.poses[0].matrix_ras, dtype=float)
    pose[:3, 3] = export.target_ras_mm
    return pose


def _space_of(system: str | None) -> str:
    if system is None:
        raise InputError("Brainsight file: no '# Coordinate system:' header line")
    if system.lower().startswith("nifti:"):
        return "ras"
    if system.lower() == "world":
        return "lps"
    raise InputError(f"Brainsight file: coordinate system {system!r} is not supported; export "
                     "from Brainsight in the image's NIfTI coordinate system (NIfTI:...) or World")


def _optional(value: str | None) -> str | None:
    return None if value in (None, "", "(null)") else value


def _pose(fields: dict, space: str, what: str) -> np.ndarray | None:
    if any(_optional(fields.get(column)) is None for column in POSE_COLUMNS):
        return None  # sample taken while the coil was not tracked
    try:
        values = {column: float(fields[column]) for column in POSE_COLUMNS}
    except ValueError as exc:
        raise InputError(f"Brainsight file: {what}: {exc}") from None
    matrix = np.eye(4)
    matrix[:3, 3] = [values["Loc. X"], values["Loc. Y"], values["Loc. Z"]]
    for axis in range(3):
        matrix[:3, axis] = [values[f"m{axis}n{row}"] for row in range(3)]
    return check_pose(brainsight_to_simnibs(space_to_ras(matrix, space)), f"Brainsight {what}")


def _record(fields: dict, section: str, space: str, line_number: int) -> RecordedPose | None:
    name = fields.get(section) or f"line {line_number}"
    matrix = _pose(fields, space, f"line {line_number} ({name!r})")
    if matrix is None:
        return None
    if section == "Target Name":
        return RecordedPose(name, matrix, kind=PLANNED)
    index = _optional(fields.get("Index"))
    date, time = _optional(fields.get("Date")), _optional(fields.get("Time"))
    return RecordedPose(
        name, matrix, session=_optional(fields.get("Session Name")),
        index=int(index) if index is not None and index.isascii() and index.isdigit() and len(index) <= 18 else None,
        target_name=_optional(fields.get("Assoc. Target")),
        recorded_at=f"{date}T{time}" if date and time else (date or time), kind=DELIVERED)


def read_brainsight(data: bytes) -> list[RecordedPose]:
    """Read the targets and samples of a Brainsight text export.

    Parameters
    ----------
    data : bytes
        Content of the ``.txt`` file.

    Returns
    -------
    list of RecordedPose
        Poses in the SimNIBS convention, RAS, mm: targets as ``kind="planned"``,
        samples as ``kind="delivered"`` with session, index, associated target
        and ``recorded_at`` = ``<Date>T<Time>``. Rows without a pose are skipped.
    """
    system, section, columns = None, None, []
    poses: list[RecordedPose] = []
    for line_number, line in enumerate(decode_text(data, "Brainsight file").splitlines(), 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            header = line[1:].strip()
            key, _, value = header.partition(":")
            if key.strip().lower() == "coordinate system":
                system = value.strip()
            elif key.strip().lower() == "encoding" and value.strip().upper() not in ("UTF-8", ""):
                raise InputError(f"Brainsight file: encoding {value.strip()!r} is not UTF-8")
            columns = [c.strip() for c in header.split("\t")]
            section = columns[0] if columns[0] in ("Target Name", "Sample Name") else None
            if section:
                missing = [c for c in POSE_COLUMNS if c not in columns]
                if missing:
                    raise InputError(f"Brainsight file: {section} header lacks {missing}")
            continue
        if section is None:
            continue
        space = _space_of(system)
        fields = dict(zip(columns, (v.strip() for v in line.split("\t"))))
        record = _record(fields, section, space, line_number)
        if record is not None:
            poses.append(record)
    if not poses:
        raise InputError("Brainsight file: no target or sample with a coil pose "
                         "(expected '# Target Name' or '# Sample Name' sections)")
    return poses
