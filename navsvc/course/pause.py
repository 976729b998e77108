"""Pausing and resuming a course: a pause holds the planned sessions from its first day on;
resuming moves them, in order, to the clinic days from the resume date on."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from navsvc.course.calendar import ScheduledSession, relayout_planned, treatment_order
from navsvc.course.clinic_days import ClinicCalendar
from navsvc.errors import InputError


def held_by_pause(day: date, paused_from: date) -> bool:
    """Whether a pause starting on ``paused_from`` holds a session on ``day``: the pause holds
    its own day and every later one, not the days before it.

    Parameters
    ----------
    day : datetime.date
        The session's date.
    paused_from : datetime.date
        First day of the pause.

    Returns
    -------
    bool
        True when ``day`` is on or after ``paused_from``.
    """
    return day >= paused_from


def sessions_on_hold(sessions: Iterable[ScheduledSession],
                     paused_from: date) -> list[ScheduledSession]:
    """Return the planned sessions a pause starting on ``paused_from`` holds.

    Parameters
    ----------
    sessions : iterable of ScheduledSession
        The course's sessions.
    paused_from : datetime.date
        First day of the pause.

    Returns
    -------
    list of ScheduledSession
        The ``planned`` sessions dated on or after ``paused_from``, in treatment order.
    """
    return [s for s in treatment_order(sessions) if s.state == "planned" and held_by_pause(s.date, paused_from)]


def resume_course(sessions: Sequence[ScheduledSession], paused_from: date, resume_on: date,
                  calendar: ClinicCalendar, per_week: int, sessions_per_day: int = 1,
                  min_interval_minutes: int | None = None) -> list[ScheduledSession]:
    """Resume a course paused on ``paused_from``: held sessions move to clinic days from
    ``resume_on`` on, in order.

    Parameters
    ----------
    sessions : sequence of ScheduledSession
        The course's sessions.
    paused_from : datetime.date
        First day of the pause; planned sessions from this day on move.
    resume_on : datetime.date
        First day sessions may take again; not before ``paused_from``.
    calendar, per_week, sessions_per_day, min_interval_minutes
        The clinic's days and the protocol's limits, as for
        :func:`navsvc.course.calendar.relayout_planned`.

    Returns
    -------
    list of ScheduledSession
        All sessions in index order (:func:`navsvc.course.calendar.relayout_planned`).

    Raises
    ------
    InputError
        ``resume_on`` is before ``paused_from``, or
        :func:`navsvc.course.calendar.relayout_planned` refuses.
    """
    if resume_on < paused_from:
        raise InputError(f"a course paused on {paused_from} cannot resume earlier ({resume_on})")
    return relayout_planned(sessions, paused_from, resume_on, calendar, per_week,
                            sessions_per_day, min_interval_minutes)
