"""When the HAMD-17 ratings of a course are due.

Seed protocol (Ping et al. 2025, docs/DESIGN.md §8): HAMD-17 at baseline and at the end of
treatment weeks 1, 2 and 3. Baseline is due before the first session; week ``k`` is due once
the session that closes treatment week ``k`` (see
:func:`navsvc.course.calendar.week_closing_sessions`) has been delivered.

How long a rating may wait before it counts as overdue is a clinic choice, not a published
rule: ``grace_days`` (default 3 calendar days, which spans a weekend).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from navsvc.course.calendar import (
    DELIVERED_STATES,
    ScheduledSession,
    treatment_order,
    week_closing_sessions,
)

#: status of one rating timepoint
FOLLOWUP_STATUSES = ("done", "due", "overdue", "upcoming")


@dataclass(frozen=True)
class FollowUp:
    """One HAMD-17 timepoint of a course.

    Parameters
    ----------
    timepoint : str
        ``baseline`` or ``week1``, ``week2``, ...
    after_session_index : int or None
        The session whose delivery makes it due (None for baseline: due before session 1).
    due_on : datetime.date or None
        The date it fell or will fall due: the day the closing session was given, or its
        scheduled day while it is planned (baseline: the first session's date).
    status : str
        One of :data:`FOLLOWUP_STATUSES`.
    """

    timepoint: str
    after_session_index: int | None
    due_on: date | None
    status: str


def followups(sessions: Sequence[ScheduledSession], per_week: int, rated: Iterable[str],
              today: date, grace_days: int = 3,
              given_on: Mapping[int, date] | None = None) -> list[FollowUp]:
    """List every HAMD-17 timepoint of the course with its status on ``today``.

    Parameters
    ----------
    sessions : sequence of ScheduledSession
        The course's sessions in any order.
    per_week : int
        Sessions per treatment week (5 in the default course).
    rated : iterable of str
        Timepoints that already have a rating.
    today : datetime.date
        The day the question is asked.
    grace_days : int
        Calendar days a due rating may wait before it is overdue.
    given_on : mapping of int to datetime.date, optional
        The day each delivered session was given, by index: a closing session given late
        makes its rating due from that day, not from the day it was scheduled.
    """
    given_on = given_on or {}
    rated = set(rated)
    order = treatment_order(sessions)
    by_index = {s.index: s for s in sessions}
    first = order[0] if order else None
    items: list[FollowUp] = []

    if "baseline" in rated:
        status = "done"
    elif first is None:
        status = "due"
    elif first.state in DELIVERED_STATES or today > first.date:
        status = "overdue"  # treatment started (or should have) without a baseline rating
    else:
        status = "due"
    items.append(FollowUp("baseline", None, first.date if first else None, status))

    for week, index in week_closing_sessions(sessions, per_week).items():
        timepoint = f"week{week}"
        closing = by_index[index]
        closed_on = given_on.get(index, closing.date)
        if timepoint in rated:
            status = "done"
        elif closing.state not in DELIVERED_STATES:
            status = "upcoming"
        elif today > closed_on + timedelta(days=grace_days):
            status = "overdue"
        else:
            status = "due"
        items.append(FollowUp(timepoint, index, closed_on, status))
    return items


#: what timepoint 'extra' is, said wherever a week rating is refused
_NOT_A_WEEK = ("A rating taken before the week ended can be kept with timepoint 'extra': an "
               "additional rating that does not count as the week's, which stays due")


def early_rating_reason(followup: FollowUp, rated_on: date) -> str | None:
    """Say why a rating for ``followup``'s timepoint dated ``rated_on`` comes too early, or None.

    A week-``k`` rating is the one taken after treatment week ``k``: its closing session
    must be logged (the timepoint is no longer ``upcoming``, as the ratings due say), and
    the rating may not be dated before the day it was given (``followup.due_on``). Taken
    earlier it is a mid-week rating; recorded as ``weekK`` it would stand in the response
    and remission figures as the week's outcome. Such a rating may be kept as ``extra``,
    which never stands for a week: the week's own rating stays due. Baseline ratings are
    never early.
    """
    if followup.after_session_index is None or followup.due_on is None:
        return None
    week = followup.timepoint.replace("week", "week ")
    if followup.status == "upcoming":
        return (f"timepoint: treatment {week} ends with session {followup.after_session_index} "
                f"(scheduled {followup.due_on.isoformat()}), which is not logged yet: log session "
                f"{followup.after_session_index} first, dated when it was given (today is accepted "
                f"even if it is scheduled later), then record the {followup.timepoint} rating. "
                f"{_NOT_A_WEEK}")
    if rated_on >= followup.due_on:
        return None
    return (f"rated_at: treatment {week} ends with session {followup.after_session_index} on "
            f"{followup.due_on.isoformat()}; a {followup.timepoint} rating dated {rated_on.isoformat()} "
            f"comes before it: check the date. {_NOT_A_WEEK}")


def late_baseline_reason(first_given_on: date | None, rated_on: date) -> str | None:
    """Say why a baseline rating dated ``rated_on`` comes too late, or None: it must come
    before treatment, so not after the day the first session was given (``first_given_on``;
    None while none was). Scored as the baseline, a later rating would make every week's
    change and response relative to a patient already treated."""
    if first_given_on is None or rated_on <= first_given_on:
        return None
    return (f"rated_at: a baseline is rated before treatment, and the first session was given on "
            f"{first_given_on.isoformat()}: record this rating with timepoint 'extra'")
