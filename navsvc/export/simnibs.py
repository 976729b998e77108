"""SimNIBS: ``matsimnibs`` MAT-files (zipped with a JSON index) and their reader.

SimNIBS sets a TMS position from a 4x4 ``matsimnibs`` in subject (NIfTI RAS)
world coordinates, mm (SimNIBS documentation, "Coordinates in SimNIBS" and the
``POSITION.matsimnibs`` field). The export is one ``.zip`` so it downloads as a
single file::

    <stem>_simnibs.zip
        <stem>_coil.mat           variable matsimnibs, 4x4 float64 (planned pose)
        <stem>_along_normal.mat   same, along-normal alternative (when planned)
        <stem>_simnibs.json       plan id, strategy, convention, target, file index

Load in SimNIBS with ``scipy.io.loadmat(path)["matsimnibs"]``. SimNIBS has no
LPS mode: a ``matsimnibs`` is always RAS, so ``space="lps"`` is refused rather
than writing a mirrored matrix SimNIBS would read as RAS.
"""

from __future__ import annotations

import io
import json
import lzma
import zipfile
import zlib
from dataclasses import replace

import numpy as np
import scipy.io

from navsvc.errors import InputError
from navsvc.export.conventions import check_pose, check_space
from navsvc.export.poses import PLANNED, ExportFile, PlanExport, RecordedPose, check_size

MEDIA_TYPE = "application/zip"
CONVENTION = ("SimNIBS matsimnibs: columns x, y, z axes and centre c (mm) in NIfTI RAS "
              "world; z into the head; handle towards -y")
MAX_ENTRIES = 64
MAX_ENTRY_BYTES = 16 * 1024 * 1024
#: fixed time stamp so the same plan always gives the same zip bytes
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _mat_bytes(matrix: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {"matsimnibs": np.asarray(matrix, dtype=np.float64)},
                     format="5", oned_as="column")
    return buffer.getvalue()


def _add(archive: zipfile.ZipFile, name: str, content: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, content)


def write_simnibs(export: PlanExport, space: str = "ras") -> ExportFile:
    """Write the plan's coil poses as SimNIBS ``matsimnibs`` MAT-files in one zip.

    Parameters
    ----------
    export : PlanExport
        Poses of the plan and its cortex target.
    space : str
        Must be ``"ras"``; SimNIBS reads every ``matsimnibs`` as RAS.

    Returns
    -------
    ExportFile
        ``<stem>_simnibs.zip``.
    """
    if check_space(space) != "ras":
        raise InputError("the simnibs format is always RAS (SimNIBS has no LPS mode); "
                         "valid space for simnibs: ras")
    index = {"plan_id": export.plan_id, "strategy": export.strategy, "convention": CONVENTION,
             "units": "mm", "space": "RAS",
             "cortex_target_ras_mm": [float(v) for v in export.target_ras_mm], "files": {}}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for pose in export.poses:
            suffix = "coil" if pose.role == "planned" else pose.role
            member = f"{export.stem}_{suffix}.mat"
            _add(archive, member, _mat_bytes(pose.matrix_ras))
            index["files"][member] = pose.name
        _add(archive, f"{export.stem}_simnibs.json",
             (json.dumps(index, indent=2) + "\n").encode("utf-8"))
    return ExportFile(f"{export.stem}_simnibs.zip", MEDIA_TYPE, buffer.getvalue())


def _read_mat(content: bytes, name: str) -> list[RecordedPose]:
    try:
        variables = scipy.io.loadmat(io.BytesIO(content))
    except Exception as exc:  # scipy raises many types for corrupt files
        raise InputError(f"SimNIBS file {name!r}: not a readable MAT-file ({exc})") from None
    if "matsimnibs" not in variables:
        raise InputError(f"SimNIBS file {name!r}: no variable 'matsimnibs'")
    stored = np.asarray(variables["matsimnibs"])
    stack = stored[:, :, np.newaxis] if stored.ndim == 2 else stored
    if stack.ndim != 3 or stack.shape[:2] != (4, 4):
        raise InputError(f"SimNIBS file {name!r}: matsimnibs must be 4x4 or 4x4xN, "
                         f"got shape {stored.shape}")
    count = stack.shape[2]
    return [RecordedPose(name if count == 1 else f"{name} {i + 1}",
                         check_pose(stack[:, :, i], f"SimNIBS file {name!r}"),
                         index=i + 1, kind=PLANNED)
            for i in range(count)]


#: what zipfile raises on a damaged archive: RuntimeError includes NotImplementedError (a
#: version or compression it does not read), ValueError a member offset before the start
_ZIP_ERRORS = (zipfile.BadZipFile, OSError, RuntimeError, EOFError, ValueError, zlib.error,
               lzma.LZMAError)


def read_simnibs(data: bytes) -> list[RecordedPose]:
    """Read ``matsimnibs`` poses from a navsvc SimNIBS zip or a single MAT-file.

    Parameters
    ----------
    data : bytes
        A ``.zip`` holding ``.mat`` files, or one ``.mat`` file, each with a
        4x4 (or 4x4xN stacked) variable ``matsimnibs`` in RAS, mm.

    Returns
    -------
    list of RecordedPose
        ``kind="planned"`` poses, named after the JSON index when present.
    """
    data = check_size(data, "SimNIBS file")
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return _read_mat(data, "matsimnibs")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS as exc:
        raise InputError(f"SimNIBS file: corrupt zip ({exc})") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > MAX_ENTRIES or any(m.file_size > MAX_ENTRY_BYTES for m in members):
            raise InputError(f"SimNIBS file: zip must hold at most {MAX_ENTRIES} files of "
                             f"at most {MAX_ENTRY_BYTES} bytes each")
        try:
            contents = {m.filename: archive.read(m) for m in members}
        except _ZIP_ERRORS as exc:
            raise InputError(f"SimNIBS file: cannot unpack zip ({exc})") from None
    names: dict = {}
    plan_id = None
    for member, content in contents.items():
        if member.lower().endswith(".json"):
            try:
                index = json.loads(content.decode("utf-8"))
                names = dict(index.get("files") or {})
            except (ValueError, AttributeError, TypeError, RecursionError):  # ValueError: JSON and its 4300-digit limit
                raise InputError(f"SimNIBS file: {member!r} is not a navsvc JSON index") from None
            plan_id = index.get("plan_id") if isinstance(index.get("plan_id"), str) else None
    poses = []
    for member in [m for m in contents if m.lower().endswith(".mat")]:  # archive order
        poses += [replace(pose, plan_id=plan_id) for pose in
                  _read_mat(contents[member], str(names.get(member, member.rsplit("/", 1)[-1])))]
    if not poses:
        raise InputError("SimNIBS file: the zip holds no .mat file with a matsimnibs")
    return poses
