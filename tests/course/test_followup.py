"""HAMD-17 due and overdue timepoints."""

from dataclasses import replace
from datetime import date

from navsvc.course.calendar import ClinicCalendar, mark_missed, schedule_sessions
from navsvc.course.followup import followups

START = date(2025, 3, 3)


def _status(items):
    return {f.timepoint: (f.status, f.after_session_index) for f in items}


def _deliver(sessions, upto):
    return [replace(s, state="done") if s.index <= upto else s for s in sessions]


def test_baseline_due_before_session_one_then_overdue():
    sessions = schedule_sessions(START, 15, 5, ClinicCalendar())
    assert _status(followups(sessions, 5, [], date(2025, 3, 1))) == {
        "baseline": ("due", None), "week1": ("upcoming", 5), "week2": ("upcoming", 10),
        "week3": ("upcoming", 15)}
    assert _status(followups(sessions, 5, [], date(2025, 3, 4)))["baseline"][0] == "overdue"


def test_week_ratings_due_after_sessions_5_10_15():
    sessions = _deliver(schedule_sessions(START, 15, 5, ClinicCalendar()), 5)
    items = _status(followups(sessions, 5, ["baseline"], date(2025, 3, 7)))
    assert items["baseline"][0] == "done"
    assert items["week1"] == ("due", 5)
    assert items["week2"][0] == "upcoming"
    assert _status(followups(sessions, 5, ["baseline"], date(2025, 3, 11)))["week1"][0] == "overdue"
    assert _status(followups(sessions, 5, ["baseline", "week1"], date(2025, 3, 11)))["week1"][0] == "done"


def test_missed_session_moves_the_week_rating():
    sessions = mark_missed(schedule_sessions(START, 15, 5, ClinicCalendar()), 2, ClinicCalendar(), 5)
    items = _status(followups(sessions, 5, [], START))
    assert items["week1"][1] == 6 and items["week3"][1] == 16
