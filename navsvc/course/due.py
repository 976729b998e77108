"""When a session may be logged: the order, date and interval rules.

A session can be logged once it is planned, its date has come, and every earlier treatment
of the course was delivered or marked missed, so the log always matches the treatment the
patient actually had next. Logging late (after the scheduled date) is allowed: the log
records what happened. Same-day sessions of accelerated protocols must keep the protocol's
minimum interval (SAINT: 50 min, Cole et al. 2020).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from navsvc.course.calendar import DELIVERED_STATES, ScheduledSession, find_session, treatment_order


def delivery_block_reason(sessions: Sequence[ScheduledSession], index: int,
                          performed_on: date) -> str | None:
    """Say why session ``index`` cannot be logged as delivered on ``performed_on``, or None.

    A session can be logged when it is planned, its date has come, and every earlier
    treatment is already delivered (or was marked missed).
    """
    session = find_session(sessions, index)
    if session.state in DELIVERED_STATES:
        return f"session {index} is already logged ({session.state}); a second log is refused"
    if session.state == "missed":
        return f"session {index} was marked missed; log its replacement instead"
    if session.state == "cancelled":
        return f"session {index} was cancelled"
    if performed_on < session.date:
        return f"session {index} is not due until {session.date.isoformat()}"
    for earlier in treatment_order(sessions):
        if earlier.index == index:
            break
        if earlier.state == "planned":
            return (f"session {earlier.index} (scheduled {earlier.date.isoformat()}) comes first: "
                    "log it or mark it missed")
    return None


def interval_block_reason(previous_at: datetime | None, performed_at: datetime,
                          min_interval_minutes: int | None) -> str | None:
    """Say why a delivery at ``performed_at`` is too soon after the previous one, or None."""
    if previous_at is None or not min_interval_minutes:
        return None
    gap_min = (performed_at - previous_at).total_seconds() / 60.0
    if gap_min < min_interval_minutes:
        return (f"only {gap_min:.0f} min since the previous session; this protocol needs "
                f"at least {min_interval_minutes} min between sessions")
    return None
