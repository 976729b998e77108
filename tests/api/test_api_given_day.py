"""A session is logged on the day it was given, whatever day it is scheduled on.

A closure entered at noon moves the morning's session that was given but not yet logged; a
pause or stop entered at noon comes after the morning's session; a session given late pushes
the ones after it. In each case the treatment the patient had must be recordable, and the
day's list must name the session the delivery endpoint accepts that day.
"""

from __future__ import annotations

from datetime import date

import pytest
from api_test_fakes import plan_dict
from api_test_helpers import insert_plan
from course_helpers import approve, clear_screening, delivery, fix_now, fix_today, new_course, rate, sessions

from api.course_service import course_holds
from api.models_course import Course

WEEK1 = ["2025-03-03", "2025-03-04", "2025-03-05", "2025-03-06"]


@pytest.fixture
def calendar(client, auth) -> dict:
    """A Monday-Friday clinic calendar without closures."""
    response = client.post("/api/v1/calendars", headers=auth["admin"],
                           json={"name": "main", "working_weekdays": [0, 1, 2, 3, 4]})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def course(client, auth, app, image, calendar) -> dict:
    """A screened standard course (one session a day, 5 a week) from Monday 2025-03-03 on
    ``calendar``, with its baseline rated."""
    plan_id = insert_plan(app, image["id"], plan_dict())
    approve(client, auth, plan_id)
    fix_today(app, date(2025, 3, 1))
    created = new_course(client, auth, image["patient_id"], plan_id, calendar_id=calendar["id"])
    clear_screening(client, auth, created["id"])
    assert rate(client, auth, created["id"], "baseline", "2025-03-01").status_code == 201
    return created


def _log(client, auth, session: dict, body: dict):
    return client.post(f"/api/v1/sessions/{session['id']}/delivery", headers=auth["technician"], json=body)


def _log_week1_but_friday(client, auth, app, course, count: int = len(WEEK1)) -> list[dict]:
    """Log the first ``count`` sessions on their days (Monday on); return the sessions."""
    items = sessions(client, auth, course["id"])["items"]
    for item, day in zip(items[:count], WEEK1):
        fix_today(app, date.fromisoformat(day))
        assert _log(client, auth, item, delivery(day)).status_code == 201
    return items


def _close(client, auth, calendar, days: list[str]) -> dict:
    response = client.patch(f"/api/v1/calendars/{calendar['id']}", headers=auth["clinician"],
                            json={"closures": days})
    assert response.status_code == 200, response.text
    return response.json()


def _listed(client, auth, course, day: str) -> list[int]:
    schedule = client.get(f"/api/v1/schedule?date={day}", headers=auth["technician"]).json()
    return [i["index"] for i in schedule["items"] if i["course_id"] == course["id"] and i["state"] == "planned"]


def test_a_session_given_before_a_closure_entered_that_day_is_logged_on_that_day(
        client, auth, app, course, calendar):
    _log_week1_but_friday(client, auth, app, course)
    # Friday: session 5 given at 09:30; the clinic closes at noon, before it is logged
    fix_today(app, date(2025, 3, 7))
    assert _close(client, auth, calendar, ["2025-03-07"])["moved_sessions"] == 11
    fifth = sessions(client, auth, course["id"])["items"][4]
    assert fifth["date"] == "2025-03-10"
    refused = rate(client, auth, course["id"], "week1", "2025-03-07")
    assert refused.status_code == 422 and "log session 5 first" in refused.json()["detail"]
    response = _log(client, auth, fifth, delivery("2025-03-07"))
    assert response.status_code == 201, response.text
    assert rate(client, auth, course["id"], "week1", "2025-03-07").status_code == 201
    # the course follows from the day it was given: session 6 back on Monday, loggable then
    after = sessions(client, auth, course["id"])["items"]
    assert after[4]["date"] == "2025-03-10" and after[4]["state"] == "done"  # kept as scheduled
    assert [s["date"] for s in after[5:7]] == ["2025-03-10", "2025-03-11"]
    assert _listed(client, auth, course, "2025-03-10") == [6]
    # the day lists show session 5 on Friday, when it was given, not on Monday
    friday = client.get("/api/v1/schedule?date=2025-03-07", headers=auth["technician"]).json()["items"]
    assert [(i["index"], i["state"], i["scheduled_date"]) for i in friday] == [(5, "done", "2025-03-10")]
    monday = client.get("/api/v1/schedule?date=2025-03-10", headers=auth["technician"]).json()["items"]
    assert [(i["index"], i["state"]) for i in monday] == [(6, "planned")]
    fix_today(app, date(2025, 3, 10))
    assert _log(client, auth, after[5], delivery("2025-03-10")).status_code == 201


def test_a_session_logged_early_in_a_paused_course_leaves_its_place_empty(client, auth, app, course, calendar):
    _log_week1_but_friday(client, auth, app, course)
    # Friday: session 5 given at 09:30; the clinic closes at noon (session 5 moves to
    # Monday, 6 to Tuesday), then the course is paused from Tuesday
    fix_today(app, date(2025, 3, 7))
    _close(client, auth, calendar, ["2025-03-07"])
    fix_now(app, "2025-03-07T12:30:00+00:00")
    assert client.post(f"/api/v1/courses/{course['id']}/pause", headers=auth["clinician"],
                       json={"from_date": "2025-03-11"}).status_code == 200
    fifth = sessions(client, auth, course["id"])["items"][4]
    assert _log(client, auth, fifth, delivery("2025-03-07")).status_code == 201
    # Monday's place stays empty: session 6, held from Tuesday, does not leave the pause
    assert sessions(client, auth, course["id"])["items"][5]["date"] == "2025-03-11"
    assert _listed(client, auth, course, "2025-03-10") == []


def test_a_session_moved_by_a_closure_undone_is_logged_on_its_day(client, auth, app, course, calendar):
    fix_today(app, date(2025, 3, 3))
    _close(client, auth, calendar, ["2025-03-03"])
    _close(client, auth, calendar, [])
    first = sessions(client, auth, course["id"])["items"][0]
    assert first["date"] == "2025-03-04"
    assert _log(client, auth, first, delivery("2025-03-03")).status_code == 201
    assert _listed(client, auth, course, "2025-03-04") == [2]


def test_an_early_log_keeps_the_order_the_start_date_and_the_daily_cap(client, auth, app, course, calendar):
    fix_today(app, date(2025, 3, 3))
    _close(client, auth, calendar, ["2025-03-03"])
    first, second = sessions(client, auth, course["id"])["items"][:2]
    response = _log(client, auth, first, delivery("2025-03-02"))
    assert response.status_code == 409
    assert "cannot have been given on 2025-03-02: the course starts on 2025-03-03" in response.json()["detail"]
    response = _log(client, auth, second, delivery("2025-03-03"))
    assert response.status_code == 409 and "session 1 (scheduled 2025-03-04) comes first" in response.json()["detail"]
    assert _log(client, auth, first, delivery("2025-03-03")).status_code == 201
    response = _log(client, auth, second, {**delivery("2025-03-03"), "performed_at": "2025-03-03T15:00:00Z"})
    assert response.status_code == 409 and "allows 1 a day" in response.json()["detail"]
    response = _log(client, auth, second, delivery("2099-03-03"))
    assert response.status_code == 422 and "future" in response.json()["detail"]


def test_after_late_logs_each_day_lists_the_session_the_delivery_endpoint_takes(client, auth, app, course):
    items = _log_week1_but_friday(client, auth, app, course)
    # Friday's session given on Monday, Monday's on Tuesday: each pushes the ones after it
    fix_today(app, date(2025, 3, 10))
    assert _log(client, auth, items[4], delivery("2025-03-10")).status_code == 201
    fix_today(app, date(2025, 3, 11))
    assert _log(client, auth, items[5], delivery("2025-03-11")).status_code == 201
    for day in ("2025-03-12", "2025-03-13", "2025-03-14", "2025-03-17"):
        fix_today(app, date.fromisoformat(day))
        listed = _listed(client, auth, course, day)
        assert len(listed) == 1, (day, listed)
        session = next(s for s in sessions(client, auth, course["id"])["items"] if s["index"] == listed[0])
        response = _log(client, auth, session, delivery(day))
        assert response.status_code == 201, (day, response.text)
    dates = [s["date"] for s in sessions(client, auth, course["id"])["items"]]
    assert dates[4:6] == ["2025-03-07", "2025-03-11"]  # 5 keeps its day; 6 was moved to where it was given
    assert dates[-1] == "2025-03-24"  # the course is one clinic day longer


def test_a_session_given_before_the_pause_was_entered_is_logged(client, auth, app, course):
    items = _log_week1_but_friday(client, auth, app, course)
    # Friday: session 5 given at 09:30; at 12:00 a severe headache, the course is paused
    fix_today(app, date(2025, 3, 7))
    fix_now(app, "2025-03-07T12:00:00+00:00")
    paused = client.post(f"/api/v1/courses/{course['id']}/pause", headers=auth["clinician"],
                         json={"note": "severe headache"})
    assert paused.status_code == 200
    response = _log(client, auth, items[4], {**delivery("2025-03-07"), "performed_at": "2025-03-07T12:00:00Z"})
    assert response.status_code == 409 and "paused since 2025-03-07; resume it first" in response.json()["detail"]
    response = _log(client, auth, items[4], delivery("2025-03-07"))
    assert response.status_code == 201, response.text
    day = client.get("/api/v1/schedule?date=2025-03-07", headers=auth["technician"]).json()["items"]
    assert [(i["index"], i["state"]) for i in day if i["course_id"] == course["id"]] == [(5, "done")], \
        "a session given on a held day is listed on it"
    assert rate(client, auth, course["id"], "week1", "2025-03-07").status_code == 201
    response = _log(client, auth, items[5], {**delivery("2025-03-10"), "performed_at": "2025-03-10T09:30:00Z"})
    assert response.status_code == 409 and "paused since 2025-03-07" in response.json()["detail"]
    assert paused.json()["status_changed_at"] == "2025-03-07T12:00:00Z"


def test_a_session_given_before_the_stop_was_entered_is_logged_and_done(client, auth, app, course):
    items = _log_week1_but_friday(client, auth, app, course)
    fix_today(app, date(2025, 3, 7))
    fix_now(app, "2025-03-07T11:00:00+00:00")
    stopped = client.post(f"/api/v1/courses/{course['id']}/stop", headers=auth["clinician"],
                          json={"note": "withdrew consent"})
    assert stopped.status_code == 200
    assert sessions(client, auth, course["id"])["items"][4]["state"] == "cancelled"
    response = _log(client, auth, items[5], delivery("2025-03-07"))
    assert response.status_code == 409 and "session 5 (scheduled 2025-03-07) comes first" in response.json()["detail"]
    response = _log(client, auth, items[4], delivery("2025-03-07"))
    assert response.status_code == 201 and response.json()["session_state"] == "done"
    listing = sessions(client, auth, course["id"])
    assert [s["state"] for s in listing["items"][4:6]] == ["done", "cancelled"]
    assert {f["timepoint"]: f["after_session_index"] for f in listing["followups"]}["week1"] == 5
    response = _log(client, auth, items[5], {**delivery("2025-03-07"), "performed_at": "2025-03-07T11:30:00Z"})
    assert response.status_code == 409 and "the course is stopped; a session given after the stop cannot be logged" in response.json()["detail"]
    assert stopped.json()["status_changed_at"] == "2025-03-07T11:00:00Z"


def test_without_the_moment_of_a_pause_a_delivery_on_a_held_day_is_refused():
    # a course paused before that moment was stored: the rule stays as it was
    from datetime import datetime, timezone

    from api.models_course import CourseHold
    from api.delivery_checks import hold_block_reason

    hold = CourseHold(kind="pause", entered_at=None, from_date=date(2025, 3, 7))
    morning = datetime(2025, 3, 7, 9, 30, tzinfo=timezone.utc)
    assert "paused since 2025-03-07" in hold_block_reason([hold], morning, date(2025, 3, 7))
    assert hold_block_reason([hold], morning, date(2025, 3, 6)) is None  # before its first day
    hold.entered_at = datetime(2025, 3, 7, 12, 0, tzinfo=timezone.utc)
    assert hold_block_reason([hold], morning, date(2025, 3, 7)) is None


def test_holds_are_checked_in_any_order():
    # a pause resumed on Wednesday, then the stop on Thursday noon: a Tuesday session was
    # given during the pause whichever hold the list names first
    from datetime import datetime, timezone

    from api.delivery_checks import hold_block_reason
    from api.models_course import CourseHold

    utc = timezone.utc
    pause = CourseHold(kind="pause", entered_at=datetime(2025, 3, 4, 7, 0, tzinfo=utc), from_date=date(2025, 3, 4),
                       ended_at=datetime(2025, 3, 5, 8, 0, tzinfo=utc))
    stop = CourseHold(kind="stop", entered_at=datetime(2025, 3, 6, 12, 0, tzinfo=utc))
    tuesday = datetime(2025, 3, 4, 9, 30, tzinfo=utc)
    for holds in ([pause, stop], [stop, pause]):
        assert "given on 2025-03-04 during the pause" in hold_block_reason(holds, tuesday, date(2025, 3, 4))
        assert hold_block_reason(holds, datetime(2025, 3, 6, 9, 30, tzinfo=utc), date(2025, 3, 6)) is None
        assert "the course is stopped" in hold_block_reason(holds, datetime(2025, 3, 6, 12, 0, tzinfo=utc),
                                                            date(2025, 3, 6))
    # a pause from a later day does not hold Thursday, and does not hide the stop that does
    later_pause = CourseHold(kind="pause", entered_at=datetime(2025, 3, 3, 7, 0, tzinfo=utc),
                             from_date=date(2025, 3, 10))
    for holds in ([later_pause, stop], [stop, later_pause]):
        assert "the course is stopped" in hold_block_reason(holds, datetime(2025, 3, 6, 13, 0, tzinfo=utc),
                                                            date(2025, 3, 6))


@pytest.mark.parametrize("then", ["resume", "stop"])
def test_a_session_given_during_a_pause_stays_refused_after_a_resume_or_a_stop(client, auth, app, course, then):
    items = _log_week1_but_friday(client, auth, app, course, 2)
    fix_today(app, date(2025, 3, 5))
    fix_now(app, "2025-03-05T07:00:00+00:00")
    course_url = f"/api/v1/courses/{course['id']}"
    assert client.post(f"{course_url}/pause", headers=auth["clinician"], json={}).status_code == 200
    during = delivery("2025-03-05")  # 09:30, after the pause was entered at 07:00
    refused = _log(client, auth, items[2], during)
    assert refused.status_code == 409 and "paused since 2025-03-05" in refused.json()["detail"]
    fix_today(app, date(2025, 3, 7))
    fix_now(app, "2025-03-07T08:00:00+00:00")
    if then == "resume":
        assert client.post(f"{course_url}/resume", headers=auth["clinician"], json={}).status_code == 200
    else:
        assert client.post(f"{course_url}/stop", headers=auth["clinician"], json={"note": "x"}).status_code == 200
    item = next(s for s in sessions(client, auth, course["id"])["items"] if s["index"] == 3)
    again = _log(client, auth, item, during)
    assert again.status_code == 409, again.text
    assert "given on 2025-03-05 during the pause" in again.json()["detail"]
    if then == "resume":  # given after the resume: logged
        assert _log(client, auth, item, {**delivery("2025-03-07"), "performed_at": "2025-03-07T09:00:00Z"}).status_code == 201


def test_a_second_pause_holds_after_the_first_was_resumed(client, auth, app, course):
    # the first hold, resumed, must not end the search: the second pause still holds
    _log_week1_but_friday(client, auth, app, course, 2)
    course_url = f"/api/v1/courses/{course['id']}"
    fix_today(app, date(2025, 3, 5))
    fix_now(app, "2025-03-05T07:00:00+00:00")
    assert client.post(f"{course_url}/pause", headers=auth["clinician"], json={}).status_code == 200
    fix_today(app, date(2025, 3, 6))
    fix_now(app, "2025-03-06T08:00:00+00:00")
    assert client.post(f"{course_url}/resume", headers=auth["clinician"], json={}).status_code == 200
    third = next(s for s in sessions(client, auth, course["id"])["items"] if s["index"] == 3)
    at_the_resume = {**delivery("2025-03-06"), "performed_at": "2025-03-06T08:00:00Z"}
    assert _log(client, auth, third, at_the_resume).status_code == 201
    fix_today(app, date(2025, 3, 7))
    fix_now(app, "2025-03-07T07:00:00+00:00")
    assert client.post(f"{course_url}/pause", headers=auth["clinician"], json={}).status_code == 200
    fourth = next(s for s in sessions(client, auth, course["id"])["items"] if s["index"] == 4)
    for performed_at in ("2025-03-07T07:00:00Z", "2025-03-07T09:30:00Z"):  # at the pause's moment, after
        refused = _log(client, auth, fourth, {**delivery("2025-03-07"), "performed_at": performed_at})
        assert refused.status_code == 409 and "paused since 2025-03-07" in refused.json()["detail"]
    assert [s["state"] for s in sessions(client, auth, course["id"])["items"][:4]] == [
        "done", "done", "done", "planned"]
    fix_today(app, date(2025, 3, 10))
    fix_now(app, "2025-03-10T08:00:00+00:00")
    assert client.post(f"{course_url}/resume", headers=auth["clinician"], json={}).status_code == 200
    with app.state.db.session() as db:  # the second resume leaves the first pause's end as it was
        ends = [hold.ended_at.isoformat() for hold in course_holds(db, course["id"])]
    assert ends == ["2025-03-06T08:00:00+00:00", "2025-03-10T08:00:00+00:00"]


def test_migration_0005_enters_the_hold_of_each_paused_or_stopped_course(client, auth, app, course):
    from importlib import import_module

    from sqlalchemy import select, text

    from api.models_course import CourseHold

    backfill = import_module("api.migrations.versions.0005_course_holds")._BACKFILL
    fix_now(app, "2025-03-03T07:00:00+00:00")
    assert client.post(f"/api/v1/courses/{course['id']}/pause", headers=auth["clinician"],
                       json={"from_date": "2025-03-05"}).status_code == 200
    with app.state.db.session() as db:
        db.execute(text("DELETE FROM course_holds"))
        db.execute(text(backfill))
    with app.state.db.session() as db:
        holds = list(db.scalars(select(CourseHold)))
    assert [(h.course_id, h.kind, h.from_date, h.ended_at) for h in holds] == [
        (course["id"], "pause", date(2025, 3, 5), None)]
    assert holds[0].entered_at.isoformat() == "2025-03-03T07:00:00+00:00"


def test_migration_0004_takes_a_stored_pause_moment_from_its_audit_record(client, auth, app, course):
    from importlib import import_module

    from sqlalchemy import select, text

    from api.models import AuditEvent

    backfill = import_module("api.migrations.versions.0004_course_status_changed_at")._BACKFILL
    paused = client.post(f"/api/v1/courses/{course['id']}/pause", headers=auth["clinician"], json={})
    assert paused.status_code == 200
    with app.state.db.session() as db:
        db.execute(text("UPDATE courses SET status_changed_at = NULL"))
    with app.state.db.session() as db:
        db.execute(text(backfill))
    with app.state.db.session() as db:
        entered = db.scalar(select(Course.status_changed_at).where(Course.id == course["id"]))
        audited = db.scalar(select(AuditEvent.at).where(AuditEvent.resource_id == course["id"],
                                                        AuditEvent.route.like("%/pause")))
    assert audited is not None and entered == audited


def _planned_dates(client, auth, course) -> dict[int, str]:
    return {s["index"]: s["date"] for s in sessions(client, auth, course["id"])["items"] if s["state"] == "planned"}


def test_a_late_log_after_a_resume_keeps_the_break_the_resume_set(client, auth, app, course):
    items = _log_week1_but_friday(client, auth, app, course, 3)
    # Friday: session 4 (Thursday's) was given this morning; the patient is away next week
    fix_today(app, date(2025, 3, 7))
    fix_now(app, "2025-03-07T08:00:00+00:00")
    course_url = f"/api/v1/courses/{course['id']}"
    assert client.post(f"{course_url}/pause", headers=auth["clinician"],
                       json={"from_date": "2025-03-10"}).status_code == 200
    assert client.post(f"{course_url}/resume", headers=auth["clinician"],
                       json={"resume_on": "2025-03-17"}).status_code == 200
    assert _log(client, auth, items[3], delivery("2025-03-07")).status_code == 201
    planned = _planned_dates(client, auth, course)
    assert not [d for d in planned.values() if "2025-03-08" <= d < "2025-03-17"], planned
    # session 5 (Friday's, now a clash) takes session 6's place; the rest move along
    assert planned[5] == "2025-03-17" and planned[6] == "2025-03-18"
    assert len(planned) == 11 and len(set(planned.values())) == 11


def test_a_late_log_in_a_paused_course_leaves_the_held_sessions_held(client, auth, app, course, calendar):
    items = _log_week1_but_friday(client, auth, app, course, 2)
    fix_today(app, date(2025, 3, 5))
    fix_now(app, "2025-03-05T07:00:00+00:00")
    _close(client, auth, calendar, ["2025-03-10", "2025-03-11", "2025-03-12", "2025-03-13", "2025-03-14"])
    assert client.post(f"/api/v1/courses/{course['id']}/pause", headers=auth["clinician"],
                       json={"from_date": "2025-03-17"}).status_code == 200
    _close(client, auth, calendar, [])  # reopened: the week before the pause is free again
    held = {i for i, d in _planned_dates(client, auth, course).items() if d >= "2025-03-17"}
    fix_today(app, date(2025, 3, 6))
    assert _log(client, auth, items[2], delivery("2025-03-06")).status_code == 201  # Wednesday's, late
    planned = _planned_dates(client, auth, course)
    assert all(planned[i] >= "2025-03-17" for i in held), planned
    assert _listed(client, auth, course, "2025-03-12") == []


def test_holds_entered_before_their_moment_was_recorded_come_first_on_every_database(app, course):
    # SQLite sorts NULL first and PostgreSQL last: the first hold that matches names the refusal
    from datetime import datetime, timezone

    from api.models_course import CourseHold

    with app.state.db.session() as db:
        db.add(CourseHold(id="a-stop", course_id=course["id"], kind="stop",
                          entered_at=datetime(2025, 3, 10, 8, 0, tzinfo=timezone.utc)))
        db.add(CourseHold(id="b-pause", course_id=course["id"], kind="pause", entered_at=None,
                          from_date=date(2025, 3, 5)))
    with app.state.db.session() as db:
        assert [hold.id for hold in course_holds(db, course["id"])] == ["b-pause", "a-stop"]
