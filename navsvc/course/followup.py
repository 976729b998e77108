"""When the HAMD-17 ratings of a course are due.

Seed protocol (Ping et al. 2025, docs/DESIGN.md §8): HAMD-17 at baseline and at the end of
treatment weeks 1, 2 and 3. Baseline is due before the first session; week ``k`` is due once
the session that closes treatment week ``k`` (see
:func:`week_closing_sessions`) has been delivered.

A week's rating must be taken before the next session is given (after it, it measures
more treatment than the week's): it is overdue from the day that session is scheduled, or
after ``grace_days`` (a clinic choice, not a published rule; default 3 calendar days, which
spans a weekend) when that comes first, and ``missed`` once the next session was given
without it: it can no longer be taken, and stays listed until a clinician records it as
not obtained.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from navsvc.course.calendar import DELIVERED_STATES, ScheduledSession, treatment_order
from navsvc.errors import InputError

#: status of one rating timepoint; ``missed``: a week's rating not taken before the next
#: session was given, which can no longer be taken; ``not_obtained``: a clinician recorded
#: that it will not be rated (with the reason), so it is no longer due
FOLLOWUP_STATUSES = ("done", "due", "overdue", "missed", "upcoming", "not_obtained")


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
              given_on: Mapping[int, date] | None = None,
              not_obtained: Iterable[str] = (), held_from: date | None = None) -> list[FollowUp]:
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
        Calendar days a due rating may wait before it is overdue (a week's is overdue
        earlier, from the day the next session is scheduled).
    given_on : mapping of int to datetime.date, optional
        The day each delivered session was given, by index: a closing session given late
        makes its rating due from that day, not from the day it was scheduled.
    not_obtained : iterable of str
        Timepoints a clinician recorded as not obtained: ``not_obtained`` unless rated
        after all (a rating, once there, is ``done``).
    held_from : datetime.date, optional
        The first day a pause holds (a paused course): a baseline whose first session is
        held is not overdue by that session's date, which the resume will move.
    """
    given_on = given_on or {}
    rated = set(rated)
    not_obtained = set(not_obtained) - rated
    order = treatment_order(sessions)
    by_index = {s.index: s for s in sessions}
    first = order[0] if order else None
    items: list[FollowUp] = []

    if "baseline" in rated:
        status = "done"
    elif "baseline" in not_obtained:
        status = "not_obtained"
    elif first is None:
        status = "due"
    elif first.state in DELIVERED_STATES or (today > first.date and not (
            held_from is not None and first.date >= held_from)):
        status = "overdue"  # treatment started (or should have) without a baseline rating
    else:
        status = "due"
    items.append(FollowUp("baseline", None, first.date if first else None, status))

    position = {s.index: i for i, s in enumerate(order)}
    for week, index in week_closing_sessions(sessions, per_week).items():
        timepoint = f"week{week}"
        closing = by_index[index]
        closed_on = given_on.get(index, closing.date)
        at = position.get(index)
        after = order[at + 1] if at is not None and at + 1 < len(order) else None  # the next treatment
        if timepoint in rated:
            status = "done"
        elif timepoint in not_obtained:
            status = "not_obtained"
        elif closing.state not in DELIVERED_STATES:
            status = "upcoming"
        elif after is not None and after.state in DELIVERED_STATES:
            status = "missed"  # more treatment was given: the week's rating can no longer be taken
        elif today > closed_on + timedelta(days=grace_days) or (after is not None and today >= after.date):
            status = "overdue"
        else:
            status = "due"
        items.append(FollowUp(timepoint, index, closed_on, status))
    return items


#: what timepoint 'extra' is, said wherever a week rating is refused
_NOT_A_WEEK = ("A rating taken before the week ended can be kept with timepoint 'extra': an "
               "additional rating that does not count as the week's, which stays due")


def _at(moment: datetime) -> str:
    return moment.isoformat(timespec="minutes")


def week_rating_timing_reason(followup: FollowUp, rated_at: datetime, closing_given_at: datetime | None,
                              next_given_at: datetime | None) -> str | None:
    """Say why a rating for ``followup``'s week taken at ``rated_at`` is not that week's, or None.

    A week-``k`` rating is the one taken after treatment week ``k`` and before any further
    treatment: after the session that closes the week was given (``closing_given_at``;
    the timepoint is ``upcoming`` while it is not logged) and not after the next session
    given (``next_given_at``, None while there is none). Taken earlier it is a mid-week
    rating, taken after more treatment it measures more sessions than the week's; recorded
    as ``weekK`` either would stand in the response and remission figures as the week's
    outcome. Times are compared, not days: a rating on the afternoon of a morning session
    comes after it. Such a rating may be kept as ``extra``, which never stands for a
    week. Baseline ratings: :func:`late_baseline_reason`.

    Parameters
    ----------
    followup : FollowUp
        The week's timepoint, with its status.
    rated_at : datetime.datetime
        When the rating was taken (aware; shown as given, so pass the clinic's time).
    closing_given_at, next_given_at : datetime.datetime or None
        When the session closing the week, and the next session after it, were given.
    """
    if followup.after_session_index is None or followup.due_on is None:
        return None
    week = followup.timepoint.replace("week", "week ")
    closing = followup.after_session_index
    if followup.status == "upcoming" or closing_given_at is None:
        return (f"timepoint: treatment {week} ends with session {closing} "
                f"(scheduled {followup.due_on.isoformat()}), which is not logged yet: log session "
                f"{closing} first, dated when it was given (today is accepted "
                f"even if it is scheduled later), then record the {followup.timepoint} rating. "
                f"{_NOT_A_WEEK}")
    if rated_at < closing_given_at:
        return (f"rated_at: treatment {week} ends with session {closing}, given at "
                f"{_at(closing_given_at)}; a {followup.timepoint} rating taken at {_at(rated_at)} "
                f"comes before it: check the time. {_NOT_A_WEEK}")
    if next_given_at is not None and rated_at > next_given_at:
        return (f"rated_at: a session was given at {_at(next_given_at)}, after session {closing} "
                f"closed treatment {week} and before this rating ({_at(rated_at)}): it measures more "
                f"treatment than the week's, so it cannot stand as the {followup.timepoint} rating. "
                f"Check the time; if it is right, record it with timepoint 'extra' (the "
                f"{followup.timepoint} rating then stays missing)")
    return None


def late_baseline_reason(first_given_at: datetime | None, rated_at: datetime) -> str | None:
    """Say why a baseline rating taken at ``rated_at`` comes too late, or None: it must come
    before treatment, so not after the first session was given (``first_given_at``; None
    while none was). Times are compared: a rating on the afternoon of the first session
    comes after it. Scored as the baseline, a later rating would make every week's change
    and response relative to a patient already treated.

    Parameters
    ----------
    first_given_at : datetime.datetime or None
        When the course's first session was given; None while none was.
    rated_at : datetime.datetime
        When the baseline rating was taken (shown as given, so pass the clinic's time).

    Returns
    -------
    str or None
        The message, naming the field ``rated_at`` first; None when the rating is in time.
    """
    if first_given_at is None or rated_at <= first_given_at:
        return None
    return (f"rated_at: a baseline is rated before treatment, and the first session was given at "
            f"{_at(first_given_at)}, before this rating ({_at(rated_at)}): check the time; if it "
            f"is right, record this rating with timepoint 'extra'")


def week_closing_sessions(sessions: Iterable[ScheduledSession], per_week: int) -> dict[int, int]:
    """Return ``{treatment week: index of the session that closes it}``.

    Week ``k`` closes with the ``k * per_week``-th treatment (planned or delivered, missed ones
    not counted); a last, shorter week closes with the last treatment. For the default
    course (15 sessions, 5 a week) that is sessions 5, 10 and 15 when none was missed.

    Parameters
    ----------
    sessions : iterable of ScheduledSession
        The course's sessions.
    per_week : int
        Sessions per treatment week (the protocol's sessions per week), at least 1.

    Returns
    -------
    dict of int to int
        Treatment week (1-based) to the index of its closing session; empty when the course
        has no planned or delivered session.
    """
    if per_week < 1:
        raise InputError(f"sessions per week must be at least 1; got {per_week}")
    order = treatment_order(sessions)
    n_weeks = math.ceil(len(order) / per_week)
    return {k: order[min(k * per_week, len(order)) - 1].index for k in range(1, n_weeks + 1)}
