"""Calendar rules: clinic days, scheduling, missed sessions, pause/resume, week closings."""

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from navsvc.course.calendar import (DELIVERED_STATES, OCCUPYING_STATES, SESSION_STATES, as_given, mark_missed,
                                    relayout_planned, schedule_sessions, treatment_order)
from navsvc.course.clinic_days import ClinicCalendar
from navsvc.course.followup import week_closing_sessions
from navsvc.course.pause import resume_course, sessions_on_hold
from navsvc.course.due import daily_cap_block_reason, delivery_block_reason, interval_block_reason
from navsvc.errors import InputError

WEEKDAYS = ClinicCalendar()
FRIDAY = date(2025, 3, 7)


def _dates(sessions):
    return [s.date for s in sessions]


def test_default_course_from_monday_is_three_working_weeks():
    sessions = schedule_sessions(date(2025, 3, 3), 15, 5, WEEKDAYS)
    assert [s.index for s in sessions] == list(range(1, 16))
    assert all(s.date.weekday() < 5 for s in sessions)
    assert sessions[-1].date == date(2025, 3, 21)
    assert all(s.state == "planned" for s in sessions)


def test_course_starting_on_a_friday_skips_the_weekend():
    sessions = schedule_sessions(FRIDAY, 15, 5, WEEKDAYS)
    assert sessions[0].date == FRIDAY
    assert sessions[1].date == date(2025, 3, 10)  # Monday
    assert not any(d.weekday() >= 5 for d in _dates(sessions))
    # 1 + 5 + 5 + 4 sessions: ends on the Thursday of the fourth calendar week
    assert sessions[-1].date == date(2025, 3, 27)
    # treatment weeks count sessions, not calendar weeks
    assert week_closing_sessions(sessions, 5) == {1: 5, 2: 10, 3: 15}
    assert sessions[4].date == date(2025, 3, 13)


def test_start_on_a_saturday_moves_to_monday():
    sessions = schedule_sessions(date(2025, 3, 8), 3, 5, WEEKDAYS)
    assert _dates(sessions) == [date(2025, 3, 10), date(2025, 3, 11), date(2025, 3, 12)]


def test_course_crossing_a_closure_extends_by_one_day():
    closed = date(2025, 3, 12)  # a Wednesday holiday
    calendar = ClinicCalendar(closures=frozenset({closed}))
    sessions = schedule_sessions(date(2025, 3, 3), 15, 5, calendar)
    assert closed not in _dates(sessions)
    assert len(sessions) == 15
    assert sessions[-1].date == date(2025, 3, 24)
    assert len(set(_dates(sessions))) == 15


def test_per_week_limit_with_a_six_day_clinic():
    calendar = ClinicCalendar(working_weekdays=frozenset(range(6)))
    sessions = schedule_sessions(date(2025, 3, 3), 10, 5, calendar)
    assert date(2025, 3, 8) not in _dates(sessions)  # Saturday unused: week already has 5
    assert sessions[5].date == date(2025, 3, 10)


def test_calendar_validation():
    with pytest.raises(InputError, match="at least one working weekday"):
        ClinicCalendar(working_weekdays=frozenset())
    with pytest.raises(InputError, match="0 \\(Monday\\) to 6"):
        ClinicCalendar(working_weekdays=frozenset({7}))
    with pytest.raises(InputError):
        schedule_sessions(FRIDAY, 0, 5, WEEKDAYS)
    with pytest.raises(InputError, match="min_interval"):
        schedule_sessions(FRIDAY, 10, 50, WEEKDAYS, sessions_per_day=10)


def test_accelerated_day_slots_and_interval():
    sessions = schedule_sessions(date(2025, 3, 3), 50, 50, WEEKDAYS, 10, 50)
    assert sessions[-1].date == date(2025, 3, 7)
    day1 = [s for s in sessions if s.date == date(2025, 3, 3)]
    assert [s.slot for s in day1] == list(range(10))
    assert day1[-1].offset_minutes == 450
    assert week_closing_sessions(sessions, 50) == {1: 50}


def test_missed_session_is_kept_and_replaced_at_the_end():
    sessions = schedule_sessions(date(2025, 3, 3), 15, 5, WEEKDAYS)
    after = mark_missed(sessions, 3, WEEKDAYS, 5)
    assert len(after) == 16
    missed = after[2]
    assert missed.state == "missed" and missed.date == date(2025, 3, 5)
    replacement = after[-1]
    assert replacement.index == 16 and replacement.replaces_index == 3
    assert replacement.date == date(2025, 3, 24)  # next free clinic day: course extends
    assert replacement.state == "planned"
    assert len(treatment_order(after)) == 15  # nothing dropped
    # week 1 now closes with the session that was number 6
    assert week_closing_sessions(after, 5) == {1: 6, 2: 11, 3: 16}


def test_missing_twice_and_not_before():
    sessions = schedule_sessions(date(2025, 3, 3), 5, 5, WEEKDAYS)
    after = mark_missed(sessions, 5, WEEKDAYS, 5, not_before=date(2025, 3, 12))
    assert after[-1].date == date(2025, 3, 12)
    after = mark_missed(after, 6, WEEKDAYS, 5)
    assert [s.state for s in after].count("missed") == 2
    assert after[-1].index == 7 and after[-1].replaces_index == 6
    assert after[-1].date == date(2025, 3, 13)
    with pytest.raises(InputError, match="only a planned session"):
        mark_missed(after, 5, WEEKDAYS, 5)
    with pytest.raises(InputError, match="no session 99"):
        mark_missed(after, 99, WEEKDAYS, 5)


def test_missed_accelerated_session_takes_a_free_slot_next_day():
    sessions = schedule_sessions(date(2025, 3, 3), 12, 50, WEEKDAYS, 10, 50)
    after = mark_missed(sessions, 2, WEEKDAYS, 50, 10, 50)
    replacement = after[-1]
    assert replacement.date == date(2025, 3, 4)
    assert replacement.slot == 2 and replacement.offset_minutes == 100


def test_pause_and_resume_moves_held_sessions_in_order():
    sessions = schedule_sessions(date(2025, 3, 3), 15, 5, WEEKDAYS)
    done = [s if s.index > 4 else replace(s, state="done") for s in sessions]
    paused_from = date(2025, 3, 7)  # Friday of week 1: session 5 onwards held
    held = sessions_on_hold(done, paused_from)
    assert [s.index for s in held] == list(range(5, 16))
    resumed = resume_course(done, paused_from, date(2025, 3, 19), WEEKDAYS, 5)
    assert [s.index for s in resumed] == list(range(1, 16))
    assert [s.date for s in resumed[:4]] == _dates(sessions[:4])
    assert resumed[4].date == date(2025, 3, 19)
    assert resumed[-1].date == date(2025, 4, 2)
    assert all(a.date < b.date for a, b in zip(resumed, resumed[1:]))
    with pytest.raises(InputError, match="cannot resume earlier"):
        resume_course(done, paused_from, date(2025, 3, 6), WEEKDAYS, 5)


def test_relayout_after_a_new_closure_respects_the_week_limit():
    sessions = schedule_sessions(date(2025, 3, 3), 10, 5, WEEKDAYS)
    calendar = ClinicCalendar(closures=frozenset({date(2025, 3, 11)}))
    moved = relayout_planned(sessions, date(2025, 3, 10), date(2025, 3, 10), calendar, 5)
    assert date(2025, 3, 11) not in _dates(moved)
    assert moved[-1].date == date(2025, 3, 17)


def test_delivery_due_rules():
    sessions = schedule_sessions(date(2025, 3, 3), 3, 5, WEEKDAYS)
    assert delivery_block_reason(sessions, 1, date(2025, 3, 3)) is None
    assert "session 1" in delivery_block_reason(sessions, 2, date(2025, 3, 4))
    done = [replace(s, state="done") if s.index == 1 else s for s in sessions]
    assert "already logged" in delivery_block_reason(done, 1, date(2025, 3, 3))
    assert delivery_block_reason(done, 2, date(2025, 3, 5)) is None  # late logging is allowed
    # early: the scheduled day does not bound the day it was given (a closure entered
    # after it was given moves it); the course's start date does
    assert delivery_block_reason(done, 2, date(2025, 3, 3), date(2025, 3, 3)) is None
    assert ("session 1 cannot have been given on 2025-03-02: the course starts on 2025-03-03"
            in delivery_block_reason(sessions, 1, date(2025, 3, 2), date(2025, 3, 3)))
    missed = mark_missed(done, 2, WEEKDAYS, 5)
    assert "marked missed" in delivery_block_reason(missed, 2, date(2025, 3, 4))
    assert delivery_block_reason(missed, 3, date(2025, 3, 5)) is None


def test_interval_rule():
    first = datetime(2025, 3, 3, 9, 0)
    assert interval_block_reason(None, first, 50) is None
    too_soon = interval_block_reason(first, first + timedelta(minutes=30), 50)
    assert "needs at least 50 min" in too_soon
    assert interval_block_reason(first, first + timedelta(minutes=50), 50) is None
    assert interval_block_reason(first, first + timedelta(minutes=1), None) is None


def test_daily_cap_rule():
    monday, tuesday = date(2025, 3, 10), date(2025, 3, 11)
    assert daily_cap_block_reason([], monday, 1) is None
    assert daily_cap_block_reason([date(2025, 3, 7), tuesday], monday, 1) is None
    assert "allows 1 a day" in daily_cap_block_reason([monday], monday, 1)
    assert daily_cap_block_reason([monday] * 9, monday, 10) is None  # accelerated: 10 a day
    assert "10 sessions already given" in daily_cap_block_reason([monday] * 10, monday, 10)


MONDAY = date(2025, 3, 3)


def test_boundaries_of_the_calendar_and_the_rules_are_accepted():
    sunday_clinic = ClinicCalendar(working_weekdays=frozenset({6}))
    assert _dates(schedule_sessions(MONDAY, 1, 5, sunday_clinic)) == [date(2025, 3, 9)]
    weekly = schedule_sessions(MONDAY, 3, 1, WEEKDAYS)  # one session a week
    assert _dates(weekly) == [MONDAY, date(2025, 3, 10), date(2025, 3, 17)]
    assert _dates(schedule_sessions(MONDAY, 1, 5, WEEKDAYS)) == [MONDAY]
    twice_a_day = schedule_sessions(MONDAY, 2, 10, WEEKDAYS, sessions_per_day=2, min_interval_minutes=1)
    assert [(s.date, s.slot, s.offset_minutes) for s in twice_a_day] == [(MONDAY, 0, 0), (MONDAY, 1, 1)]


@pytest.mark.parametrize("rules, message", [
    ({"per_week": 0}, "sessions per week must be at least 1; got 0"),
    ({"sessions_per_day": 2}, "more than one session a day needs a positive min_interval_minutes"),
    ({"sessions_per_day": 2, "min_interval_minutes": 0}, "positive min_interval_minutes")])
def test_rules_below_their_bounds_are_refused(rules, message):
    with pytest.raises(InputError, match=message):
        schedule_sessions(MONDAY, 15, **{"per_week": 5, "calendar": WEEKDAYS, **rules})


def test_a_calendar_without_room_for_every_session_refuses_the_course():
    # one Monday a week, each closed for ten years: no session may be left out silently
    closed = ClinicCalendar(working_weekdays=frozenset({0}),
                            closures=frozenset(MONDAY + timedelta(weeks=w) for w in range(1, 600)))
    with pytest.raises(InputError, match="no free clinic day within ten years"):
        schedule_sessions(MONDAY, 2, 5, closed)


def test_a_session_already_given_on_the_pause_day_is_not_held():
    sessions = schedule_sessions(MONDAY, 15, 5, WEEKDAYS)
    done = [replace(s, state="done") if s.index <= 5 else s for s in sessions]
    held = sessions_on_hold(done, FRIDAY)  # paused on Friday after its session was given
    assert [s.index for s in held] == list(range(6, 16))
    assert resume_course(done, FRIDAY, FRIDAY, WEEKDAYS, 5)[5].date == date(2025, 3, 10)


def test_sessions_given_on_the_same_day_take_its_slots_in_treatment_order():
    sessions = schedule_sessions(MONDAY, 5, 5, WEEKDAYS)
    done = [replace(s, state="done") if s.index <= 4 else s for s in sessions]
    wednesday = date(2025, 3, 5)
    given = as_given(done, {1: MONDAY, 2: wednesday, 3: wednesday, 4: wednesday})
    assert [(s.index, s.date, s.slot) for s in given] == [
        (1, MONDAY, 0), (2, wednesday, 0), (3, wednesday, 1), (4, wednesday, 2), (5, FRIDAY, 0)]


def test_states_that_hold_a_place_and_that_were_delivered_are_session_states():
    assert SESSION_STATES == ("planned", "done", "incomplete", "missed", "cancelled")
    assert DELIVERED_STATES < OCCUPYING_STATES < set(SESSION_STATES)
    assert OCCUPYING_STATES - DELIVERED_STATES == {"planned"}


def test_an_incomplete_session_is_a_treatment_given_and_holds_its_place():
    # fewer pulses than the protocol's: still a treatment the patient had, on the day given
    sessions = schedule_sessions(MONDAY, 5, 5, WEEKDAYS)
    states = ["done", "incomplete", "missed", "cancelled", "planned"]
    mixed = [replace(s, state=state) for s, state in zip(sessions, states)]
    assert [s.index for s in treatment_order(mixed)] == [1, 2, 5]
    wednesday = date(2025, 3, 5)
    given = as_given(mixed, {1: wednesday, 2: wednesday, 5: wednesday})
    assert [(s.date, s.slot) for s in given] == [
        (wednesday, 0), (wednesday, 1), (date(2025, 3, 5), 0), (date(2025, 3, 6), 0), (FRIDAY, 0)]
    assert given[4] == mixed[4]  # a planned session has no day it was given: it stays put


def test_a_replacement_on_a_day_holding_one_session_takes_the_next_slot():
    # 11 sessions at 10 a day: Tuesday holds session 11 alone, in slot 0
    sessions = schedule_sessions(MONDAY, 11, 50, WEEKDAYS, 10, 50)
    replacement = mark_missed(sessions, 1, WEEKDAYS, 50, 10, 50)[-1]
    assert (replacement.date, replacement.slot, replacement.offset_minutes) == (date(2025, 3, 4), 1, 50)


def test_once_a_day_sessions_start_at_no_offset_even_after_a_missed_one_that_day():
    # session 2 missed on Tuesday; resumed from that Tuesday, session 3 takes the day after
    # the missed session's slot, and a once-a-day protocol has no minimum interval
    sessions = mark_missed(schedule_sessions(MONDAY, 3, 5, WEEKDAYS), 2, WEEKDAYS, 5)
    tuesday = date(2025, 3, 4)
    moved = relayout_planned(sessions, tuesday, tuesday, WEEKDAYS, 5)
    assert [(s.index, s.state, s.date, s.slot, s.offset_minutes) for s in moved] == [
        (1, "planned", MONDAY, 0, 0), (2, "missed", tuesday, 0, 0), (3, "planned", tuesday, 1, 0),
        (4, "planned", date(2025, 3, 5), 0, 0)]


@pytest.mark.parametrize("call, message", [
    (lambda: ClinicCalendar(working_weekdays=frozenset()), "a clinic calendar needs at least one working weekday"),
    (lambda: ClinicCalendar(working_weekdays=frozenset({0, 7, -1})),
     "working weekdays are numbers 0 (Monday) to 6 (Sunday); got [-1, 7]"),
    (lambda: schedule_sessions(MONDAY, 0, 5, WEEKDAYS), "a course needs at least one session; got 0"),
    (lambda: schedule_sessions(MONDAY, 5, 5, WEEKDAYS, sessions_per_day=0),
     "sessions per day must be at least 1; got 0"),
    (lambda: mark_missed(schedule_sessions(MONDAY, 2, 5, WEEKDAYS), 3, WEEKDAYS, 5), "the course has no session 3"),
    (lambda: mark_missed([replace(s, state="done") for s in schedule_sessions(MONDAY, 2, 5, WEEKDAYS)], 1,
                         WEEKDAYS, 5), "session 1 is done; only a planned session can be missed"),
    (lambda: relayout_planned(schedule_sessions(MONDAY, 2, 5, WEEKDAYS), FRIDAY, MONDAY, WEEKDAYS, 5),
     "cannot move sessions from 2025-03-07 back to 2025-03-03"),
    (lambda: schedule_sessions(MONDAY, 2, 5, ClinicCalendar(
        working_weekdays=frozenset({0}), closures=frozenset(MONDAY + timedelta(weeks=w) for w in range(1, 600)))),
     "the clinic calendar has no free clinic day within ten years after 2025-03-03"),
])
def test_each_refusal_of_the_schedule_says_in_full_what_is_wrong(call, message):
    with pytest.raises(InputError) as err:
        call()
    assert str(err.value) == message


def test_each_reason_a_delivery_cannot_be_logged_is_said_in_full():
    sessions = schedule_sessions(MONDAY, 3, 5, WEEKDAYS)
    states = {1: "done", 2: "cancelled", 3: "planned"}
    course = [replace(s, state=states[s.index]) for s in sessions]
    tuesday = date(2025, 3, 4)
    assert delivery_block_reason(course, 1, tuesday) == "session 1 is already logged (done); a second log is refused"
    # a stopped course's sessions are cancelled: none of them is given any more
    assert delivery_block_reason(course, 2, tuesday) == "session 2 was cancelled"
    assert delivery_block_reason(mark_missed(sessions, 1, WEEKDAYS, 5), 1, tuesday) == (
        "session 1 was marked missed; log its replacement instead")
    assert delivery_block_reason(sessions, 3, tuesday) == (
        "session 1 (scheduled 2025-03-03) comes first: log it or mark it missed")
    assert daily_cap_block_reason([MONDAY], MONDAY, 1) == (
        "1 session already given on 2025-03-03; this protocol allows 1 a day: give this one on another day, "
        "or mark it missed")
    assert daily_cap_block_reason([MONDAY] * 2, MONDAY, 2).startswith("2 sessions already given on 2025-03-03;")


def test_a_session_logged_at_the_same_instant_as_the_last_one_is_refused():
    at = datetime(2025, 3, 3, 9, 0)
    message = ("the course's last logged session was given at 2025-03-03T09:00:00; this one, at "
               "2025-03-03T09:00:00, cannot have been given before it: check performed_at")
    assert interval_block_reason(at, at, None) == message
    assert interval_block_reason(at, at - timedelta(seconds=1), 60).startswith("the course's last logged session")
    assert interval_block_reason(at, at + timedelta(minutes=30), 50) == (
        "only 30 min since the previous session; this protocol needs at least 50 min from the start of one "
        "session to the start of the next")


def test_a_calendar_given_lists_keeps_sets_and_can_be_compared_and_hashed():
    # the API builds calendars from JSON lists; a calendar is a value (compared, cached)
    listed = ClinicCalendar(working_weekdays=[0, 2, 4], closures=[date(2025, 3, 5), date(2025, 3, 5)])
    assert listed.working_weekdays == frozenset({0, 2, 4}) and listed.closures == frozenset({date(2025, 3, 5)})
    assert listed == ClinicCalendar(frozenset({0, 2, 4}), frozenset({date(2025, 3, 5)}))
    assert hash(listed) == hash(ClinicCalendar(frozenset({4, 2, 0}), frozenset({date(2025, 3, 5)})))
    assert not listed.is_clinic_day(date(2025, 3, 5)) and listed.is_clinic_day(date(2025, 3, 3))
