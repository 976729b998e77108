"""Amendments of HAMD-17 ratings: a correction with its reason, every earlier version kept.

A rating is a clinical record: a mistyped item changes the course's response and remission.
An amendment replaces the rating's values; the version it replaces is kept with who
recorded it, who replaced it, when and why (:class:`AssessmentVersion`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from api.clinic_time import ClinicZone, Now, clinic_day
from api.course_locks import locked_course_or_404
from api.course_service import READ_ROLES, open_alerts
from api.deps import DbSession, SessionRoute, require_roles, set_audit_resource
from api.models_course import Assessment, AssessmentVersion, RatingValues
from api.problems import ProblemError
from api.routes.assessments import (
    assessment_out,
    baseline_of,
    check_rating_time,
    course_assessments,
    raise_suicide_alert,
    refuse_taken_timepoint,
)
from api.routes.common import get_or_404, problems
from api.schemas_rating import AmendmentIn, AssessmentOut, AssessmentVersionList, AssessmentVersionOut
from api.security import Principal
from navsvc.course import hamd17
from navsvc.errors import InputError

router = APIRouter(tags=["assessments"], route_class=SessionRoute)

#: what a version of a rating is: its number and what it says
_VERSIONED = ("version", *RatingValues.__annotations__)


def _snapshot(rating: Assessment) -> dict:
    """The current version of ``rating``, with who recorded it and when."""
    return {**{name: getattr(rating, name) for name in _VERSIONED},
            "recorded_at": rating.amended_at or rating.created_at,
            "recorded_by": rating.amended_by or rating.created_by}


@router.post("/assessments/{assessment_id}/amendments", response_model=AssessmentOut,
             summary="Amend a HAMD-17 rating", responses=problems(404, 409, 422))
def amend_assessment(
    assessment_id: str, body: AmendmentIn, request: Request, db: DbSession, zone: ClinicZone,
    now: Now, principal: Annotated[Principal, Depends(require_roles("clinician"))],
) -> AssessmentOut:
    """Correct a rating (clinician): send its 17 items as they should read, the `version`
    you read and the `reason`; `timepoint`, `rater`, `rated_at` and `item16_method` stay
    as they are unless given. The answer is the amended rating, scored again; the version
    it replaces stays readable under `versions`, with who replaced it, when and why. A
    `version` other than the current one is a 409 (someone amended it since: read it
    again). Every item is checked as when rating; a new timepoint or time must fit as a
    new rating's would (a baseline or week another rating has is a 409). A rating the
    `rating_timing` alert flagged, whose time is right, is re-filed with timepoint `extra`;
    the timepoint it held is then missing (a baseline cannot be taken once treatment began:
    record it as not obtained). Amend its time only if it was typed wrong.
    An amendment that changes nothing is a 422. Item 3 (suicide) amended up to 3 or more
    raises an alert, or, while this rating's alert is open, adds the new score to it; an
    alert stays until a clinician acknowledges it."""
    course = locked_course_or_404(db, get_or_404(db, Assessment, assessment_id, "rating").course_id)
    rating = get_or_404(db, Assessment, assessment_id, "rating")  # read again under the lock
    ratings = course_assessments(db, course.id)  # rating among them: the baseline follows the amendment
    if body.version != rating.version:
        last = (f" (amended by {rating.amended_by} at {rating.amended_at.isoformat()})"
                if rating.amended_at else "")
        raise ProblemError(409, f"the rating is at version {rating.version}{last}, not "
                                f"{body.version}: read it again and amend what it says now")
    timepoint = body.timepoint or rating.timepoint
    rated_at = body.rated_at or rating.rated_at
    refuse_taken_timepoint(ratings, timepoint, rating.id)
    if (timepoint, rated_at) != (rating.timepoint, rating.rated_at):
        check_rating_time(db, course, timepoint, rated_at, zone)
    item16_method = body.item16_method or rating.item16_method
    scores = hamd17.validate_items(body.items, item16_method)  # 422 names the item
    items = {str(k): v for k, v in scores.items()}
    rater = body.rater or rating.rater
    if (timepoint, items, item16_method, rater, rated_at) == (
            rating.timepoint, rating.items, rating.item16_method, rating.rater, rating.rated_at):
        raise InputError(f"nothing to amend: this is what version {rating.version} says")
    db.add(AssessmentVersion(assessment_id=rating.id, **_snapshot(rating), replaced_at=now,
                             replaced_by=principal.name, reason=body.reason))
    suicide_before = rating.items[str(hamd17.SUICIDE_ITEM)]
    rating.timepoint, rating.items, rating.item16_method, rating.rater, rating.rated_at = (
        timepoint, items, item16_method, rater, rated_at)
    rating.total = hamd17.score(scores, item16_method).total
    rating.version += 1
    rating.amended_at, rating.amended_by = now, principal.name
    db.flush()
    alert_id = None
    suicide_now = items[str(hamd17.SUICIDE_ITEM)]
    if suicide_now >= hamd17.SUICIDE_ALERT_MIN and suicide_now > suicide_before:
        raised = next((a for a in open_alerts(db, course.id, "suicide_item") if a.source_id == rating.id), None)
        if raised is None:
            alert_id = raise_suicide_alert(db, rating, f"amended from {suicide_before} to {suicide_now}", zone)
        else:  # one alert per rating while open, saying the latest score
            raised.detail += f"; amended to {suicide_now} ({clinic_day(now, zone)})"
            alert_id = raised.id
    set_audit_resource(request, rating.id)
    return assessment_out(rating, baseline_of(ratings), alert_id)


@router.get("/assessments/{assessment_id}/versions", response_model=AssessmentVersionList,
            summary="List the versions of a HAMD-17 rating", responses=problems(404))
def list_versions(
    assessment_id: str, db: DbSession,
    _: Annotated[Principal, Depends(require_roles(*READ_ROLES))],
) -> AssessmentVersionList:
    """Every version of a rating, oldest first, the current one last (clinician,
    technician, auditor): the values, who recorded them and when, and for each replaced
    version who replaced it, when and why."""
    rating = get_or_404(db, Assessment, assessment_id, "rating")
    current = _snapshot(rating)
    # Only the versions before the one read: an amendment committed between the two reads
    # must not list a version twice.
    replaced = db.scalars(select(AssessmentVersion).where(
        AssessmentVersion.assessment_id == rating.id, AssessmentVersion.version < current["version"])
        .order_by(AssessmentVersion.version))
    items = [AssessmentVersionOut(**{name: getattr(v, name) for name in AssessmentVersionOut.model_fields})
             for v in replaced]
    items.append(AssessmentVersionOut(**current, replaced_at=None, replaced_by=None, reason=None))
    return AssessmentVersionList(items=items)
