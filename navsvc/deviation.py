"""Deviation of delivered coil poses from the planned pose.

All poses are SimNIBS ``matsimnibs`` 4x4 matrices in NIfTI RAS world
coordinates, mm (z into the head, handle to -y); see
:mod:`navsvc.export.conventions`.

Twist sign: the delivered handle axis (y) is projected onto the planned coil
plane and its angle from the planned y axis is measured about the planned z
axis (into the head) by the right-hand rule. Seen from outside the head,
looking down onto the coil, a positive twist is a **clockwise** turn of the
handle. The twist is undefined (``nan``, ``null`` in JSON) when the delivered y
axis is perpendicular to the planned coil plane.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from navsvc.errors import InputError
from navsvc.export.conventions import check_pose
from navsvc.export.poses import DELIVERED, RecordedPose

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
    to_target = target - delivered[:3, 3]
    axis_distance = float(np.linalg.norm(np.cross(to_target, z_deliv)))
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


def deviation_report(plan: dict, poses: list[RecordedPose]) -> dict:
    """Deviation of each recorded pose from the plan, with per-session mean and worst.

    When any pose is ``kind="delivered"`` (trigger markers, samples), only
    delivered poses are compared and planned ones (targets in the same file)
    are counted under ``n_skipped_planned``; otherwise every pose is compared.

    Parameters
    ----------
    plan : dict
        The engine's plan; uses ``plan_id``, ``coil.matrix`` and
        ``target.cortex_ras_mm``.
    poses : list of RecordedPose
        Poses from :func:`navsvc.export.read_poses`.

    Returns
    -------
    dict
        JSON-ready: ``rows`` (one per pose), ``sessions`` (mean and worst per
        session; twist summarised as its absolute value ``twist_abs_deg``) and
        ``overall``.
    """
    try:
        planned = check_pose(plan["coil"]["matrix"], "plan coil.matrix")
        target = np.asarray(plan["target"]["cortex_ras_mm"], dtype=float).reshape(3)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"plan is missing or has a bad field: {exc}") from None
    if not poses:
        raise InputError("no recorded pose to compare with the plan")
    delivered = [p for p in poses if p.kind == DELIVERED]
    compared = delivered or list(poses)
    rows, by_session = [], {}
    for pose in compared:
        deviation = pose_deviation(planned, pose.matrix_ras, target)
        session = pose.session or NO_SESSION
        by_session.setdefault(session, []).append(deviation)
        rows.append({"name": pose.name, "session": pose.session, "index": pose.index,
                     "target_name": pose.target_name, "recorded_at": pose.recorded_at,
                     "kind": pose.kind, **deviation.to_dict()})
    return {
        "plan_id": str(plan.get("plan_id")),
        "target_ras_mm": [float(v) for v in target],
        "compared": "delivered" if delivered else "all",
        "n_skipped_planned": len(poses) - len(compared),
        "twist_sign": "positive = clockwise seen from outside the head (right-handed "
                      "about the planned coil normal, which points into the head)",
        "rows": rows,
        "sessions": [{"session": name, **_summary(devs)} for name, devs in by_session.items()],
        "overall": _summary([d for devs in by_session.values() for d in devs]),
    }
