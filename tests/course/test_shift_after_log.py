"""navsvc.course.calendar.shift_after_log: the planned sessions after a log on another day."""

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest

from navsvc.course.calendar import as_given, schedule_sessions, shift_after_log
from navsvc.course.clinic_days import ClinicCalendar

WEEKDAYS = ClinicCalendar()
MONDAY = date(2025, 3, 3)


def _log(sessions, index: int, given_on: date, given: dict[int, date], **rules):
    """Log session ``index`` as given on ``given_on``, then shift as the API does."""
    scheduled = next(s for s in sessions if s.index == index)
    done = [replace(s, state="done") if s.index == index else s for s in sessions]
    given[index] = given_on
    shifted = shift_after_log(as_given(done, given), scheduled, WEEKDAYS, **rules)
    # the API keeps a delivered session's scheduled day on record
    return [replace(s, date=scheduled.date, slot=scheduled.slot) if s.index == index else s for s in shifted]


def _planned(sessions) -> dict[int, date]:
    return {s.index: s.date for s in sessions if s.state == "planned"}


def test_a_late_session_pushes_the_ones_it_clashes_with_into_the_next_places():
    course = schedule_sessions(MONDAY, 15, 5, WEEKDAYS)
    given: dict[int, date] = {}
    for index in (1, 2, 3, 4):
        course = _log(course, index, MONDAY + timedelta(days=index - 1), given, per_week=5)
    course = _log(course, 5, date(2025, 3, 10), given, per_week=5)  # Friday's, given on Monday
    planned = _planned(course)
    assert planned[6] == date(2025, 3, 11) and planned[10] == date(2025, 3, 17)
    assert planned[15] == date(2025, 3, 24)  # the course ends one clinic day later
    assert len(set(planned.values())) == 10
    last = next(s for s in course if s.index == 15)  # past the schedule's places: a day of its own
    assert (last.slot, last.offset_minutes) == (0, 0)


def test_a_session_given_on_its_own_day_moves_nothing():
    course = schedule_sessions(MONDAY, 15, 5, WEEKDAYS)
    assert _log(course, 1, MONDAY, {}, per_week=5)[1:] == course[1:]


def test_an_early_session_frees_its_place_for_the_next_one():
    course = schedule_sessions(date(2025, 3, 4), 15, 5, WEEKDAYS)  # a closure moved Monday's
    course = _log(course, 1, MONDAY, {}, per_week=5)  # ... but it was given on Monday
    planned = _planned(course)
    assert planned[2] == date(2025, 3, 4) and planned[15] == date(2025, 3, 21)


def test_a_gap_in_the_schedule_is_kept():
    course = schedule_sessions(MONDAY, 15, 5, WEEKDAYS)
    week2 = [s.date for s in course if 6 <= s.index]
    # a break from the 2nd week on: sessions 6-15 start a week later
    course = [replace(s, date=s.date + timedelta(weeks=1)) if s.index >= 6 else s for s in course]
    given: dict[int, date] = {}
    for index in (1, 2, 3):
        course = _log(course, index, MONDAY + timedelta(days=index - 1), given, per_week=5)
    course = _log(course, 4, date(2025, 3, 7), given, per_week=5)  # Thursday's, given Friday
    planned = _planned(course)
    assert all(day >= date(2025, 3, 17) for day in planned.values()), planned
    assert planned[5] == week2[0] + timedelta(weeks=1)


def test_accelerated_sessions_keep_their_interval_slots():
    course = schedule_sessions(MONDAY, 50, 50, WEEKDAYS, sessions_per_day=10, min_interval_minutes=50)
    given: dict[int, date] = {}
    course = _log(course, 1, MONDAY, given, per_week=50, sessions_per_day=10, min_interval_minutes=50)
    assert [(s.date, s.slot, s.offset_minutes) for s in course[1:10]] == [
        (MONDAY, k, 50 * k) for k in range(1, 10)]


@pytest.mark.parametrize("seed", range(40))
def test_random_logs_keep_every_rule_of_the_schedule(seed):
    rng = np.random.default_rng(seed)
    per_week, per_day = (5, 1) if seed % 2 else (20, 5)
    interval = None if per_day == 1 else 50
    course = schedule_sessions(MONDAY, 15, per_week, WEEKDAYS, sessions_per_day=per_day,
                               min_interval_minutes=interval)
    # a random break after a random session, as a resume leaves it
    cut, break_weeks = int(rng.integers(2, 14)), int(rng.integers(0, 2))
    course = [replace(s, date=s.date + timedelta(weeks=break_weeks)) if s.index > cut else s for s in course]
    given: dict[int, date] = {}
    last_day = MONDAY - timedelta(days=1)
    for index in range(1, 16):
        session = next(s for s in course if s.index == index)
        # given on its day, a clinic day or two late, or early (not before the last one's day)
        shift_days = int(rng.choice([0, 0, 1, 2, -1]))
        day = max(session.date + timedelta(days=shift_days), last_day + timedelta(days=1 if per_day == 1 else 0))
        # the API's rules: a clinic day, the daily cap, the weekly one
        while (not WEEKDAYS.is_clinic_day(day) or list(given.values()).count(day) >= per_day
               or [d.isocalendar()[:2] for d in given.values()].count(day.isocalendar()[:2]) >= per_week):
            day += timedelta(days=1)
        before = _planned(course)
        course = _log(course, index, day, given, per_week=per_week, sessions_per_day=per_day,
                      min_interval_minutes=interval)
        last_day = day
        after = _planned(course)
        assert sorted(s.index for s in course) == list(range(1, 16))
        assert set(after) == set(before) - {index}
        assert all(after[i] >= day for i in after), "a planned session before the last given one"
        assert all(WEEKDAYS.is_clinic_day(d) for d in after.values())
        occupied = [*given.values(), *after.values()]
        assert max(occupied.count(d) for d in set(occupied)) <= per_day
        weeks = [d.isocalendar()[:2] for d in occupied]
        assert max(weeks.count(w) for w in set(weeks)) <= per_week
        # the schedule's places are kept: a session moves only into a place a session held
        # (or past the last one)
        last_place = max(before.values(), default=day)
        assert all(d in set(before.values()) | {session.date} or d > last_place for d in after.values())
        order = sorted(after, key=lambda i: (after[i], i))
        assert order == sorted(after), "planned sessions out of order"
