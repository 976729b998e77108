"""A course's session rows, the days they were given on and the schedule written back:
glue between the session table and :mod:`navsvc.course.calendar`, which decides."""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.clinic_time import clinic_day
from api.models import utc_now
from api.models_course import CourseSession, Delivery
from navsvc.course.calendar import DELIVERED_STATES, ScheduledSession, as_given


def session_rows(db: Session, course_id: str) -> list[CourseSession]:
    """Return the course's session rows in index order.

    Parameters
    ----------
    db : Session
        The database session.
    course_id : str
        The course.

    Returns
    -------
    list of CourseSession
        Every session row of the course (missed, cancelled and replacements too), by ``index``.
    """
    return list(db.scalars(select(CourseSession).where(CourseSession.course_id == course_id)
                           .order_by(CourseSession.index)))


def to_domain(rows: list[CourseSession]) -> list[ScheduledSession]:
    """Convert session rows to :class:`ScheduledSession` values."""
    return [ScheduledSession(r.index, r.date, r.slot, r.offset_minutes, r.state, r.replaces_index)
            for r in rows]


def given_at(db: Session, course_id: str) -> dict[int, datetime]:
    """When each delivered session of the course was given, by session index.

    Parameters
    ----------
    db : Session
        The database session.
    course_id : str
        The course.

    Returns
    -------
    dict of int to datetime.datetime
        The ``performed_at`` (aware) of each logged delivery, by session index.
    """
    return {index: at for index, at in db.execute(
        select(CourseSession.index, Delivery.performed_at)
        .join(Delivery, Delivery.session_id == CourseSession.id)
        .where(CourseSession.course_id == course_id))}


def given_days(db: Session, course_id: str, zone: tzinfo | None) -> dict[int, date]:
    """The clinic day each delivered session of the course was given, by session index.

    Parameters
    ----------
    db : Session
        The database session.
    course_id : str
        The course.
    zone : tzinfo or None
        The clinic's time zone (None: the server's local zone).

    Returns
    -------
    dict of int to datetime.date
        The clinic day of each logged delivery, by session index.
    """
    return {index: clinic_day(at, zone) for index, at in given_at(db, course_id).items()}


def sessions_as_given(db: Session, course_id: str,
                      zone: tzinfo | None) -> tuple[list[CourseSession], list[ScheduledSession]]:
    """The course's session rows, and their domain values with each delivered session on
    the clinic day it was given (:func:`navsvc.course.calendar.as_given`): the order of
    treatments, the week ends and the free days of a re-lay follow what took place, while
    the rows keep the day each session was scheduled.

    Parameters
    ----------
    db : Session
        The database session.
    course_id : str
        The course.
    zone : tzinfo or None
        The clinic's time zone (None: the server's local zone).

    Returns
    -------
    rows : list of CourseSession
        The session rows in index order, each on the day it was scheduled.
    sessions : list of ScheduledSession
        The same sessions in index order, delivered ones on the clinic day they were given.
    """
    rows = session_rows(db, course_id)
    return rows, as_given(to_domain(rows), given_days(db, course_id, zone))


def apply_schedule(db: Session, course_id: str, rows: list[CourseSession],
                   sessions: list[ScheduledSession]) -> int:
    """Write a rescheduled session list back: update changed rows, add new ones. A
    delivered session's row is left as it is: it keeps the day it was scheduled, whatever
    day ``sessions`` (:func:`sessions_as_given`) puts it on.

    Parameters
    ----------
    db : Session
        The request's database session; it is flushed before the function returns.
    course_id : str
        The course; new rows are added to it.
    rows : list of CourseSession
        The course's session rows the schedule was computed from (:func:`sessions_as_given`).
    sessions : list of ScheduledSession
        The new schedule; a session whose index has no row gets a new one.

    Returns
    -------
    int
        Number of existing sessions whose date, slot or state changed.
    """
    by_index = {r.index: r for r in rows}
    changed = 0
    for s in sessions:
        row = by_index.get(s.index)
        if row is None:
            db.add(CourseSession(course_id=course_id, index=s.index, date=s.date, slot=s.slot,
                                 offset_minutes=s.offset_minutes, state=s.state,
                                 replaces_index=s.replaces_index))
            continue
        if row.state in DELIVERED_STATES:
            continue
        if (row.date, row.slot, row.state) != (s.date, s.slot, s.state):
            row.date, row.slot, row.offset_minutes, row.state = (s.date, s.slot,
                                                                 s.offset_minutes, s.state)
            row.updated_at = utc_now()
            changed += 1
    db.flush()
    return changed
