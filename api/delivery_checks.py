"""The rules a delivery log is held to and what it changes: holds, the order and days of
sessions, the delivered pose's deviation from the plan, and the relay of planned sessions
after a session logged on another day than its own."""

from __future__ import annotations

import base64
import binascii
from dataclasses import replace
from datetime import date, datetime

from api.clinic_time import clinic_day
from api.course_service import calendar_of, protocol_of, rules_of
from api.course_sessions import apply_schedule, given_at, sessions_as_given
from api.models import Plan
from api.models_course import Course, CourseHold, CourseSession
from api.schemas_session import DeliveryIn
from navsvc.course.calendar import ScheduledSession, shift_after_log
from navsvc.course.due import daily_cap_block_reason, delivery_block_reason, interval_block_reason
from navsvc.course.pause import held_by_pause
from navsvc.errors import InputError


def hold_block_reason(holds: list[CourseHold], performed_at: datetime, performed_on: date) -> str | None:
    """Say why a delivery given at ``performed_at`` (clinic day ``performed_on``) falls in
    one of the course's holds, or None.

    A pause holds the days from its ``from_date`` on, from the moment it was entered until
    the course was resumed; a stop holds everything from the moment it was entered. A
    delivery given before a hold was entered (that morning's session, say), or after a
    resume, is a treatment the patient had outside it and is accepted. One given during a
    hold stays refused after the course is resumed or stopped. A hold whose moment is not
    known (entered before it was recorded) holds from the start.

    Parameters
    ----------
    holds : list of CourseHold
        The course's pauses and stop.
    performed_at : datetime.datetime
        When the session was given (aware).
    performed_on : datetime.date
        Its clinic day.
    """
    for hold in holds:
        if hold.entered_at is not None and performed_at < hold.entered_at:
            continue
        if hold.ended_at is not None and performed_at >= hold.ended_at:
            continue
        if hold.kind == "pause" and hold.from_date is not None and not held_by_pause(performed_on, hold.from_date):
            continue
        if hold.kind == "stop":
            return "the course is stopped; a session given after the stop cannot be logged"
        if hold.ended_at is None:
            return f"the course is paused since {hold.from_date}; resume it first"
        return (f"the course was paused from {hold.from_date} until {hold.ended_at.isoformat()}, and this "
                f"session was given on {performed_on} during the pause: check performed_at, and if it "
                "was given then, tell the clinician in charge")
    return None


def order_and_day_reason(db, course: Course, session: CourseSession, performed_at: datetime,
                          performed_on: date, zone) -> str | None:
    """Say why ``session`` cannot be the course's next treatment, given at ``performed_at``
    (:func:`delivery_block_reason`, :func:`interval_block_reason`,
    :func:`daily_cap_block_reason`), or None. In a stopped course the sessions the stop
    cancelled count as planned: this is reached for a delivery given before the stop.

    Parameters
    ----------
    db : Session
        The request's database session.
    course : Course
        The session's course.
    session : CourseSession
        The session row being logged.
    performed_at : datetime.datetime
        When the session was given (aware).
    performed_on : datetime.date
        Its clinic day (:func:`api.clinic_time.clinic_day`).
    zone : tzinfo or None
        The clinic's time zone (None: the server's local zone).

    Returns
    -------
    str or None
        Why the log is refused, or None when these rules allow it.
    """
    _, sessions = sessions_as_given(db, course.id, zone)
    if course.status == "stopped":
        sessions = [replace(s, state="planned") if s.state == "cancelled" else s for s in sessions]
    protocol = protocol_of(course)
    delivered_at = list(given_at(db, course.id).values())
    return (delivery_block_reason(sessions, session.index, performed_on, course.start_date)
            or interval_block_reason(max(delivered_at, default=None), performed_at,
                                     protocol.min_interval_minutes)
            or daily_cap_block_reason([clinic_day(at, zone) for at in delivered_at], performed_on,
                                      protocol.sessions_per_day))


def relay_after_log(db, course: Course, scheduled: ScheduledSession, performed_on: date, zone) -> None:
    """After session ``scheduled`` (as it was scheduled) was logged as given on
    ``performed_on``, move the planned sessions along the schedule's places
    (:func:`navsvc.course.calendar.shift_after_log`), so the day's list names the session
    that can be logged that day. Nothing moves into a gap of the schedule (a break a resume
    set); in a paused course the freed place stays empty, so no held session leaves the
    pause.

    Parameters
    ----------
    db : Session
        The request's database session, which already holds the new delivery and the
        session's delivered state.
    course : Course
        The logged session's course (nothing moves in a stopped one).
    scheduled : ScheduledSession
        The logged session's index, date and slot as scheduled before the log.
    performed_on : datetime.date
        The clinic day it was given.
    zone : tzinfo or None
        The clinic's time zone (None: the server's local zone).
    """
    if performed_on == scheduled.date or course.status == "stopped":
        return
    rows, sessions = sessions_as_given(db, course.id, zone)
    freed = None if course.status == "paused" else scheduled
    apply_schedule(db, course.id, rows, shift_after_log(sessions, freed, calendar_of(db, course),
                                                        **rules_of(course)))


def delivered_pose_deviation(plan: Plan, body: DeliveryIn, performed_on: date) -> tuple[list | None, dict | None]:
    """Compare the delivered pose (matrix or navigator file) with the plan's coil pose; of a
    file whose samples span several days, those of ``performed_on``.

    Parameters
    ----------
    plan : Plan
        The course's plan; its data gives the planned coil pose (``coil.matrix``) and the
        target (``target.cortex_ras_mm``).
    body : DeliveryIn
        The delivery log: ``pose_matrix`` (4x4, SimNIBS convention, RAS mm) or ``pose_file``
        (text or base64), or neither.
    performed_on : datetime.date
        The clinic day the session was given.

    Returns
    -------
    tuple
        The pose matrix to store (when one was given) and the deviation summary (None, None
        when the log has no pose).

    Raises
    ------
    InputError
        The plan has no coil pose or target to compare a matrix with, or ``pose_file.base64``
        is not valid base64 (the pose checks and readers it calls raise it too, for a bad
        matrix or an unreadable file).
    """
    if body.pose_matrix is None and body.pose_file is None:
        return None, None
    from navsvc.deviation import deviation_report, pose_deviation
    from navsvc.export import read_poses, sniff_format

    if body.pose_matrix is not None:
        try:
            deviation = pose_deviation(plan.data["coil"]["matrix"], body.pose_matrix,
                                       plan.data["target"]["cortex_ras_mm"]).to_dict()
        except (KeyError, TypeError) as exc:
            raise InputError("the plan has no coil pose or target to compare with "
                             f"({exc})") from None
        one = {"centre_distance_mm": deviation["centre_distance_mm"],
               "axis_to_target_mm": deviation["axis_to_target_mm"],
               "tilt_deg": deviation["tilt_deg"],
               "twist_abs_deg": None if deviation["twist_deg"] is None
               else abs(deviation["twist_deg"])}
        one = _rounded(one)
        return body.pose_matrix, {"source": "matrix", "n_poses": 1, "mean": one, "worst": one,
                                  "n_left_out": 0, "left_out": []}
    if body.pose_file.text is not None:
        data = body.pose_file.text.encode("utf-8")
    else:
        try:
            data = base64.b64decode(body.pose_file.base64, validate=True)
        except (binascii.Error, ValueError):
            raise InputError("pose_file.base64 is not valid base64") from None
    report = deviation_report(plan.data, read_poses(data), performed_on)
    overall = report["overall"]
    return None, {"source": sniff_format(data), "n_poses": overall["n_poses"],
                  "mean": _rounded(overall["mean"]), "worst": _rounded(overall["worst"]),
                  "n_left_out": report["n_left_out"], "left_out": report["left_out"]}


def _rounded(metrics: dict) -> dict:
    # 0.01 mm / 0.01 degree is far below what a navigator resolves.
    return {k: None if v is None else round(float(v), 2) for k, v in metrics.items()}
