"""Amendments of HAMD-17 ratings: a correction with its reason, every earlier version kept.

A rating is a clinical record: a mistyped item changes the course's response and remission.
An amendment replaces the rating's values (the timepoint stays); the version it replaces is
kept with who recorded it, who replaced it, when and why (:class:`AssessmentVersion`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from api.course_service import (
    READ_ROLES,
    ClinicZone,
    Now,
    course_or_404,
    lock_course,
)
from api.deps import DbSession, SessionRoute, require_roles, set_audit_resource
from api.models_course import Assessment, AssessmentVersion
from api.problems import ProblemError
from api.routes.assessments import (
    assessment_out,
    baseline_of,
    check_rating_time,
    course_assessments,
    raise_suicide_alert,
)
from api.routes.common import get_or_404, problems
from api.schemas_rating import AmendmentIn, AssessmentOut, AssessmentVersionList, AssessmentVersionOut
from api.security import Principal
from navsvc.course import hamd17
from navsvc.errors import InputError

router = APIRouter(tags=["assessments"], route_class=SessionRoute)


@router.post("/assessments/{assessment_id}/amendments", response_model=AssessmentOut,
             summary="Amend a HAMD-17 rating", responses=problems(404, 409, 422))
def amend_assessment(
    assessment_id: str, body: AmendmentIn, request: Request, db: DbSession, zone: ClinicZone,
    now: Now, principal: Annotated[Principal, Depends(require_roles("clinician"))],
) -> AssessmentOut:
    """Correct a rating (clinician): send the whole rating as it should read, the
    `version` you read and the `reason`. The answer is the amended rating, scored again;
    the version it replaces stays readable under `versions`, with who replaced it, when
    and why. A `version` other than the current one is a 409 (someone amended it since:
    read it again). The timepoint cannot change; every item is checked as when rating; a
    new `rated_at` must fit the timepoint as a new rating would. An amendment that changes
    nothing is a 422. Item 3 (suicide) amended up to 3 or more raises an alert; an alert
    raised earlier stays until a clinician acknowledges it."""
    course_id = get_or_404(db, Assessment, assessment_id, "rating").course_id
    lock_course(db, course_id)  # expires what was read: the rating is read again under the lock
    course = course_or_404(db, course_id)
    rating = get_or_404(db, Assessment, assessment_id, "rating")
    if body.version != rating.version:
        last = (f" (amended by {rating.amended_by} at {rating.amended_at.isoformat()})"
                if rating.amended_at else "")
        raise ProblemError(409, f"the rating is at version {rating.version}{last}, not "
                                f"{body.version}: read it again and amend what it says now")
    rated_at = body.rated_at or rating.rated_at
    if body.rated_at is not None and body.rated_at != rating.rated_at:
        check_rating_time(db, course, rating.timepoint, body.rated_at, zone)
    scores = hamd17.validate_items(body.items, body.item16_method)  # 422 names the item
    items = {str(k): v for k, v in scores.items()}
    rater = body.rater or rating.rater
    if (items, body.item16_method, rater, rated_at) == (rating.items, rating.item16_method,
                                                        rating.rater, rating.rated_at):
        raise InputError(f"nothing to amend: this is what version {rating.version} says")
    db.add(AssessmentVersion(
        assessment_id=rating.id, version=rating.version, rater=rating.rater,
        rated_at=rating.rated_at, items=rating.items, item16_method=rating.item16_method,
        total=rating.total, recorded_at=rating.amended_at or rating.created_at,
        recorded_by=rating.amended_by or rating.created_by, replaced_at=now,
        replaced_by=principal.name, reason=body.reason))
    suicide_before = rating.items[str(hamd17.SUICIDE_ITEM)]
    rating.items, rating.item16_method, rating.rater, rating.rated_at = (
        items, body.item16_method, rater, rated_at)
    rating.total = hamd17.score(scores, body.item16_method).total
    rating.version += 1
    rating.amended_at, rating.amended_by = now, principal.name
    db.flush()
    alert_id = None
    suicide_now = items[str(hamd17.SUICIDE_ITEM)]
    if suicide_now >= hamd17.SUICIDE_ALERT_MIN and suicide_now > suicide_before:
        alert_id = raise_suicide_alert(db, rating, f"amended from {suicide_before} to {suicide_now}", zone)
    set_audit_resource(request, rating.id)
    return assessment_out(rating, baseline_of(course_assessments(db, course.id)), alert_id)


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
    replaced = db.scalars(select(AssessmentVersion).where(AssessmentVersion.assessment_id == rating.id)
                          .order_by(AssessmentVersion.version))
    items = [AssessmentVersionOut(
        version=v.version, rater=v.rater, rated_at=v.rated_at, items=v.items,
        item16_method=v.item16_method, total=v.total, recorded_at=v.recorded_at,
        recorded_by=v.recorded_by, replaced_at=v.replaced_at, replaced_by=v.replaced_by,
        reason=v.reason) for v in replaced]
    items.append(AssessmentVersionOut(
        version=rating.version, rater=rating.rater, rated_at=rating.rated_at, items=rating.items,
        item16_method=rating.item16_method, total=rating.total,
        recorded_at=rating.amended_at or rating.created_at,
        recorded_by=rating.amended_by or rating.created_by, replaced_at=None, replaced_by=None,
        reason=None))
    return AssessmentVersionList(items=items)
