"""The course summary a clinician reviews: JSON, a PNG of the HAMD-17 trajectory, and CSV."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, datetime
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy import select

from api.clinic_time import ClinicZone, Today, clinic_day
from api.course_followups import course_followups
from api.course_locks import course_or_404
from api.course_service import READ_ROLES, open_alerts, protocol_of, recorded_dose
from api.course_sessions import session_rows
from api.deps import DbSession, SessionRoute, require_roles
from api.models_course import Delivery
from api.routes.assessments import alert_out, assessment_out, baseline_of, course_assessments
from api.routes.common import problems
from api.schemas_session import FollowUpOut
from api.schemas_rating import CourseSummary, TrajectoryPoint
from api.security import Principal
from navsvc.course.plot import RatingPoint, hamd_trajectory_png

router = APIRouter(tags=["courses"], route_class=SessionRoute)

_METRICS = ("centre_distance_mm", "axis_to_target_mm", "tilt_deg", "twist_abs_deg")


def _deliveries(db, rows) -> list[tuple]:
    by_session = {d.session_id: d for d in db.scalars(
        select(Delivery).where(Delivery.session_id.in_([r.id for r in rows])))}
    return [(r, by_session[r.id]) for r in rows if r.id in by_session]


def _deviation_summary(deliveries) -> dict:
    """Mean of the per-session means and worst of the per-session worsts."""
    mean, worst = {}, {}
    for key in _METRICS:
        means = [d.deviation["mean"][key] for _, d in deliveries
                 if d.deviation and d.deviation["mean"].get(key) is not None]
        worsts = [d.deviation["worst"][key] for _, d in deliveries
                  if d.deviation and d.deviation["worst"].get(key) is not None]
        mean[key] = round(float(np.mean(means)), 2) if means else None
        worst[key] = round(float(np.max(worsts)), 2) if worsts else None
    return {"mean": mean, "worst": worst}


def build_summary(db, course_id: str, principal: Principal, today, zone) -> CourseSummary:
    """Collect the figures of the summary view."""
    course = course_or_404(db, course_id)
    rows = session_rows(db, course.id)
    counts = Counter(r.state for r in rows)
    delivered = counts["done"] + counts["incomplete"]
    deliveries = _deliveries(db, rows)
    ratings = course_assessments(db, course.id)
    baseline_total = baseline_of(ratings)
    scored = [assessment_out(a, baseline_total) for a in ratings]
    latest = next((s for s in reversed(scored) if s.timepoint.startswith("week")), None)
    base = f"/api/v1/courses/{course.id}"
    return CourseSummary(
        course_id=course.id, arm=None if principal.blinded else course.arm,
        arm_hidden=principal.blinded, status=course.status,
        sessions={"planned_total": protocol_of(course).n_sessions, "done": counts["done"],
                  "incomplete": counts["incomplete"], "missed": counts["missed"],
                  "cancelled": counts["cancelled"], "remaining": counts["planned"]},
        adherence=(round(delivered / (delivered + counts["missed"]), 3)
                   if delivered + counts["missed"] else None),
        cumulative_pulses=sum(d.pulses_delivered for _, d in deliveries),
        deviation=_deviation_summary(deliveries),
        trajectory=[TrajectoryPoint(**s.model_dump(include=set(TrajectoryPoint.model_fields)))
                    for s in scored],
        response=latest.response if latest else None,
        remission=latest.remission if latest else None,
        outcome_timepoint=latest.timepoint if latest else None,
        open_alerts=[alert_out(a) for a in open_alerts(db, course.id)],
        followups=[FollowUpOut(**f.__dict__) for f in course_followups(db, course, today, zone)],
        links={"self": f"{base}/summary", "png": f"{base}/summary.png",
               "csv": f"{base}/summary.csv", "course": base})


@router.get("/courses/{course_id}/summary", response_model=CourseSummary,
            summary="Course summary", responses=problems(404))
def summary(
    course_id: str, db: DbSession, today: Today, zone: ClinicZone,
    principal: Annotated[Principal, Depends(require_roles(*READ_ROLES))],
) -> CourseSummary:
    """Sessions done and planned, adherence, cumulative pulses, mean and worst navigation
    deviation, the HAMD-17 trajectory with response and remission, open alerts and the
    ratings due (clinician, technician, auditor; the arm is hidden from blinded tokens)."""
    return build_summary(db, course_id, principal, today, zone)


@router.get("/courses/{course_id}/summary.png", summary="HAMD-17 trajectory plot (PNG)",
            response_class=Response, responses={
                200: {"content": {"image/png": {}}, "description": "The plot."},
                **problems(404)})
def summary_png(
    course_id: str, db: DbSession, zone: ClinicZone,
    _: Annotated[Principal, Depends(require_roles(*READ_ROLES))],
) -> Response:
    """HAMD-17 totals over time with the remission line (total <= 7), the response line
    (50% below baseline) and the severity bands; delivered sessions as ticks."""
    course = course_or_404(db, course_id)
    ratings = course_assessments(db, course.id)
    rows = session_rows(db, course.id)
    session_dates = [d.performed_at for _, d in _deliveries(db, rows)]
    png = hamd_trajectory_png(
        [RatingPoint(a.timepoint, a.rated_at, a.total) for a in ratings],
        title=f"HAMD-17, course {course.id[:8]} ({course.protocol_name})",
        baseline_total=baseline_of(ratings), session_dates=session_dates, zone=zone)
    return Response(png, media_type="image/png")


@router.get("/courses/{course_id}/summary.csv", summary="Course log (CSV)",
            response_class=Response, responses={
                200: {"content": {"text/csv": {}}, "description": "One row per session "
                      "and per rating."}, **problems(404)})
def summary_csv(
    course_id: str, db: DbSession, zone: ClinicZone,
    _: Annotated[Principal, Depends(require_roles(*READ_ROLES))],
) -> Response:
    """One row per session (date, state, intensities: from the measured threshold, depth-adjusted
    and the one given, pulses, deviation) and per HAMD-17 rating
    (total, band, change, response, remission), for spreadsheets and trial exports. Every
    `date` is a clinic day: the day a session was given (its scheduled day while it was
    not; `scheduled_date` has that) or a rating taken; `performed_at` is the time in the
    clinic's zone, with its offset. A rating's `rating_version` is 1 as recorded, more once
    amended (its versions: `/assessments/{id}/versions`); a missed session's `missed_reason`
    is the reason given when it was marked missed."""
    course = course_or_404(db, course_id)
    rows = session_rows(db, course.id)
    protocol = protocol_of(course)
    logged = {r.id: d for r, d in _deliveries(db, rows)}
    ratings = course_assessments(db, course.id)
    baseline_total = baseline_of(ratings)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["record", "session_index", "date", "state", "performed_at",
                     "pulses_delivered", "intensity_pct_mso", "adjusted_intensity_pct_mso",
                     "given_intensity_pct_mso",
                     *_METRICS, "side_effects", "timepoint", "hamd17_total", "severity",
                     "change_from_baseline", "response", "remission", "scheduled_date",
                     "rating_version", "missed_reason"])
    for r in rows:
        d = logged.get(r.id)
        dev = (d.deviation or {}).get("mean", {}) if d else {}
        day = clinic_day(d.performed_at, zone) if d else r.date
        writer.writerow(["session", r.index, day.isoformat(), r.state,
                         d.performed_at.astimezone(zone).isoformat() if d else "",
                         d.pulses_delivered if d else "",
                         d.dose["intensity_pct_mso"] if d else "",
                         (d.dose.get("adjusted_intensity_pct_mso") or "") if d else "",
                         recorded_dose(d.dose, protocol.depth_adjusted)["given_intensity_pct_mso"] if d else "",
                         *[dev.get(k, "") if dev.get(k) is not None else "" for k in _METRICS],
                         ";".join(d.side_effects) if d else "", "", "", "", "", "", "",
                         r.date.isoformat(), "", r.missed_reason or ""])
    for a in ratings:
        s = assessment_out(a, baseline_total)
        writer.writerow(["rating", "", clinic_day(a.rated_at, zone).isoformat(), "",
                         a.rated_at.astimezone(zone).isoformat(), "", "", "", "", "", "", "", "", "",
                         a.timepoint, s.total, s.severity, _blank(s.change_from_baseline),
                         _blank(s.response), _blank(s.remission), "", a.version, ""])
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    return Response(buffer.getvalue(), media_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="course-{course.id[:8]}-{stamp}.csv"'})


def _blank(value) -> str:
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)
