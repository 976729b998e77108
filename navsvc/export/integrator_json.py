"""navsvc's own JSON pose format for navigation-system integrators.

The layout is fixed by ``navsvc/schemas/export.schema.json``: a ``poses`` list
of 4x4 matrices in the SimNIBS convention (z into the head, handle to -y) in the
world space named by ``space`` (``RAS`` or ``LPS``), mm. Each pose also spells
out its centre, normal and handle direction so an integrator need not know the
matrix convention. The same layout, with ``kind: "delivered"`` and ``session``,
``index``, ``recorded_at``, is how a navigation system reports delivered poses.
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
from navsvc.export.poses import PLANNED, ExportFile, PlanExport, RecordedPose, decode_text

MEDIA_TYPE = "application/json"
FORMAT, FORMAT_VERSION = "navsvc.poses", 1
CONVENTION = ("SimNIBS matsimnibs: columns x, y, z unit axes and centre (mm); z into the "
              "head; handle towards -y; x = y cross z")


@lru_cache(maxsize=1)
def export_schema() -> dict:
    """Return the JSON schema of the integrator format (``export.schema.json``)."""
    text = resources.files("navsvc").joinpath("schemas", "export.schema.json").read_text("utf-8")
    return json.loads(text)


def _pose_entry(name: str, role: str, matrix: np.ndarray) -> dict:
    return {
        "name": name,
        "kind": PLANNED,
        "role": role,
        "matrix": [[float(v) + 0.0 for v in row] for row in matrix],
        "centre_mm": [float(v) for v in matrix[:3, 3]],
        "normal_into_head": [float(v) for v in matrix[:3, 2]],
        "handle_direction": [float(-v) + 0.0 for v in matrix[:3, 1]],
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
    """
    try:
        document = json.loads(decode_text(data, "navsvc JSON"))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, an integer over 4300 digits, nesting too deep
        raise InputError(f"navsvc JSON: not valid JSON ({type(exc).__name__}: {str(exc)[:200]})") from None
    try:
        jsonschema.validate(document, export_schema())
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(document)"
        raise InputError(f"navsvc JSON: {where}: {exc.message}") from None
    space = check_space(document["space"])
    poses = []
    for number, entry in enumerate(document["poses"], start=1):
        what = f"navsvc JSON pose {number} ({entry['name']!r})"
        poses.append(RecordedPose(
            entry["name"], check_pose(space_to_ras(_float_matrix(entry["matrix"], what), space), what),
            session=entry.get("session"), index=entry.get("index", number),
            target_name=entry.get("target_name"), recorded_at=entry.get("recorded_at"),
            kind=entry.get("kind", PLANNED)))
    return poses


def _float_matrix(rows, what: str) -> np.ndarray:
    # JSON integers have no size limit: one with 400 digits passes the schema as a number
    try:
        return np.array(rows, dtype=float)
    except (OverflowError, ValueError, TypeError):
        raise InputError(f"{what}: the matrix holds a number beyond floating point") from None
