"""HAMD-17 ratings of a course and the safety alerts they (and seizures) raise."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select

from api.clinic_time import ClinicZone, clinic_day, refuse_future
from api.course_followups import rating_timing_reason, week_followups
from api.course_locks import course_or_404, lock_course, locked_course_or_404
from api.course_service import READ_ROLES
from api.deps import DbSession, SessionRoute, require_roles, set_audit_resource
from api.models import utc_now
from api.models_course import Alert, Assessment
from api.problems import ProblemError
from api.routes.common import Limit, Offset, get_or_404, problems
from api.schemas_rating import (
    AcknowledgementIn,
    AlertList,
    AlertOut,
    AlertPage,
    AssessmentIn,
    AssessmentList,
    AssessmentOut,
)
from api.security import Principal
from navsvc.course import hamd17
from navsvc.errors import InputError

router = APIRouter(tags=["assessments"], route_class=SessionRoute)

RATERS = ("clinician", "technician")

#: the order of alert lists; the id breaks ties, so that alerts raised in one request keep
#: their place across pages
ALERTS_NEWEST_FIRST = (Alert.created_at.desc(), Alert.id)


def assessment_out(a: Assessment, baseline_total: int | None, alert_id: str | None = None
                   ) -> AssessmentOut:
    """Render a rating scored against ``baseline_total`` (None for the baseline itself)."""
    if a.timepoint == "baseline":
        # not compared with itself, and a rating before any session is no outcome: a baseline
        # total of 7 or less was reported as "remission" before treatment began
        baseline_total = None
        change, percent, response, remission = None, None, None, None
    else:
        change, percent, response, remission = hamd17.outcome(a.total, baseline_total)
    return AssessmentOut(
        id=a.id, course_id=a.course_id, timepoint=a.timepoint, rater=a.rater,
        rated_at=a.rated_at, items=a.items, item16_method=a.item16_method, total=a.total,
        severity=hamd17.severity(a.total), baseline_total=baseline_total,
        change_from_baseline=change, percent_change=percent, response=response,
        remission=remission,
        suicide_alert=a.items[str(hamd17.SUICIDE_ITEM)] >= hamd17.SUICIDE_ALERT_MIN,
        alert_id=alert_id, created_at=a.created_at, version=a.version, amended_at=a.amended_at,
        amended_by=a.amended_by,
        links={"course": f"/api/v1/courses/{a.course_id}",
               "versions": f"/api/v1/assessments/{a.id}/versions",
               "amend": f"/api/v1/assessments/{a.id}/amendments"})


def course_assessments(db, course_id: str) -> list[Assessment]:
    """The ratings of a course in rating order."""
    return list(db.scalars(select(Assessment).where(Assessment.course_id == course_id)
                           .order_by(Assessment.rated_at, Assessment.created_at)))


def baseline_of(ratings: list[Assessment]) -> int | None:
    """The baseline total among ``ratings``, if one was rated."""
    return next((a.total for a in ratings if a.timepoint == "baseline"), None)


def alert_out(alert: Alert) -> AlertOut:
    """Render an alert; an acknowledged one has no ``acknowledge`` link (posting it is a 409)."""
    links = {"course": f"/api/v1/courses/{alert.course_id}"}
    if alert.acknowledged_at is None:
        links["acknowledge"] = f"/api/v1/alerts/{alert.id}/acknowledgement"
    return AlertOut(id=alert.id, course_id=alert.course_id, kind=alert.kind, detail=alert.detail,
                    source_id=alert.source_id, created_at=alert.created_at,
                    acknowledged_by=alert.acknowledged_by, acknowledged_at=alert.acknowledged_at,
                    acknowledgement_note=alert.acknowledgement_note, links=links)


def raise_suicide_alert(db, rating: Assessment, what: str, zone) -> str:
    """Raise the alert of ``rating``'s item 3 (suicide) score, ``what`` saying how it was
    scored; return the alert's id."""
    alert = Alert(course_id=rating.course_id, kind="suicide_item", source_id=rating.id,
                  detail=f"HAMD-17 item 3 (suicide) {what} at {rating.timepoint} "
                         f"({clinic_day(rating.rated_at, zone)}); a clinician must see this now")
    db.add(alert)
    db.flush()
    return alert.id


def refuse_taken_timepoint(ratings: list[Assessment], timepoint: str, rating_id: str | None = None) -> None:
    """Refuse (409) a baseline or week ``timepoint`` one of the course's ``ratings`` (other
    than rating ``rating_id``) has: each is rated once per course."""
    if timepoint != "extra" and any(a.timepoint == timepoint and a.id != rating_id for a in ratings):
        raise ProblemError(409, f"a {timepoint} rating exists for this course; amend that one, or "
                                "record this one with timepoint 'extra'")


def check_rating_time(db, course, timepoint: str, rated_at: datetime, zone) -> None:
    """Refuse (422) a rating time in the future, a week rating for a week the course
    does not have, and a baseline or week rating not taken when that timepoint is
    (:func:`rating_timing_reason`)."""
    refuse_future(rated_at, "rated_at")
    weeks = None
    if timepoint.startswith("week"):
        weeks = week_followups(db, course, clinic_day(rated_at, zone), zone)
        if not 1 <= int(timepoint[4:]) <= len(weeks):
            raise InputError(f"timepoint: this course has treatment weeks 1-{len(weeks)}")
    reason = rating_timing_reason(db, course, timepoint, rated_at, zone, weeks)
    if reason:
        raise InputError(reason)


@router.post("/courses/{course_id}/assessments", status_code=201, response_model=AssessmentOut,
             summary="Record a HAMD-17 rating", responses=problems(404, 409, 422))
def create_assessment(
    course_id: str, body: AssessmentIn, request: Request, db: DbSession, zone: ClinicZone,
    principal: Annotated[Principal, Depends(require_roles(*RATERS))],
) -> AssessmentOut:
    """Record a rating (clinician, technician; blinded raters welcome). Every item is
    checked against its own range and a bad or missing one is a 422 naming it. The answer
    has the total (0-52), the band and, once a baseline exists, the change, response
    (>= 50% reduction) and remission (total <= 7). Item 3 (suicide) >= 3 raises an alert
    that stays open until a clinician acknowledges it. Each of baseline and weekN is
    rated once per course (409 after); use `extra` for further ratings (an `extra` rating
    never counts as a baseline or week rating). A weekN rating needs the session that
    closes week N logged (log it first: a session given today is logged for today, even
    if it is scheduled later) and must be taken after that session was given and not
    after the next session given; a baseline must be taken before the first session was
    given (times are compared, not days); no rating may be dated in the future (422 for
    each)."""
    course = locked_course_or_404(db, course_id)
    ratings = course_assessments(db, course.id)
    refuse_taken_timepoint(ratings, body.timepoint)
    check_rating_time(db, course, body.timepoint, body.rated_at, zone)
    baseline_total = baseline_of(ratings)
    scores = hamd17.validate_items(body.items, body.item16_method)  # 422 names the item
    scored = hamd17.score(scores, body.item16_method, baseline_total)
    items = {str(k): v for k, v in scores.items()}
    assessment = Assessment(course_id=course.id, timepoint=body.timepoint, rater=body.rater,
                            rated_at=body.rated_at, items=items,
                            item16_method=body.item16_method, total=scored.total,
                            created_by=principal.name)
    db.add(assessment)
    db.flush()
    alert_id = None
    if scored.suicide_alert:
        alert_id = raise_suicide_alert(db, assessment, f"scored {items['3']}", zone)
    set_audit_resource(request, assessment.id)
    return assessment_out(assessment, baseline_total, alert_id)


@router.get("/courses/{course_id}/assessments", response_model=AssessmentList,
            summary="List a course's HAMD-17 ratings", responses=problems(404))
def list_assessments(
    course_id: str, db: DbSession,
    _: Annotated[Principal, Depends(require_roles(*READ_ROLES))],
) -> AssessmentList:
    """Every rating of the course, scored against its baseline (clinician, technician,
    auditor)."""
    course = course_or_404(db, course_id)
    ratings = course_assessments(db, course.id)
    baseline_total = baseline_of(ratings)
    return AssessmentList(items=[assessment_out(a, baseline_total) for a in ratings])


@router.get("/courses/{course_id}/alerts", response_model=AlertList,
            summary="List a course's alerts", responses=problems(404))
def list_course_alerts(
    course_id: str, db: DbSession,
    _: Annotated[Principal, Depends(require_roles(*READ_ROLES))],
    open_only: Annotated[bool, Query(alias="open", description="Only unacknowledged.")] = False,
) -> AlertList:
    """Safety alerts of the course, newest first (clinician, technician, auditor)."""
    course_or_404(db, course_id)
    query = select(Alert).where(Alert.course_id == course_id)
    if open_only:
        query = query.where(Alert.acknowledged_at.is_(None))
    return AlertList(items=[alert_out(a) for a in db.scalars(query.order_by(*ALERTS_NEWEST_FIRST))])


@router.get("/alerts", response_model=AlertPage, summary="List alerts across courses",
            responses=problems(422))
def list_alerts(
    db: DbSession, _: Annotated[Principal, Depends(require_roles(*READ_ROLES))],
    limit: Limit = 100, offset: Offset = 0,
    open_only: Annotated[bool, Query(alias="open", description="Only unacknowledged.")] = True,
) -> AlertPage:
    """Alerts of every course, newest first, a page at a time; by default only the open
    ones, which a clinician must see at once (clinician, technician, auditor)."""
    query = select(Alert)
    if open_only:
        query = query.where(Alert.acknowledged_at.is_(None))
    query = query.order_by(*ALERTS_NEWEST_FIRST).limit(limit).offset(offset)
    return AlertPage(items=[alert_out(a) for a in db.scalars(query)], limit=limit, offset=offset)


@router.post("/alerts/{alert_id}/acknowledgement", response_model=AlertOut,
             summary="Acknowledge an alert", responses=problems(404, 409, 422))
def acknowledge_alert(
    alert_id: str, body: AcknowledgementIn, db: DbSession,
    principal: Annotated[Principal, Depends(require_roles("clinician"))],
) -> AlertOut:
    """A clinician acknowledges an alert, saying what was done; who and when are recorded.
    Acknowledging a seizure alert lifts the hold on the course's sessions."""
    alert = get_or_404(db, Alert, alert_id, "alert")
    # two clinicians at once: the second sees the first's acknowledgement (on PostgreSQL both
    # read "open" and the second overwrote the first's name and note)
    lock_course(db, alert.course_id)
    alert = get_or_404(db, Alert, alert_id, "alert")
    if alert.acknowledged_at is not None:
        raise ProblemError(409, f"alert was already acknowledged by {alert.acknowledged_by}")
    alert.acknowledged_by, alert.acknowledged_at = principal.name, utc_now()
    alert.acknowledgement_note = body.note
    return alert_out(alert)
