"""navsvc's own JSON pose format for navigation-system integrators.

The layout is fixed by ``navsvc/schemas/export.schema.json``: a ``poses`` list
of 4x4 matrices in the SimNIBS convention (z into the head, handle to -y) in the
world space named by ``space`` (``RAS`` or ``LPS``), mm. Each pose also spells
out its centre, normal and handle direction so an integrator need not know the
matrix convention; the reader refuses a pose whose explicit fields disagree with
its matrix (more than 1 mm or 2 degrees), since one of the two is wrong. The same
layout, with ``kind: "delivered"`` and ``session``, ``index``, ``recorded_at``, is
how a navigation system reports delivered poses.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import jsonschema
import numpy as np

from navsvc.errors import InputError
from navsvc.export.conventions import check_pose, check_space, point_to_space
from navsvc.export.conventions import ras_to_space, space_to_ras
from navsvc.export.poses import PLANNED, READABLE_FILES, ExportFile, PlanExport, RecordedPose
from navsvc.export.poses import decode_text

MEDIA_TYPE = "application/json"
FORMAT, FORMAT_VERSION = "navsvc.poses", 1
CONVENTION = ("SimNIBS matsimnibs: columns x, y, z unit axes and centre (mm); z into the "
              "head; handle towards -y; x = y cross z")
#: largest disagreement the reader accepts between a pose's explicit fields and its matrix
#: (a navigator's rounding is far below; a reversed handle or a swapped axis is far above)
EXPLICIT_TOLERANCE_MM, EXPLICIT_TOLERANCE_DEG = 1.0, 2.0


@lru_cache(maxsize=1)
def export_schema() -> dict:
    """Return the JSON schema of the integrator format (``export.schema.json``)."""
    text = resources.files("navsvc").joinpath("schemas", "export.schema.json").read_text("utf-8")
    return json.loads(text)


def _explicit_fields(matrix: np.ndarray) -> dict[str, np.ndarray]:
    # what each pose spells out besides its matrix, in the matrix's space
    return {"centre_mm": matrix[:3, 3], "normal_into_head": matrix[:3, 2],
            "handle_direction": -matrix[:3, 1]}


def _pose_entry(name: str, role: str, matrix: np.ndarray) -> dict:
    return {
        "name": name,
        "kind": PLANNED,
        "role": role,
        "matrix": [[float(v) + 0.0 for v in row] for row in matrix],
        **{key: [float(v) + 0.0 for v in vector]
           for key, vector in _explicit_fields(matrix).items()},
    }


def write_integrator_json(export: PlanExport, space: str = "ras") -> ExportFile:
    """Write the plan's poses and cortex target as navsvc integrator JSON.

    Parameters
    ----------
    export : PlanExport
        Poses of the plan and its cortex target.
    space : str
        ``"ras"`` or ``"lps"``: world space of every matrix and point.

    Returns
    -------
    ExportFile
        ``<stem>_poses.json``, valid against ``export.schema.json``.
    """
    space = check_space(space)
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "plan_id": export.plan_id,
        "strategy": export.strategy,
        "space": space.upper(),
        "units": "mm",
        "convention": CONVENTION,
        "cortex_target_mm": [float(v) for v in point_to_space(export.target_ras_mm, space)],
        "poses": [_pose_entry(p.name, p.role, ras_to_space(p.matrix_ras, space))
                  for p in export.poses],
    }
    jsonschema.validate(document, export_schema())
    content = (json.dumps(document, indent=2) + "\n").encode("utf-8")
    return ExportFile(f"{export.stem}_poses.json", MEDIA_TYPE, content)


def read_integrator_json(data: bytes) -> list[RecordedPose]:
    """Read navsvc integrator JSON (planned or delivered poses).

    Parameters
    ----------
    data : bytes
        A JSON document valid against ``export.schema.json``.

    Returns
    -------
    list of RecordedPose
        Poses in the SimNIBS convention, RAS, mm (converted from LPS if needed).

    Raises
    ------
    InputError
        Not valid against the schema, a bad matrix, or a pose whose ``centre_mm``,
        ``normal_into_head`` or ``handle_direction`` disagrees with its matrix by more
        than :data:`EXPLICIT_TOLERANCE_MM` or :data:`EXPLICIT_TOLERANCE_DEG`.
    """
    try:
        document = json.loads(decode_text(data, "navsvc JSON"))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, an integer over 4300 digits, nesting too deep
        raise InputError(f"navsvc JSON: not valid JSON ({type(exc).__name__}: {str(exc)[:200]})") from None
    if _is_ant_neuro_markers(document):
        raise InputError("ANT Neuro visor2 marker file (.mrk): navsvc does not read ANT Neuro "
                         f"files yet; export the poses as {READABLE_FILES}")
    try:
        jsonschema.validate(document, export_schema())
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(document)"
        raise InputError(f"navsvc JSON: {where}: {exc.message}") from None
    space = check_space(document["space"])
    return [_recorded_pose(entry, number, space, document.get("plan_id"))
            for number, entry in enumerate(document["poses"], start=1)]


def _is_ant_neuro_markers(document) -> bool:
    # visor2 .mrk files are JSON as well: a "TargetMarkers" list of CoilTarget entries and
    # the writing program in Configuration.SourceInfo.AppName. Layout as in a visor2 2.8.0
    # file seen in review; no published ANT Neuro format description was checked.
    if not isinstance(document, dict) or "format" in document:
        return False
    configuration = document.get("Configuration")
    source = configuration.get("SourceInfo") if isinstance(configuration, dict) else None
    app = source.get("AppName") if isinstance(source, dict) else None
    return "TargetMarkers" in document or (isinstance(app, str) and app.lower().startswith("visor"))


def _recorded_pose(entry: dict, number: int, space: str, plan_id: str | None) -> RecordedPose:
    what = f"navsvc JSON pose {number} ({entry['name']!r})"
    matrix = _floats(entry["matrix"], f"{what}: the matrix")
    pose = check_pose(space_to_ras(matrix, space), what)
    _check_explicit_fields(entry, matrix, what)
    return RecordedPose(
        entry["name"], pose, session=entry.get("session"), index=entry.get("index", number),
        target_name=entry.get("target_name"), recorded_at=entry.get("recorded_at"),
        kind=entry.get("kind", PLANNED), plan_id=plan_id)


def _check_explicit_fields(entry: dict, matrix: np.ndarray, what: str) -> None:
    for key, from_matrix in _explicit_fields(matrix).items():
        if key not in entry:
            continue
        given = _floats(entry[key], f"{what}: {key}")
        if not np.all(np.isfinite(given)):
            raise InputError(f"{what}: {key} holds non-finite values")
        if key == "centre_mm":
            difference = given - from_matrix  # the matrix's centre is bounded (check_pose)
            scale = float(np.max(np.abs(difference)))
            # scaled like _angle_deg: the squares of 1e200s overflow
            apart = scale * float(np.linalg.norm(difference / scale)) if scale > 0 else 0.0
            limit = EXPLICIT_TOLERANCE_MM
            unit_name = "mm"
        else:
            apart, limit = _angle_deg(given, from_matrix, f"{what}: {key}"), EXPLICIT_TOLERANCE_DEG
            unit_name = "degrees"
        if apart > limit:
            raise InputError(
                f"{what}: {key} {np.round(given, 4).tolist()} disagrees with the matrix, which "
                f"gives {np.round(from_matrix, 4).tolist()} ({apart:.3g} {unit_name} apart, more "
                f"than {limit:g}); fix whichever is wrong")


def _angle_deg(given: np.ndarray, reference: np.ndarray, what: str) -> float:
    scale = float(np.max(np.abs(given)))
    if scale == 0:
        raise InputError(f"{what} is a zero vector, not a direction")
    direction = given / scale  # no overflow in the norm of a vector of 1e300s
    cosine = float(direction @ reference) / float(np.linalg.norm(direction) * np.linalg.norm(reference))
    return float(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))))


def _floats(values, what: str) -> np.ndarray:
    # JSON integers have no size limit: one with 400 digits passes the schema as a number
    try:
        return np.array(values, dtype=float)
    except (OverflowError, ValueError, TypeError):
        raise InputError(f"{what} holds a number beyond floating point") from None
