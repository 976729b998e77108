"""Sessions of a course: the list with states, delivery logs and missed sessions."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.clinic_time import ClinicZone, Now, Today, clinic_day, in_zone, refuse_future
from api.course_followups import course_followups, ratings_put_out_of_time
from api.course_locks import course_or_404, lock_course
from api.course_service import (
    READ_ROLES,
    calendar_of,
    course_holds,
    open_alerts,
    protocol_of,
    recorded_dose,
    rules_of,
    screening_status,
)
from api.course_sessions import apply_schedule, session_rows, sessions_as_given
from api.delivery_checks import (delivered_pose_deviation, hold_block_reason, order_and_day_reason,
                                 relay_after_log)
from api.deps import DbSession, SessionRoute, require_roles, set_audit_resource
from api.models import Plan, utc_now
from api.models_course import Alert, Course, CourseSession, Delivery
from api.problems import ProblemError
from api.routes.common import get_or_404, problems
from api.schemas_session import (
    DeliveryIn,
    DeliveryOut,
    FollowUpOut,
    MissedIn,
    RaisedAlert,
    SessionList,
    SessionOut,
)
from api.security import Principal
from navsvc.course.calendar import ScheduledSession, mark_missed
from navsvc.course.dose import above_protocol_reason, compute_dose, over_output_reason, plan_mt_offset
from navsvc.course.protocols import Protocol
from navsvc.errors import InputError

router = APIRouter(tags=["sessions"], route_class=SessionRoute)

LOGGERS = ("clinician", "technician", "navigator")


def delivery_out(delivery: Delivery, session: CourseSession, protocol: Protocol,
                 alerts: list[Alert] = (), clinical: bool = True) -> DeliveryOut:
    """Render a delivery log of a course with ``protocol``, with the alerts it raised;
    without its clinical content (side effects, notes, alerts) unless ``clinical``."""
    return DeliveryOut(
        id=delivery.id, session_id=session.id, session_index=session.index,
        session_state=session.state, performed_at=delivery.performed_at,
        operator=delivery.operator, rmt_pct_mso=delivery.rmt_pct_mso,
        pct_of_mt=delivery.pct_of_mt, dose=recorded_dose(delivery.dose, protocol.depth_adjusted),
        pulses_delivered=delivery.pulses_delivered, pulses_planned=protocol.pulses_per_session,
        trains_delivered=delivery.trains_delivered, deviation=delivery.deviation,
        side_effects=delivery.side_effects if clinical else [],
        notes=delivery.notes if clinical else None,
        alerts=[RaisedAlert(id=a.id, kind=a.kind, detail=a.detail,
                            acknowledged=a.acknowledged_at is not None)
                for a in alerts] if clinical else [],
        clinical_hidden=not clinical,
        created_at=delivery.created_at, created_by=delivery.created_by,
        links={"session": f"/api/v1/sessions/{session.id}",
               "course": f"/api/v1/courses/{session.course_id}"})


def alerts_raised_by(db, delivery_ids: list[str]) -> dict[str, list[Alert]]:
    """The alerts each delivery raised (``Alert.source_id``), oldest first, by delivery id."""
    raised: dict[str, list[Alert]] = {}
    if delivery_ids:
        for alert in db.scalars(select(Alert).where(Alert.source_id.in_(delivery_ids))
                                .order_by(Alert.created_at, Alert.kind)):
            raised.setdefault(alert.source_id, []).append(alert)
    return raised


def session_out(row: CourseSession, delivery: Delivery | None, protocol: Protocol,
                principal: Principal, alerts: list[Alert] = ()) -> SessionOut:
    """Render one session with its delivery and the alerts that raised; a navigator token
    gets the delivery without its side effects, notes and alerts, and no missed reason."""
    return SessionOut(
        id=row.id, course_id=row.course_id, index=row.index, date=row.date, slot=row.slot,
        offset_minutes=row.offset_minutes, state=row.state, replaces_index=row.replaces_index,
        missed_by=row.missed_by, missed_at=row.missed_at,
        missed_reason=row.missed_reason if principal.role != "navigator" else None,
        delivery=(None if delivery is None else
                  delivery_out(delivery, row, protocol, alerts, clinical=principal.role != "navigator")),
        links=_session_links(row))


def _session_links(row: CourseSession) -> dict[str, str]:
    # what can be done to it: only a planned session is logged or marked missed (else 409)
    links = {"self": f"/api/v1/sessions/{row.id}", "course_sessions": f"/api/v1/courses/{row.course_id}/sessions"}
    if row.state == "planned":
        links["delivery"] = f"/api/v1/sessions/{row.id}/delivery"
        links["missed"] = f"/api/v1/sessions/{row.id}/missed"
    return links


def session_list(db, course: Course, today, zone, principal: Principal) -> SessionList:
    """Render every session of a course (:func:`session_out`) and the HAMD-17 timepoints."""
    rows = session_rows(db, course.id)
    deliveries = {d.session_id: d for d in db.scalars(
        select(Delivery).where(Delivery.session_id.in_([r.id for r in rows])))}
    protocol = protocol_of(course)
    alerts = alerts_raised_by(db, [d.id for d in deliveries.values()])
    items = [session_out(r, deliveries.get(r.id), protocol, principal,
                         alerts.get(deliveries[r.id].id, []) if r.id in deliveries else [])
             for r in rows]
    due = course_followups(db, course, today, zone)
    return SessionList(items=items, followups=[FollowUpOut(**f.__dict__) for f in due])


@router.get("/sessions/{session_id}", response_model=SessionOut, summary="Get a session",
            responses=problems(404))
def get_session(
    session_id: str, db: DbSession,
    principal: Annotated[Principal, Depends(require_roles(*READ_ROLES, "navigator"))],
) -> SessionOut:
    """One session with its delivery log (clinician, technician, auditor; navigator
    without side effects and notes)."""
    row = get_or_404(db, CourseSession, session_id, "session")
    course = db.get(Course, row.course_id)
    delivery = db.scalar(select(Delivery).where(Delivery.session_id == row.id))
    alerts = [] if delivery is None else alerts_raised_by(db, [delivery.id]).get(delivery.id, [])
    return session_out(row, delivery, protocol_of(course), principal, alerts)


@router.get("/courses/{course_id}/sessions", response_model=SessionList,
            summary="List a course's sessions", responses=problems(404))
def list_sessions(
    course_id: str, db: DbSession, today: Today, zone: ClinicZone,
    principal: Annotated[Principal, Depends(require_roles(*READ_ROLES, "navigator"))],
) -> SessionList:
    """Every session with `index`, `date` and `state` (planned, done, incomplete, missed,
    cancelled), its delivery log, and which HAMD-17 ratings are done, due, overdue or missed.
    Navigator tokens (which log deliveries) get the logs without side effects and notes."""
    return session_list(db, course_or_404(db, course_id), today, zone, principal)


def _request_hash(session_id: str, body: DeliveryIn) -> str:
    payload = json.dumps({"session": session_id, **body.model_dump(mode="json")}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _replay(db, key: str, digest: str, response: Response,
            protocol: Protocol, clinical: bool) -> DeliveryOut | None:
    """Return the stored answer for a retried Idempotency-Key, or None if it is new."""
    earlier = db.scalar(select(Delivery).where(Delivery.idempotency_key == key))
    if earlier is None:
        return None
    if earlier.request_sha256 != digest:
        raise ProblemError(422, "this Idempotency-Key was already used with a different "
                                "request; use a new key for a new log")
    session = db.get(CourseSession, earlier.session_id)
    response.status_code = 200
    response.headers["Idempotent-Replayed"] = "true"
    return delivery_out(earlier, session, protocol,
                        alerts_raised_by(db, [earlier.id]).get(earlier.id, []), clinical=clinical)


@router.post("/sessions/{session_id}/delivery", status_code=201, response_model=DeliveryOut,
             summary="Log a delivered session", responses=problems(404, 409, 422))
def log_delivery(
    session_id: str, body: DeliveryIn, request: Request, response: Response, db: DbSession,
    zone: ClinicZone, principal: Annotated[Principal, Depends(require_roles(*LOGGERS))],
    idempotency_key: Annotated[str | None, Header(
        min_length=1, max_length=200,
        description="Any unique string per log (e.g. a UUID); a retry with the same key "
                    "and body returns the first answer (200).")] = None,
) -> DeliveryOut:
    """Log dose, pulses, navigation pose and side effects of a session (clinician,
    technician, navigator). Fewer pulses than the protocol's make it `incomplete`; a
    seizure raises an alert that blocks further sessions until a clinician acknowledges
    it. The session is logged on the clinic day of `performed_at`, whatever day it was
    scheduled: not in the future (422), not before the course's start date, not before
    the course's last logged session, and within the protocol's sessions a day and
    minimum interval. Logged on another day than its own, the planned sessions it now
    clashes with move later, each into the next one's place (none moves earlier or into
    a break the schedule leaves), so a day lists what can be logged that day. 409 when an
    earlier session is still planned, one of those day rules is broken, the session was
    given while a pause (on a day it holds) or the stop was in force (also after the
    course was resumed), the screening is not cleared, a seizure alert is open, or the
    session is already logged."""
    session = get_or_404(db, CourseSession, session_id, "session")
    lock_course(db, session.course_id)
    course = db.get(Course, session.course_id)
    protocol = protocol_of(course)
    clinical = principal.role != "navigator"  # the answer shows what GET shows this role
    digest = _request_hash(session.id, body)
    if idempotency_key is not None:
        replayed = _replay(db, idempotency_key, digest, response, protocol, clinical)
        if replayed is not None:
            return replayed
    refuse_future(body.performed_at, "performed_at")
    performed_on = clinic_day(body.performed_at, zone)
    reason = hold_block_reason(course_holds(db, course.id), body.performed_at, performed_on)
    if reason:
        raise ProblemError(409, reason)
    screening = screening_status(db, course.id)
    if not screening.cleared:
        raise ProblemError(409, f"the course cannot start: {screening.reason}")
    seizures = open_alerts(db, course.id, "seizure")
    if seizures:
        raise ProblemError(409, f"the course is flagged for review after a seizure; a clinician "
                                f"must acknowledge alert {seizures[0].id} first")
    reason = order_and_day_reason(db, course, session, body.performed_at, performed_on, zone)
    if reason:
        raise ProblemError(409, reason)
    plan = db.get(Plan, course.plan_id)
    dose = compute_dose(body.rmt_pct_mso, body.pct_of_mt, plan_mt_offset(plan.data), protocol.depth_adjusted)
    reason = over_output_reason(dose)
    if reason:
        raise InputError(reason)
    pose_matrix, deviation = delivered_pose_deviation(plan, body, performed_on)
    delivery = Delivery(
        session_id=session.id, idempotency_key=idempotency_key, request_sha256=digest,
        performed_at=body.performed_at, operator=body.operator, rmt_pct_mso=body.rmt_pct_mso,
        pct_of_mt=body.pct_of_mt, dose=asdict(dose), pulses_delivered=body.pulses_delivered,
        trains_delivered=body.trains_delivered, pose_matrix=pose_matrix, deviation=deviation,
        side_effects=sorted(set(body.side_effects)), notes=body.notes, created_by=principal.name)
    scheduled = ScheduledSession(index=session.index, date=session.date, slot=session.slot)
    session.state = "done" if body.pulses_delivered >= protocol.pulses_per_session else "incomplete"
    session.updated_at = utc_now()
    db.add(delivery)
    try:
        db.flush()
    except IntegrityError:
        # A concurrent request with the same key or for the same session won the race.
        db.rollback()
        if idempotency_key is not None:
            replayed = _replay(db, idempotency_key, digest, response, protocol, clinical)
            if replayed is not None:
                return replayed
        raise ProblemError(409, f"session {session.index} was logged by another request") from None
    if "seizure" in body.side_effects:
        db.add(Alert(course_id=course.id, kind="seizure", source_id=delivery.id,
                     detail=f"seizure reported during session {session.index} "
                            f"({performed_on}); course flagged for review"))
    above = above_protocol_reason(body.pct_of_mt, protocol.intensity_pct_rmt)
    if above:
        db.add(Alert(course_id=course.id, kind="dose_above_protocol", source_id=delivery.id,
                     detail=f"session {session.index} ({performed_on}): {above}"))
    for rating in ratings_put_out_of_time(db, course, session.index, performed_on, zone):
        db.add(Alert(course_id=course.id, kind="rating_timing", source_id=delivery.id,
                     detail=f"session {session.index}, logged as given at "
                            f"{in_zone(body.performed_at, zone).isoformat(timespec='minutes')}, makes the "
                            f"{rating.timepoint} rating (taken at "
                            f"{in_zone(rating.rated_at, zone).isoformat(timespec='minutes')}) no longer the "
                            f"{rating.timepoint} rating: a clinician should check both times"))
    relay_after_log(db, course, scheduled, performed_on, zone)
    db.flush()
    set_audit_resource(request, delivery.id)
    return delivery_out(delivery, session, protocol,
                        alerts_raised_by(db, [delivery.id]).get(delivery.id, []), clinical)


@router.post("/sessions/{session_id}/missed", response_model=SessionList,
             summary="Mark a session missed", responses=problems(404, 409, 422))
def mark_session_missed(
    session_id: str, db: DbSession, today: Today, now: Now, zone: ClinicZone,
    principal: Annotated[Principal, Depends(require_roles("clinician", "technician"))],
    body: MissedIn | None = None,
) -> SessionList:
    """Mark a planned session missed (clinician, technician). It stays on record, with who
    marked it, when and the reason given, and a replacement is scheduled on the next free
    clinic day, not before today: the course extends. Returns the course's sessions."""
    session = get_or_404(db, CourseSession, session_id, "session")
    lock_course(db, session.course_id)
    course = db.get(Course, session.course_id)
    if session.state != "planned":
        raise ProblemError(409, f"session {session.index} is {session.state}; only a planned "
                                "session can be missed")
    if course.status == "stopped":
        raise ProblemError(409, "the course is stopped")
    rows, given = sessions_as_given(db, course.id, zone)
    updated = mark_missed(given, session.index, calendar_of(db, course),
                          not_before=today, **rules_of(course))
    apply_schedule(db, course.id, rows, updated)
    session.missed_by, session.missed_at = principal.name, now
    session.missed_reason = body.reason if body is not None else None
    return session_list(db, course, today, zone, principal)
