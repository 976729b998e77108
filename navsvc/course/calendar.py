"""The session schedule of a treatment course.

Rules (issue 5, docs/DESIGN.md §8):

- sessions fall on clinic days only (:class:`navsvc.course.clinic_days.ClinicCalendar`: the
  clinic's working weekdays minus its closure dates);
- at most ``per_week`` sessions in one calendar week (Monday to Sunday, ISO 8601) and at most
  ``sessions_per_day`` on one day, ``min_interval_minutes`` apart (accelerated protocols);
- a missed session keeps its record (state ``missed``) and a replacement is added on the
  next free clinic slot, so the course extends and nothing is silently dropped;
- pausing holds the planned sessions; resuming moves them, in order, to the clinic days from
  the resume date on (:mod:`navsvc.course.pause`, through :func:`relayout_planned`);
- the treatment weeks whose end triggers a HAMD-17 rating are counted in delivered-or-planned
  sessions (:func:`navsvc.course.followup.week_closing_sessions`: week 1 ends with the 5th
  session of a 5-a-week course), not in calendar weeks, so that a course starting on a
  Friday still rates after five treatments.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from navsvc.course.clinic_days import MAX_SEARCH_DAYS, ClinicCalendar
from navsvc.errors import InputError

#: every state a scheduled session can be in
SESSION_STATES = ("planned", "done", "incomplete", "missed", "cancelled")
#: states that hold a place in the calendar; a missed or cancelled session frees its slot
OCCUPYING_STATES = frozenset({"planned", "done", "incomplete"})
#: states of a session that was delivered (fully or partly)
DELIVERED_STATES = frozenset({"done", "incomplete"})

@dataclass(frozen=True)
class ScheduledSession:
    """One appointment of a course.

    Parameters
    ----------
    index : int
        1-based number of the appointment within the course; never reused.
    date : datetime.date
        The clinic day it is scheduled on.
    slot : int
        Position within that day (0 = first); more than 0 only for accelerated protocols.
    offset_minutes : int
        Earliest start after the day's first session (``slot * min_interval_minutes``).
    state : str
        One of :data:`SESSION_STATES`.
    replaces_index : int or None
        The missed session this one replaces.
    """

    index: int
    date: date
    slot: int = 0
    offset_minutes: int = 0
    state: str = "planned"
    replaces_index: int | None = None


def _check_rules(per_week: int, sessions_per_day: int, min_interval_minutes: int | None) -> None:
    if per_week < 1:
        raise InputError(f"sessions per week must be at least 1; got {per_week}")
    if sessions_per_day < 1:
        raise InputError(f"sessions per day must be at least 1; got {sessions_per_day}")
    if sessions_per_day > 1 and (min_interval_minutes is None or min_interval_minutes <= 0):
        raise InputError("more than one session a day needs a positive min_interval_minutes")


def _week(day: date) -> tuple[int, int]:
    year, week, _ = day.isocalendar()
    return year, week


def _place(existing: Sequence[ScheduledSession], count: int, start: date,
           calendar: ClinicCalendar, per_week: int, sessions_per_day: int,
           min_interval_minutes: int | None, first_index: int,
           replaces_index: int | None = None) -> list[ScheduledSession]:
    """Place ``count`` new planned sessions on the first free clinic slots from ``start``."""
    occupying = [s for s in existing if s.state in OCCUPYING_STATES]
    day_load = Counter(s.date for s in occupying)
    week_load = Counter(_week(s.date) for s in occupying)
    last_slot: dict[date, int] = {}
    for s in existing:  # slots of missed sessions stay taken so that times never collide
        last_slot[s.date] = max(last_slot.get(s.date, -1), s.slot)
    placed: list[ScheduledSession] = []
    day = start
    for _ in range(MAX_SEARCH_DAYS):
        if len(placed) == count:
            return placed
        week = _week(day)
        if calendar.is_clinic_day(day):
            while (len(placed) < count and day_load[day] < sessions_per_day
                   and week_load[week] < per_week):
                slot = last_slot.get(day, -1) + 1
                placed.append(ScheduledSession(
                    index=first_index + len(placed), date=day, slot=slot,
                    offset_minutes=slot * (min_interval_minutes or 0),
                    replaces_index=replaces_index))
                last_slot[day] = slot
                day_load[day] += 1
                week_load[week] += 1
        day += timedelta(days=1)
    if len(placed) == count:
        return placed
    raise InputError(f"the clinic calendar has no free clinic day within ten years after {start}")


def schedule_sessions(start_date: date, n_sessions: int, per_week: int, calendar: ClinicCalendar,
                      sessions_per_day: int = 1,
                      min_interval_minutes: int | None = None) -> list[ScheduledSession]:
    """Lay out a new course from the first clinic day on or after ``start_date``.

    Parameters
    ----------
    start_date : datetime.date
        First day the course may start.
    n_sessions : int
        Number of sessions to deliver (default course: 15).
    per_week : int
        Maximum sessions in one calendar week (default course: 5).
    calendar : ClinicCalendar
        The clinic's working days and closures.
    sessions_per_day : int
        Maximum sessions on one day (accelerated protocols: 10).
    min_interval_minutes : int, optional
        Minimum time between two sessions on the same day, minutes; required if
        ``sessions_per_day > 1``.

    Returns
    -------
    list of ScheduledSession
        Sessions 1..n in chronological order, all ``planned``.
    """
    if n_sessions < 1:
        raise InputError(f"a course needs at least one session; got {n_sessions}")
    _check_rules(per_week, sessions_per_day, min_interval_minutes)
    return _place([], n_sessions, start_date, calendar, per_week, sessions_per_day,
                  min_interval_minutes, first_index=1)


def treatment_order(sessions: Iterable[ScheduledSession]) -> list[ScheduledSession]:
    """Return the sessions that count as treatments (planned or delivered), in time order."""
    return sorted((s for s in sessions if s.state in OCCUPYING_STATES),
                  key=lambda s: (s.date, s.slot, s.index))


def find_session(sessions: Sequence[ScheduledSession], index: int) -> ScheduledSession:
    """Return session ``index``; InputError when the course has none.

    Parameters
    ----------
    sessions : sequence of ScheduledSession
        The course's sessions.
    index : int
        The session's 1-based number (:attr:`ScheduledSession.index`).

    Returns
    -------
    ScheduledSession
        The first session with that number.

    Raises
    ------
    InputError
        When no session has that number.
    """
    for s in sessions:
        if s.index == index:
            return s
    raise InputError(f"the course has no session {index}")


def mark_missed(sessions: Sequence[ScheduledSession], index: int, calendar: ClinicCalendar,
                per_week: int, sessions_per_day: int = 1, min_interval_minutes: int | None = None,
                not_before: date | None = None) -> list[ScheduledSession]:
    """Mark a planned session missed and add its replacement on the next free clinic slot.

    The replacement goes to the first clinic day after the missed one (and not before
    ``not_before``, typically today) that still has room under the per-day and per-week
    limits. With fewer sessions a week than clinic days that can be in the same week; when
    every clinic day holds a session, it is the day after the current last session.

    Parameters
    ----------
    sessions : sequence of ScheduledSession
        The course's sessions.
    index : int
        Number of the session that was missed; it must be ``planned``.
    calendar : ClinicCalendar
        The clinic's working days and closures.
    per_week : int
        Maximum sessions in one calendar week (Monday to Sunday).
    sessions_per_day : int
        Maximum sessions on one day.
    min_interval_minutes : int, optional
        Minimum time between two sessions on the same day, minutes; required if
        ``sessions_per_day > 1``.
    not_before : datetime.date, optional
        Earliest day for the replacement (typically today); the replacement never goes
        before the day after the missed session.

    Returns
    -------
    list of ScheduledSession
        All sessions: the missed one with state ``missed`` and the replacement appended.

    Raises
    ------
    InputError
        No session ``index``, it is not ``planned``, the limits are invalid, or no free
        clinic day lies within ten years.
    """
    _check_rules(per_week, sessions_per_day, min_interval_minutes)
    missed = find_session(sessions, index)
    if missed.state != "planned":
        raise InputError(f"session {index} is {missed.state}; only a planned session can be missed")
    updated = [replace(s, state="missed") if s.index == index else s for s in sessions]
    start = missed.date + timedelta(days=1)
    if not_before is not None and not_before > start:
        start = not_before
    next_index = max(s.index for s in sessions) + 1
    return updated + _place(updated, 1, start, calendar, per_week, sessions_per_day,
                            min_interval_minutes, first_index=next_index, replaces_index=index)


def relayout_planned(sessions: Sequence[ScheduledSession], from_date: date, start_date: date,
                     calendar: ClinicCalendar, per_week: int, sessions_per_day: int = 1,
                     min_interval_minutes: int | None = None) -> list[ScheduledSession]:
    """Move every planned session dated on or after ``from_date`` to free slots from ``start_date``.

    Used to resume a paused course and after a change of the clinic calendar. The sessions
    keep their numbers and their order; delivered, missed and cancelled sessions stay put.

    Parameters
    ----------
    sessions : sequence of ScheduledSession
        The course's sessions.
    from_date : datetime.date
        Planned sessions dated on or after this day move.
    start_date : datetime.date
        First day they may move to; not before ``from_date``.
    calendar : ClinicCalendar
        The clinic's working days and closures.
    per_week : int
        Maximum sessions in one calendar week (Monday to Sunday).
    sessions_per_day : int
        Maximum sessions on one day.
    min_interval_minutes : int, optional
        Minimum time between two sessions on the same day, minutes; required if
        ``sessions_per_day > 1``.

    Returns
    -------
    list of ScheduledSession
        All sessions in index order; moved ones get a new date, slot and ``offset_minutes``.

    Raises
    ------
    InputError
        ``start_date`` is before ``from_date``, the limits are invalid, or no free clinic day
        lies within ten years.
    """
    _check_rules(per_week, sessions_per_day, min_interval_minutes)
    if start_date < from_date:
        raise InputError(f"cannot move sessions from {from_date} back to {start_date}")
    moving = [s for s in treatment_order(sessions) if s.state == "planned" and s.date >= from_date]
    staying = [s for s in sessions if s not in moving]
    slots = _place(staying, len(moving), start_date, calendar, per_week, sessions_per_day,
                   min_interval_minutes, first_index=0)
    moved = [replace(old, date=new.date, slot=new.slot, offset_minutes=new.offset_minutes)
             for old, new in zip(moving, slots)]
    return sorted(staying + moved, key=lambda s: s.index)


def as_given(sessions: Sequence[ScheduledSession],
             given_on: Mapping[int, date]) -> list[ScheduledSession]:
    """Return the sessions with each delivered one on the clinic day it was given.

    A session given late or early keeps its scheduled date on record; the schedule's rules
    (the order of treatments, the week a session closes, the free slots a re-lay fills)
    need the day it took place. A delivered session ``i`` moves to ``given_on[i]`` and
    takes the slot after the sessions given before it that day (in treatment order).

    Parameters
    ----------
    sessions : sequence of ScheduledSession
        The course's sessions as scheduled.
    given_on : mapping of int to datetime.date
        The clinic day each delivered session was given, by index.

    Returns
    -------
    list of ScheduledSession
        The same sessions in index order; only delivered ones listed in ``given_on`` change.
    """
    slot_on: Counter = Counter()
    moved: dict[int, ScheduledSession] = {}
    for s in treatment_order(sessions):
        if s.state in DELIVERED_STATES and s.index in given_on:
            day = given_on[s.index]
            moved[s.index] = replace(s, date=day, slot=slot_on[day])
            slot_on[day] += 1
    return sorted((moved.get(s.index, s) for s in sessions), key=lambda s: s.index)


def shift_after_log(sessions: Sequence[ScheduledSession], freed: ScheduledSession | None,
                    calendar: ClinicCalendar, per_week: int, sessions_per_day: int = 1,
                    min_interval_minutes: int | None = None) -> list[ScheduledSession]:
    """Move the planned sessions along the schedule's own places after a session was logged
    on another day than its own.

    The places are those of the planned sessions and ``freed``, the place the logged
    session was scheduled in. In order, each planned session takes the first place that
    comes after the last treatment and has room: logged late (on the next session's day,
    say), the sessions it now clashes with each move into the next one's place and the last
    goes to the first free clinic slot after them; logged early (a closure entered after it
    was given had moved it later), each takes the place of the one before it, from the
    freed place on. The schedule's pattern stays: no session moves into a gap the schedule
    leaves (a break a resume set, a pause's held days), and sessions that still fit keep
    their place. ``sessions`` must hold delivered sessions on the day they were given
    (:func:`as_given`).

    Parameters
    ----------
    sessions : sequence of ScheduledSession
        The course's sessions, delivered ones on the clinic day they were given.
    freed : ScheduledSession or None
        The logged session as it was scheduled (its date and slot), or None to leave its
        place empty.
    calendar : ClinicCalendar
        The clinic's working days and closures (for a session added at the end).
    per_week, sessions_per_day, min_interval_minutes
        The protocol's limits, as for :func:`schedule_sessions`.

    Returns
    -------
    list of ScheduledSession
        All sessions in index order; only planned ones may have moved.
    """
    _check_rules(per_week, sessions_per_day, min_interval_minutes)
    order = treatment_order(sessions)
    planned = [s for s in order if s.state == "planned"]
    fixed = [s for s in sessions if s.state != "planned"]
    day_load = Counter(s.date for s in fixed if s.state in OCCUPYING_STATES)
    week_load = Counter(_week(s.date) for s in fixed if s.state in OCCUPYING_STATES)
    last_slot: dict[date, int] = {}
    for s in fixed:  # slots of missed sessions stay taken so that times never collide
        last_slot[s.date] = max(last_slot.get(s.date, -1), s.slot)
    earliest = max((s.date for s in order if s.state in DELIVERED_STATES), default=None)

    def fits(day: date) -> bool:
        return ((earliest is None or day >= earliest) and day_load[day] < sessions_per_day
                and week_load[_week(day)] < per_week)

    places = iter(sorted({(s.date, s.slot) for s in planned + ([freed] if freed else [])}))
    moved: dict[int, ScheduledSession] = {}
    for session in planned:
        place = next(((d, slot) for d, slot in places if fits(d)), None)
        if place is None:  # past the schedule's last place: the first free clinic slot after it
            after = earliest or session.date
            place = (_place([*fixed, *moved.values()], 1, after, calendar, per_week, sessions_per_day,
                            min_interval_minutes, first_index=0)[0].date, -1)
        day, wanted_slot = place
        slot = wanted_slot if wanted_slot > last_slot.get(day, -1) else last_slot.get(day, -1) + 1
        moved[session.index] = replace(session, date=day, slot=slot,
                                       offset_minutes=slot * (min_interval_minutes or 0))
        day_load[day] += 1
        week_load[_week(day)] += 1
        last_slot[day] = slot
        earliest = day
    return sorted((moved.get(s.index, s) for s in sessions), key=lambda s: s.index)
