"""HAMD-17 due and overdue timepoints."""

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from navsvc.course.calendar import mark_missed, schedule_sessions
from navsvc.course.clinic_days import ClinicCalendar
from navsvc.course.followup import (FOLLOWUP_STATUSES, followups, late_baseline_reason, week_closing_sessions,
                                   week_rating_timing_reason)
from navsvc.errors import InputError

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


def test_a_closing_session_given_late_starts_the_grace_from_its_day():
    # session 5 was scheduled on Friday 3/7 and given on Monday 3/10: week 1's rating is due
    # from 3/10, overdue after 3/13 (not after 3/10, three days from the scheduled Friday);
    # the sessions after it moved later (session 6 to Thursday 3/13)
    sessions = [replace(s, date=s.date + timedelta(days=3)) if s.index >= 6 else s
                for s in _deliver(schedule_sessions(START, 15, 5, ClinicCalendar()), 5)]
    given_on = {5: date(2025, 3, 10)}
    week1 = {f.timepoint: f for f in followups(sessions, 5, ["baseline"], date(2025, 3, 12),
                                               given_on=given_on)}["week1"]
    assert (week1.status, week1.due_on) == ("due", date(2025, 3, 10))
    assert _status(followups(sessions, 5, ["baseline"], date(2025, 3, 14), given_on=given_on))["week1"][0] == "overdue"


def test_a_week_rating_is_overdue_on_the_next_sessions_day_and_missed_once_it_was_given():
    # week 1 closes on Friday 3/7 and session 6 is on Monday 3/10: the rating must come before
    # it. It stayed "due" on 3/10 (three days' grace), and still "due" after session 6 was
    # given, when it could no longer be taken as the week's rating.
    sessions = schedule_sessions(START, 15, 5, ClinicCalendar())
    assert _status(followups(_deliver(sessions, 5), 5, ["baseline"], date(2025, 3, 9)))["week1"][0] == "due"
    assert _status(followups(_deliver(sessions, 5), 5, ["baseline"], date(2025, 3, 10)))["week1"][0] == "overdue"
    after_six = _status(followups(_deliver(sessions, 6), 5, ["baseline"], date(2025, 3, 10)))
    assert after_six["week1"] == ("missed", 5) and after_six["week2"][0] == "upcoming"
    assert _status(followups(_deliver(sessions, 6), 5, ["baseline", "week1"], date(2025, 3, 10)))["week1"][0] == "done"
    recorded = followups(_deliver(sessions, 6), 5, ["baseline"], date(2025, 3, 10), not_obtained=["week1"])
    assert _status(recorded)["week1"][0] == "not_obtained"
    # the last week has no next session: it is never missed, only overdue after the grace days
    last = _status(followups(_deliver(sessions, 15), 5, ["baseline", "week1", "week2"], date(2025, 3, 28)))
    assert last["week3"][0] == "overdue"


def _at(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}:00+00:00")


def test_a_week_rating_is_taken_after_the_weeks_last_session_and_before_the_next():
    sessions = schedule_sessions(START, 15, 5, ClinicCalendar())
    items = {f.timepoint: f for f in followups(sessions, 5, [], START)}
    planned = week_rating_timing_reason(items["week1"], _at("2025-03-07", "15:00"), None, None)
    assert "which is not logged yet" in planned
    given = {f.timepoint: f for f in followups(_deliver(sessions, 5), 5, [], START,
                                               given_on={5: date(2025, 3, 10)})}
    closing = _at("2025-03-10", "09:30")
    reason = week_rating_timing_reason(given["week1"], _at("2025-03-07", "15:00"), closing, None)
    assert reason.startswith("rated_at: treatment week 1 ends with session 5, given at 2025-03-10T09:30+00:00; "
                             "a week1 rating taken at 2025-03-07T15:00+00:00 comes before it: check the time. ")
    assert "'extra': an additional rating that does not count as the week's, which stays due" in reason
    # the same morning, before the session: still before the week ended
    assert week_rating_timing_reason(given["week1"], _at("2025-03-10", "08:00"), closing, None) is not None
    assert week_rating_timing_reason(given["week1"], _at("2025-03-10", "15:00"), closing, None) is None
    # after the next session, it measures six sessions, not week 1's five
    late = week_rating_timing_reason(given["week1"], _at("2025-03-11", "15:00"), closing, _at("2025-03-11", "09:30"))
    assert "a session was given at 2025-03-11T09:30+00:00, after session 5 closed treatment week 1" in late
    assert week_rating_timing_reason(given["week1"], _at("2025-03-11", "09:00"), closing,
                                     _at("2025-03-11", "09:30")) is None
    assert week_rating_timing_reason(items["baseline"], _at("2025-01-01", "09:00"), None, None) is None


def test_a_baseline_is_taken_before_the_first_session():
    first = _at("2025-03-03", "09:30")
    assert late_baseline_reason(None, _at("2025-03-20", "09:00")) is None
    assert late_baseline_reason(first, _at("2025-03-03", "08:00")) is None
    # the afternoon of the first session is after it
    assert ("first session was given at 2025-03-03T09:30+00:00, before this rating (2025-03-03T15:00+00:00)"
            in late_baseline_reason(first, _at("2025-03-03", "15:00")))


def test_a_timepoint_recorded_not_obtained_is_no_longer_due_unless_rated_after_all():
    sessions = _deliver(schedule_sessions(START, 15, 5, ClinicCalendar()), 5)
    items = _status(followups(sessions, 5, [], date(2025, 3, 20), not_obtained=["baseline", "week1"]))
    assert items["baseline"] == ("not_obtained", None) and items["week1"] == ("not_obtained", 5)
    assert items["week2"][0] == "upcoming"
    items = _status(followups(sessions, 5, ["week1"], date(2025, 3, 20), not_obtained=["week1"]))
    assert items["week1"][0] == "done" and items["baseline"][0] == "overdue"


def test_a_baseline_is_not_overdue_while_a_pause_holds_the_first_session():
    sessions = schedule_sessions(START, 15, 5, ClinicCalendar())
    held = _status(followups(sessions, 5, [], date(2025, 3, 12), held_from=START))
    assert held["baseline"][0] == "due"
    later_pause = _status(followups(sessions, 5, [], date(2025, 3, 12), held_from=date(2025, 3, 5)))
    assert later_pause["baseline"][0] == "overdue"  # session 1 was not held: it should have been given
    given = _status(followups(_deliver(sessions, 1), 5, [], date(2025, 3, 12), held_from=START))
    assert given["baseline"][0] == "overdue"


def test_the_baseline_is_due_on_the_first_sessions_day_until_it_is_given():
    sessions = schedule_sessions(START, 15, 5, ClinicCalendar())
    assert _status(followups(sessions, 5, [], START))["baseline"][0] == "due"
    assert _status(followups(_deliver(sessions, 1), 5, [], START))["baseline"][0] == "overdue"


def test_a_week_rating_is_due_through_the_last_day_of_its_grace():
    # session 5 given on Monday 3/10, the next one a week later (3/17): the default grace of
    # 3 days ends on 3/13; the rating is overdue on 3/14
    sessions = [replace(s, date=s.date + timedelta(days=10)) if s.index >= 6 else s
                for s in _deliver(schedule_sessions(START, 15, 5, ClinicCalendar()), 5)]
    given_on = {5: date(2025, 3, 10)}
    statuses = [_status(followups(sessions, 5, ["baseline"], day, given_on=given_on))["week1"][0]
                for day in (date(2025, 3, 13), date(2025, 3, 14))]
    assert statuses == ["due", "overdue"]


def test_a_course_with_no_treatment_left_has_its_baseline_due_and_no_week():
    # every session cancelled (a stopped course) or missed: the baseline has no day, no week closes
    sessions = schedule_sessions(START, 3, 5, ClinicCalendar())
    stopped = [replace(s, state="cancelled") for s in sessions]
    assert [(f.timepoint, f.after_session_index, f.due_on, f.status) for f in followups(stopped, 5, [], START)] == [
        ("baseline", None, None, "due")]


def test_every_status_a_timepoint_can_take_is_one_the_api_declares():
    assert FOLLOWUP_STATUSES == ("done", "due", "overdue", "missed", "upcoming", "not_obtained")
    sessions = _deliver(schedule_sessions(START, 15, 5, ClinicCalendar()), 11)
    seen = {f.status for today in (date(2025, 3, 1), date(2025, 3, 20))
            for rated in ([], ["baseline"]) for f in followups(sessions, 5, rated, today, not_obtained=["week2"])}
    assert seen == {"done", "overdue", "missed", "upcoming", "not_obtained"} and seen <= set(FOLLOWUP_STATUSES)


def test_ratings_at_the_same_minute_as_a_session_that_must_not_come_before_them_are_kept():
    # "not after" the first session (baseline) and "not after" the next session (a week's)
    first = _at("2025-03-03", "09:30")
    assert late_baseline_reason(first, first) is None
    sessions = _deliver(schedule_sessions(START, 15, 5, ClinicCalendar()), 6)
    week1 = next(f for f in followups(sessions, 5, ["baseline"], START) if f.timepoint == "week1")
    closing, following = _at("2025-03-07", "09:30"), _at("2025-03-10", "09:30")
    assert week_rating_timing_reason(week1, following, closing, following) is None


def test_a_week_rating_before_its_closing_session_is_logged_is_refused_in_full():
    sessions = schedule_sessions(START, 15, 5, ClinicCalendar())
    week2 = next(f for f in followups(sessions, 5, [], START) if f.timepoint == "week2")
    assert week_rating_timing_reason(week2, _at("2025-03-14", "15:00"), None, None) == (
        "timepoint: treatment week 2 ends with session 10 (scheduled 2025-03-14), which is not logged yet: "
        "log session 10 first, dated when it was given (today is accepted even if it is scheduled later), "
        "then record the week2 rating. A rating taken before the week ended can be kept with timepoint "
        "'extra': an additional rating that does not count as the week's, which stays due")


def test_one_session_a_week_closes_a_treatment_week_with_each_session():
    sessions = schedule_sessions(START, 3, 1, ClinicCalendar())
    assert week_closing_sessions(sessions, 1) == {1: 1, 2: 2, 3: 3}
    with pytest.raises(InputError) as err:
        week_closing_sessions(sessions, 0)
    assert str(err.value) == "sessions per week must be at least 1; got 0"
