"""When a session may be logged: the order, date and interval rules.

A session can be logged once it is planned and every earlier treatment of the course was
delivered or marked missed, so the log always matches the treatment the patient actually had
next. The log records what happened, so the day it was given decides, not the day it was
scheduled: a session given late (after its date) or early (before a date that a closure or
a re-lay moved later) is logged on the day it was given. What bounds that day: not in the
future (the API refuses a future ``performed_at``), not before the course's start date, not
before the course's last logged session, and no more sessions on one clinic day than the
protocol allows. Same-day sessions of accelerated protocols must keep the protocol's minimum
interval, counted from one session's start to the next's (SAINT: one an hour, a 10-min
session and 50 min of rest, Cole et al. 2020).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from navsvc.course.calendar import DELIVERED_STATES, ScheduledSession, find_session, treatment_order


def delivery_block_reason(sessions: Sequence[ScheduledSession], index: int,
                          performed_on: date, course_start: date | None = None) -> str | None:
    """Say why session ``index`` cannot be logged as delivered on ``performed_on``, or None.

    A session can be logged when it is planned and every earlier treatment is already
    delivered (or was marked missed), on any day from ``course_start`` on: its scheduled
    date does not bound it, as a closure entered after the session was given (or a re-lay)
    may have moved that date past the day it was given. The other bounds of that day
    (not in the future, not before the last logged session, the daily cap) are the
    caller's and :func:`interval_block_reason`'s and :func:`daily_cap_block_reason`'s.

    Parameters
    ----------
    sessions : sequence of ScheduledSession
        The course's sessions.
    index : int
        The session to log.
    performed_on : datetime.date
        The clinic day it was given.
    course_start : datetime.date, optional
        The course's start date; no session is given before it.
    """
    session = find_session(sessions, index)
    if session.state in DELIVERED_STATES:
        return f"session {index} is already logged ({session.state}); a second log is refused"
    if session.state == "missed":
        return f"session {index} was marked missed; log its replacement instead"
    if session.state == "cancelled":
        return f"session {index} was cancelled"
    if course_start is not None and performed_on < course_start:
        return (f"session {index} cannot have been given on {performed_on.isoformat()}: the course "
                f"starts on {course_start.isoformat()}; check performed_at")
    for earlier in treatment_order(sessions):
        if earlier.index == index:
            break
        if earlier.state == "planned":
            return (f"session {earlier.index} (scheduled {earlier.date.isoformat()}) comes first: "
                    "log it or mark it missed")
    return None


def daily_cap_block_reason(delivered_on: Sequence[date], performed_on: date,
                           sessions_per_day: int) -> str | None:
    """Say why one more delivery on ``performed_on`` would exceed the protocol's sessions a
    day, or None. ``delivered_on`` holds the day of every delivery already logged.

    A late session given on the day of the next one would otherwise put two sessions of a
    once-a-day protocol into one day.

    Parameters
    ----------
    delivered_on : sequence of datetime.date
        The clinic day of every delivery of the course already logged.
    performed_on : datetime.date
        The clinic day of the delivery to log.
    sessions_per_day : int
        The protocol's maximum sessions on one day.

    Returns
    -------
    str or None
        The message when ``performed_on`` already holds ``sessions_per_day`` deliveries,
        else None.
    """
    given = sum(1 for day in delivered_on if day == performed_on)
    if given >= sessions_per_day:
        return (f"{given} session{'s' if given > 1 else ''} already given on {performed_on.isoformat()}; this "
                f"protocol allows {sessions_per_day} a day: give this one on another day, or mark it missed")
    return None


def interval_block_reason(previous_at: datetime | None, performed_at: datetime,
                          min_interval_minutes: int | None) -> str | None:
    """Say why a delivery at ``performed_at`` cannot follow the course's last one, logged
    as given at ``previous_at``, or None: it would come before it (the log keeps the order
    the treatments were given, which decides when a week ends), or too soon after it.

    Parameters
    ----------
    previous_at : datetime.datetime or None
        When the course's last logged session was given; None when none is logged.
    performed_at : datetime.datetime
        When the session to log was given.
    min_interval_minutes : int or None
        The protocol's minimum time from one session's start to the next's, minutes; None or
        0 checks the order only.

    Returns
    -------
    str or None
        The message, or None when the delivery may follow.
    """
    if previous_at is None:
        return None
    if performed_at <= previous_at:
        return (f"the course's last logged session was given at {previous_at.isoformat()}; this one, "
                f"at {performed_at.isoformat()}, cannot have been given before it: check performed_at")
    if not min_interval_minutes:
        return None
    gap_min = (performed_at - previous_at).total_seconds() / 60.0
    if gap_min < min_interval_minutes:
        return (f"only {gap_min:.0f} min since the previous session; this protocol needs "
                f"at least {min_interval_minutes} min from the start of one session to the start of the next")
    return None
