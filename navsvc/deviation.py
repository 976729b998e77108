"""Deviation of delivered coil poses from the planned pose.

All poses are SimNIBS ``matsimnibs`` 4x4 matrices in NIfTI RAS world
coordinates, mm (z into the head, handle to -y); see
:mod:`navsvc.export.conventions`.

What is compared: every pose is compared with the plan's coil pose, never with another
pose of the file. When the file holds delivered poses (trigger markers, samples) only
those are compared, and of them only the ones associated with one of the targets navsvc
writes for the plan (``"<plan id> <strategy> coil"``, its along-normal alternative and,
in Brainsight, its cortex target: the operator may navigate to any of them) or with no
target: a file that also holds, say, motor-threshold samples at M1 must not pool them
with the treatment. Given the session's day, a file whose samples span several days keeps
those of that day. Without delivered poses, the cortex target row of navsvc's own
Brainsight export is left out (a target under the scalp, not a coil pose). Every
pose left out is counted in the report with the reason. A file that names the plan it
was written for (navsvc JSON, SimNIBS zip) must name this one.

Twist sign: the delivered handle axis (y) is projected onto the planned coil
plane and its angle from the planned y axis is measured about the planned z
axis (into the head) by the right-hand rule. Seen from outside the head,
looking down onto the coil, a positive twist is a **clockwise** turn of the
handle. The twist is undefined (``nan``, ``null`` in JSON) when the delivered y
axis is perpendicular to the planned coil plane.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from datetime import date

import numpy as np

from navsvc.coil import axis_distance_mm
from navsvc.errors import InputError
from navsvc.export.conventions import check_pose
from navsvc.export.poses import DELIVERED, RecordedPose, pose_names, printable

#: summary metrics of a group of poses: (report key, PoseDeviation attribute, absolute?)
_SUMMARY = (("centre_distance_mm", "centre_distance_mm", False),
            ("axis_to_target_mm", "axis_to_target_mm", False),
            ("tilt_deg", "tilt_deg", False),
            ("twist_abs_deg", "twist_deg", True))
NO_SESSION = "(no session)"


@dataclass(frozen=True)
class PoseDeviation:
    """How far a delivered coil pose is from the planned one.

    Parameters
    ----------
    centre_distance_mm : float
        Distance between planned and delivered coil centres, mm.
    axis_to_target_mm : float
        Distance from the cortical target to the line through the delivered
        coil centre along its normal (z axis), mm.
    tilt_deg : float
        Angle between planned and delivered coil normals, degrees, 0-180.
    twist_deg : float
        Signed handle rotation about the planned normal, degrees, -180 to 180
        (positive = clockwise seen from outside the head); ``nan`` if undefined.
    """

    centre_distance_mm: float
    axis_to_target_mm: float
    tilt_deg: float
    twist_deg: float

    def to_dict(self) -> dict:
        """Return the deviation as JSON-ready values (``None`` for an undefined twist)."""
        return {k: (None if math.isnan(v) else v) for k, v in asdict(self).items()}


def pose_deviation(planned: np.ndarray, delivered: np.ndarray, target_ras_mm) -> PoseDeviation:
    """Compare a delivered coil pose with the planned one.

    Parameters
    ----------
    planned, delivered : numpy.ndarray, shape (4, 4)
        Coil poses, SimNIBS convention, RAS, mm.
    target_ras_mm : array-like, shape (3,)
        Cortical target, RAS, mm.

    Returns
    -------
    PoseDeviation
    """
    planned = check_pose(planned, "planned pose")
    delivered = check_pose(delivered, "delivered pose")
    target = np.asarray(target_ras_mm, dtype=float).reshape(3)
    if not np.all(np.isfinite(target)):
        raise InputError("target_ras_mm must be 3 finite numbers (mm)")
    y_plan, z_plan = planned[:3, 1], planned[:3, 2]
    y_deliv, z_deliv = delivered[:3, 1], delivered[:3, 2]
    centre_distance = float(np.linalg.norm(delivered[:3, 3] - planned[:3, 3]))
    axis_distance = axis_distance_mm(delivered, target)
    tilt = math.degrees(math.acos(float(np.clip(z_plan @ z_deliv, -1.0, 1.0))))
    in_plane = y_deliv - (y_deliv @ z_plan) * z_plan
    if np.linalg.norm(in_plane) < 1e-9:
        twist = math.nan
    else:
        twist = math.degrees(math.atan2(float(np.cross(y_plan, in_plane) @ z_plan),
                                        float(y_plan @ in_plane))) + 0.0
    return PoseDeviation(centre_distance, axis_distance, tilt, twist)


def _summary(deviations: list[PoseDeviation]) -> dict:
    mean, worst = {}, {}
    for key, attribute, absolute in _SUMMARY:
        values = [getattr(d, attribute) for d in deviations]
        values = [abs(v) if absolute else v for v in values if not math.isnan(v)]
        mean[key] = float(np.mean(values)) if values else None
        worst[key] = float(np.max(values)) if values else None
    return {"n_poses": len(deviations), "mean": mean, "worst": worst}


def _compare(planned: np.ndarray, target: np.ndarray,
             poses: list[RecordedPose]) -> tuple[list[dict], dict[str, list[PoseDeviation]]]:
    rows, by_session = [], {}
    for pose in poses:
        deviation = pose_deviation(planned, pose.matrix_ras, target)
        by_session.setdefault(pose.session or NO_SESSION, []).append(deviation)
        rows.append({"name": pose.name, "session": pose.session, "index": pose.index,
                     "target_name": pose.target_name, "recorded_at": pose.recorded_at,
                     "kind": pose.kind, **deviation.to_dict()})
    return rows, by_session


@dataclass(frozen=True)
class _Selection:
    """What decides which poses of a file are compared with the plan."""

    coil_name: str
    own_target_names: tuple[str, ...]  # the plan's rows a delivered pose may be associated with
    cortex_name: str
    has_delivered: bool
    session_day: date | None  # set only when the file's delivered poses span several days


def _same_name(a: str, b: str) -> bool:
    # the Brainsight writer collapses runs of white space in names
    return " ".join(a.split()) == " ".join(b.split())


def _recorded_day(pose: RecordedPose) -> date | None:
    # Brainsight writes "<Date>T<Time>" with an ISO date; Localite gives a clock time only
    match = re.match(r"(\d{4}-\d{2}-\d{2})", pose.recorded_at or "")
    try:
        return date.fromisoformat(match.group(1)) if match else None
    except ValueError:
        return None


def _selection(plan: dict, poses: list[RecordedPose], session_day: date | None) -> _Selection:
    names = pose_names(str(plan.get("plan_id")), str(plan["target"].get("strategy")))
    delivered = [p for p in poses if p.kind == DELIVERED]
    days = {d for d in map(_recorded_day, delivered) if d is not None}
    return _Selection(names["planned"], (names["planned"], names["along_normal"], names["cortex"]),
                      names["cortex"], bool(delivered), session_day if len(days) > 1 else None)


def _why_left_out(pose: RecordedPose, rules: _Selection) -> str | None:
    """Why ``pose`` is not compared with the plan, or ``None`` if it is."""
    if pose.kind != DELIVERED:
        if rules.has_delivered:
            return "target, not a delivered pose (the file has delivered poses)"
        if _same_name(pose.name, rules.cortex_name):
            return "the plan's cortex target row of navsvc's Brainsight export, not a coil pose"
        return None
    if pose.target_name is not None and not any(_same_name(pose.target_name, own)
                                                for own in rules.own_target_names):
        return (f"associated with target {pose.target_name!r}, not with the plan's coil "
                f"target {rules.coil_name!r} (nor its along-normal or cortex target)")
    day = _recorded_day(pose)
    if rules.session_day is not None and day is not None and day != rules.session_day:
        return f"recorded on {day}, not on the session's day {rules.session_day}"
    return None


def select_poses(plan: dict, poses: list[RecordedPose],
                 session_day: date | None = None) -> tuple[list[RecordedPose], list[dict]]:
    """Split a file's poses into those compared with the plan and those left out.

    Parameters
    ----------
    plan : dict
        The engine's plan; uses ``plan_id`` and ``target.strategy`` (target names).
    poses : list of RecordedPose
        Poses from :func:`navsvc.export.read_poses`.
    session_day : datetime.date, optional
        Day of the session being logged; used only when the delivered poses were
        recorded over several days.

    Returns
    -------
    compared : list of RecordedPose
    left_out : list of dict
        ``{"reason": str, "n_poses": int}`` per reason, in the order first met.
    """
    rules = _selection(plan, poses, session_day)
    compared, counts = [], {}
    for pose in poses:
        reason = _why_left_out(pose, rules)
        if reason is None:
            compared.append(pose)
        else:
            counts[reason] = counts.get(reason, 0) + 1
    return compared, [{"reason": r, "n_poses": n} for r, n in counts.items()]


def _require_this_plans_file(plan: dict, poses: list[RecordedPose]) -> None:
    """Refuse a file that names another plan (navsvc JSON, SimNIBS zip): its poses may be
    another patient's, and compared with this plan they would make a false record."""
    plan_id = printable(str(plan.get("plan_id")))
    named = sorted({p.plan_id for p in poses if p.plan_id is not None} - {plan_id})
    if named:
        raise InputError(f"the pose file was written for plan {', '.join(map(repr, named))}, not for "
                         f"this plan {plan_id!r}: check that it is this patient's file for this plan")


def deviation_report(plan: dict, poses: list[RecordedPose], session_day: date | None = None) -> dict:
    """Deviation of each recorded pose from the plan's coil pose, with per-session mean and worst.

    Which poses are compared is :func:`select_poses`' choice (see the module docstring);
    the others are counted under ``left_out`` with the reason.

    Parameters
    ----------
    plan : dict
        The engine's plan; uses ``plan_id``, ``target.strategy``, ``coil.matrix`` and
        ``target.cortex_ras_mm``.
    poses : list of RecordedPose
        Poses from :func:`navsvc.export.read_poses`.
    session_day : datetime.date, optional
        Day of the session being logged (see :func:`select_poses`).

    Returns
    -------
    dict
        JSON-ready: ``rows`` (one per compared pose), ``sessions`` (mean and worst per
        session; twist summarised as its absolute value ``twist_abs_deg``), ``overall``,
        ``compared`` (``"delivered"``, or ``"all"`` when the file has no delivered pose),
        ``n_left_out`` and ``left_out`` (reasons and counts; ``len(rows) + n_left_out``
        is the number of poses read) and ``n_skipped_planned`` (planned poses left out).

    Raises
    ------
    InputError
        A plan without a valid coil pose or target, no pose, or no pose left to compare.
    """
    try:
        planned_matrix = plan["coil"]["matrix"]
        target = np.asarray(plan["target"]["cortex_ras_mm"], dtype=float).reshape(3)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise InputError(f"plan is missing or has a bad field: {exc}") from None
    planned = check_pose(planned_matrix, "plan coil.matrix")
    if not poses:
        raise InputError("no recorded pose to compare with the plan")
    _require_this_plans_file(plan, poses)
    compared, left_out = select_poses(plan, poses, session_day)
    if not compared:
        raise InputError("no pose of the file can be compared with the plan: " + "; ".join(
            f"{group['n_poses']} {group['reason']}" for group in left_out))
    rows, by_session = _compare(planned, target, compared)
    n_planned = sum(p.kind != DELIVERED for p in poses)
    return {
        "plan_id": str(plan.get("plan_id")),
        "target_ras_mm": [float(v) for v in target],
        "compared": "delivered" if n_planned < len(poses) else "all",
        "n_skipped_planned": n_planned - sum(p.kind != DELIVERED for p in compared),
        "n_left_out": len(poses) - len(compared),
        "left_out": left_out,
        "twist_sign": "positive = clockwise seen from outside the head (right-handed "
                      "about the planned coil normal, which points into the head); the "
                      "opposite sign of Brainsight's Twist Error",
        "rows": rows,
        "sessions": [{"session": name, **_summary(devs)} for name, devs in by_session.items()],
        "overall": _summary([d for devs in by_session.values() for d in devs]),
    }
