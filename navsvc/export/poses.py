"""Data shared by every navigator format: exported files, read poses, plan poses."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from navsvc.coil import axis_distance_mm
from navsvc.errors import InputError
from navsvc.export.conventions import PLAN_ORTHONORMAL_TOLERANCE, check_pose

#: largest pose file the readers accept, bytes (a Localite TriggerMarker list of a
#: 3000-pulse session is a few MB)
MAX_POSE_FILE_BYTES = 64 * 1024 * 1024

#: kinds of pose a reader returns
PLANNED, DELIVERED = "planned", "delivered"

#: the pose files :func:`navsvc.export.read_poses` reads, for messages
READABLE_FILES = "a Localite XML, Brainsight .txt, SimNIBS .zip/.mat or navsvc JSON file"


@dataclass(frozen=True)
class ExportFile:
    """One downloadable navigator file.

    Parameters
    ----------
    filename : str
        Suggested file name (no directory), safe on every file system.
    media_type : str
        MIME type for the HTTP ``Content-Type`` header.
    content : bytes
        The file content.
    """

    filename: str
    media_type: str
    content: bytes


@dataclass
class RecordedPose:
    """A coil pose read from a navigator file, in navsvc's convention.

    Parameters
    ----------
    name : str
        Marker, target or sample name as written in the file.
    matrix_ras : numpy.ndarray, shape (4, 4)
        Pose in the SimNIBS ``matsimnibs`` convention (z into the head, handle
        to -y) in NIfTI RAS world coordinates, mm.
    session : str, optional
        Session the pose was recorded in (Brainsight session name, Localite
        trigger list start time).
    index : int, optional
        Running number of the pose within its session or file.
    target_name : str, optional
        Planned target the navigator associated the pose with.
    recorded_at : str, optional
        When the pose was recorded, as the navigator reports it.
    kind : str
        ``"planned"`` (instrument markers, targets, plan exports) or
        ``"delivered"`` (pulses and samples recorded during a session).
    plan_id : str, optional
        The plan the file says it belongs to (navsvc JSON ``plan_id``, the SimNIBS
        zip's index); None when the format does not say.
    """

    name: str
    matrix_ras: np.ndarray
    session: str | None = None
    index: int | None = None
    target_name: str | None = None
    recorded_at: str | None = None
    kind: str = field(default=PLANNED)
    plan_id: str | None = None


@dataclass(frozen=True)
class PlanPose:
    """A pose to export, taken from a plan: a name, a role and a RAS matrix."""

    name: str
    role: str
    matrix_ras: np.ndarray


@dataclass(frozen=True)
class PlanExport:
    """What a plan contributes to every export: names, coil poses, cortex target."""

    plan_id: str
    strategy: str
    poses: tuple[PlanPose, ...]
    target_ras_mm: np.ndarray
    #: what the input header named the world of 'ras' (plan ``input.world_space``), if known
    world_space: str | None = None

    @property
    def label(self) -> str:
        """Free text naming the plan in files: plan id and strategy, nothing else."""
        return f"navsvc plan {self.plan_id} ({self.strategy})"

    @property
    def cortex_target_name(self) -> str:
        """Name of the cortex target where a format lists it beside the coil poses."""
        return pose_names(self.plan_id, self.strategy)["cortex"]

    @property
    def stem(self) -> str:
        """File-name stem built from the plan id only."""
        return "navsvc_" + (re.sub(r"[^A-Za-z0-9_-]+", "_", self.plan_id).strip("_") or "plan")


def printable(text: str) -> str:
    """``text`` with each character that an XML 1.0 file or a tab-separated row cannot hold
    (control characters, tabs and line breaks included; lone surrogates; U+FFFE, U+FFFF)
    replaced by ``?``."""
    return "".join("?" if unicodedata.category(ch) in ("Cc", "Cs") or ch in "\ufffe\uffff" else ch
                   for ch in text)


def pose_names(plan_id: str, strategy: str) -> dict[str, str]:
    """Names navsvc gives a plan's poses in navigator files (plan id and strategy only).

    Parameters
    ----------
    plan_id, strategy : str
        The plan's ``plan_id`` and ``target.strategy``.

    Returns
    -------
    dict
        ``"planned"``: the coil pose; ``"along_normal"``: the along-normal alternative;
        ``"cortex"``: the cortex target (Brainsight's target list).
    """
    label = f"{printable(plan_id)} {printable(strategy)}"
    return {"planned": f"{label} coil", "along_normal": f"{label} along-normal coil",
            "cortex": f"{label} cortex target"}


def _plan_pose(matrix, what: str) -> np.ndarray:
    return check_pose(matrix, what, tolerance=PLAN_ORTHONORMAL_TOLERANCE, orthonormalize=False)


#: farthest the axis of a plan's coil pose may pass from its cortex target for the pose to
#: be exported (plans pass within 3 mm; a pose mirrored, moved or edited by hand does not)
MAX_EXPORT_AXIS_MISS_MM = 10.0


def _aimed_pose(matrix, what: str, target_ras_mm: np.ndarray) -> np.ndarray:
    """The plan's pose, refused unless it points at the plan's cortex target: its axis
    passes within :data:`MAX_EXPORT_AXIS_MISS_MM` of it and it lies in front of the coil
    (into the head). A navigator would show a pose that does not as a valid target."""
    pose = _plan_pose(matrix, what)
    depth_mm = float((target_ras_mm - pose[:3, 3]) @ pose[:3, 2])
    miss_mm = axis_distance_mm(pose, target_ras_mm)
    if depth_mm <= 0 or miss_mm > MAX_EXPORT_AXIS_MISS_MM:
        where = "behind the coil" if depth_mm <= 0 else f"{miss_mm:.1f} mm from the coil's axis"
        raise InputError(f"{what} does not point at the plan's cortex target (it lies {where}): the "
                         "plan was changed or stored in another space; export the plan.json navsvc wrote")
    return pose


def plan_export(plan: dict) -> PlanExport:
    """Extract the exportable poses of a plan dict (the engine's ``plan.json``).

    Parameters
    ----------
    plan : dict
        Needs ``plan_id``, ``target.strategy``, ``target.cortex_ras_mm`` and
        ``coil.matrix``; ``entry.along_normal.coil_matrix`` is exported too when
        present.

    Returns
    -------
    PlanExport
        The planned coil pose first, then the along-normal alternative.
    """
    if not isinstance(plan, dict):
        raise InputError("plan must be a JSON object")
    try:
        plan_id = printable(str(plan["plan_id"]))
        strategy = printable(str(plan["target"]["strategy"]))
        target = np.asarray(plan["target"]["cortex_ras_mm"], dtype=float)
        coil = plan["coil"]["matrix"]
        along = ((plan.get("entry") or {}).get("along_normal") or {}).get("coil_matrix")
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise InputError(f"plan is missing or has a bad field: {exc}") from None
    if target.shape != (3,) or not np.all(np.isfinite(target)):
        raise InputError("plan target.cortex_ras_mm must be 3 finite numbers (mm)")
    names = pose_names(plan_id, strategy)
    poses = [PlanPose(names["planned"], "planned", _aimed_pose(coil, "plan coil.matrix", target))]
    if along is not None:
        matrix = _aimed_pose(along, "plan entry.along_normal.coil_matrix", target)
        poses.append(PlanPose(names["along_normal"], "along_normal", matrix))
    world = plan["input"].get("world_space") if isinstance(plan.get("input"), dict) else None
    return PlanExport(plan_id, strategy, tuple(poses), target, world if isinstance(world, str) else None)


def check_size(data: bytes, what: str) -> bytes:
    """Raise unless ``data`` is non-empty bytes no larger than :data:`MAX_POSE_FILE_BYTES`.

    Parameters
    ----------
    data : bytes or bytearray
        Content of an uploaded pose file.
    what : str
        Name of the file used at the start of error messages (e.g. ``"Brainsight file"``).

    Returns
    -------
    bytes
        ``data`` as ``bytes`` (a bytearray is copied).

    Raises
    ------
    InputError
        ``data`` is not bytes, is empty, or is larger than :data:`MAX_POSE_FILE_BYTES`.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise InputError(f"{what}: expected the file content as bytes")
    if not data:
        raise InputError(f"{what}: the file is empty")
    if len(data) > MAX_POSE_FILE_BYTES:
        raise InputError(f"{what}: file of {len(data)} bytes exceeds the "
                         f"{MAX_POSE_FILE_BYTES} byte limit")
    return bytes(data)


def decode_text(data: bytes, what: str) -> str:
    """Decode a UTF-8 text file (optional byte-order mark) or raise.

    Parameters
    ----------
    data : bytes or bytearray
        Content of an uploaded pose file; its size is checked by :func:`check_size`.
    what : str
        Name of the file used at the start of error messages (e.g. ``"Brainsight file"``).

    Returns
    -------
    str
        The decoded text, without the byte-order mark.

    Raises
    ------
    InputError
        The size check fails or ``data`` is not valid UTF-8.
    """
    try:
        return check_size(data, what).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
