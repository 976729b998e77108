"""Clinic calendars over HTTP: closures and calendar changes moving the sessions of running
courses, also when made at once with other changes."""

from __future__ import annotations

import threading
from datetime import date

from course_helpers import another_patients_course, fix_today, new_course, session_dates, sessions


def test_course_crossing_a_closure_and_a_calendar_change(client, auth, app, patient,
                                                         approved_plan):
    fix_today(app, date(2025, 3, 1))
    response = client.post("/api/v1/calendars", headers=auth["admin"], json={
        "name": "main", "working_weekdays": [0, 1, 2, 3, 4], "closures": ["2025-03-12"]})
    assert response.status_code == 201, response.text
    calendar = response.json()
    course = new_course(client, auth, patient["id"], approved_plan, calendar_id=calendar["id"])
    dates = session_dates(sessions(client, auth, course["id"]))
    assert "2025-03-12" not in dates and dates[-1] == "2025-03-24"
    # the clinic adds a closure on a day with a planned session: it and those after move
    response = client.patch(f"/api/v1/calendars/{calendar['id']}", headers=auth["clinician"],
                            json={"closures": ["2025-03-12", "2025-03-18"]})
    assert response.status_code == 200 and response.json()["moved_sessions"] == 5
    dates = session_dates(sessions(client, auth, course["id"]))
    assert "2025-03-18" not in dates and dates[-1] == "2025-03-25" and len(dates) == 15
    assert client.patch(f"/api/v1/calendars/{calendar['id']}", headers=auth["technician"],
                        json={"closures": []}).status_code == 403
    response = client.patch(f"/api/v1/calendars/{calendar['id']}", headers=auth["admin"],
                            json={"working_weekdays": [9]})
    assert response.status_code == 422


def test_a_closure_moves_only_the_sessions_of_courses_on_its_calendar(client, auth, app, patient, approved_plan,
                                                                     small_head):
    # two sites: a closure at one must not reschedule the other's patients, nor those on
    # the default Monday-Friday calendar
    fix_today(app, date(2025, 3, 1))
    site_a, site_b = (client.post("/api/v1/calendars", headers=auth["admin"],
                                  json={"name": name, "working_weekdays": [0, 1, 2, 3, 4]}).json()
                      for name in ("site A", "site B"))
    at_a = new_course(client, auth, patient["id"], approved_plan, calendar_id=site_a["id"])
    at_b = another_patients_course(client, auth, app, small_head, "MRN-SITE-B", calendar_id=site_b["id"])
    default = another_patients_course(client, auth, app, small_head, "MRN-SITE-0")
    before = {c["id"]: session_dates(sessions(client, auth, c["id"])) for c in (at_a, at_b, default)}
    assert "2025-03-12" in before[at_a["id"]]
    response = client.patch(f"/api/v1/calendars/{site_a['id']}", headers=auth["clinician"],
                            json={"add_closures": ["2025-03-12"]})
    assert response.status_code == 200 and response.json()["moved_sessions"] == 8
    assert "2025-03-12" not in session_dates(sessions(client, auth, at_a["id"]))
    for other in (at_b, default):
        assert session_dates(sessions(client, auth, other["id"])) == before[other["id"]]


def test_a_closure_moves_the_sessions_a_paused_course_gives_before_its_pause(client, auth, app, patient,
                                                                            approved_plan):
    # a holiday booked from next Monday, then the clinic closes this Wednesday: session 3
    # stayed booked on the closed day (only active courses were re-laid)
    fix_today(app, date(2025, 3, 3))
    calendar = client.post("/api/v1/calendars", headers=auth["admin"], json={
        "name": "main", "working_weekdays": [0, 1, 2, 3, 4], "closures": []}).json()
    course = new_course(client, auth, patient["id"], approved_plan, start="2025-03-03",
                        calendar_id=calendar["id"])
    paused = client.post(f"/api/v1/courses/{course['id']}/pause", headers=auth["technician"],
                         json={"from_date": "2025-03-10", "note": "holiday"})
    assert paused.status_code == 200, paused.text
    response = client.patch(f"/api/v1/calendars/{calendar['id']}", headers=auth["clinician"],
                            json={"closures": ["2025-03-05"]})
    assert response.status_code == 200 and response.json()["moved_sessions"] > 0
    dates = session_dates(sessions(client, auth, course["id"]))
    assert "2025-03-05" not in dates and dates[:4] == ["2025-03-03", "2025-03-04", "2025-03-06", "2025-03-07"]
    assert len(dates) == 15 and all(day >= "2025-03-10" for day in dates[4:])  # held until the resume
    day = client.get("/api/v1/schedule?date=2025-03-05", headers=auth["technician"]).json()["items"]
    assert day == []
    resumed = client.post(f"/api/v1/courses/{course['id']}/resume", headers=auth["technician"],
                          json={"resume_on": "2025-03-17"})
    assert resumed.status_code == 200, resumed.text
    dates = session_dates(sessions(client, auth, course["id"]))
    assert dates[4] == "2025-03-17" and len(set(dates)) == 15


def test_closures_added_at_once_by_two_users_both_stay(client, auth, app, patient, approved_plan):
    # each change replaced the whole list: of two made at once, one closure was lost while
    # the sessions it had moved stayed moved
    fix_today(app, date(2025, 3, 1))
    calendar = client.post("/api/v1/calendars", headers=auth["admin"], json={
        "name": "main", "working_weekdays": [0, 1, 2, 3, 4], "closures": ["2025-03-12"]}).json()
    course = new_course(client, auth, patient["id"], approved_plan, calendar_id=calendar["id"])
    url = f"/api/v1/calendars/{calendar['id']}"
    days = (["2025-03-05"], ["2025-03-18", "2025-03-19"])
    barrier, answers = threading.Barrier(len(days)), []

    def add(closures):
        barrier.wait()
        answers.append(client.patch(url, headers=auth["clinician"], json={"add_closures": closures}))

    threads = [threading.Thread(target=add, args=(closures,)) for closures in days]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    expected = ["2025-03-05", "2025-03-12", "2025-03-18", "2025-03-19"]
    assert client.get(url, headers=auth["clinician"]).json()["closures"] == expected
    dates = session_dates(sessions(client, auth, course["id"]))
    assert not set(dates) & set(expected) and len(dates) == 15
    removed = client.patch(url, headers=auth["clinician"], json={"remove_closures": ["2025-03-12"]})
    assert removed.status_code == 200 and removed.json()["closures"] == ["2025-03-05", "2025-03-18", "2025-03-19"]
    both = client.patch(url, headers=auth["clinician"], json={"closures": [], "add_closures": ["2025-03-20"]})
    assert both.status_code == 422 and "not both" in both.json()["detail"]


def test_a_closure_added_while_a_session_is_marked_missed_keeps_one_session_a_day(
        client, auth, app, patient, approved_plan, monkeypatch):
    # the calendar change read the sessions without the course's lock: on PostgreSQL it
    # then wrote a re-lay of what it had read over the replacement of a session marked
    # missed meanwhile, and two sessions fell on one day
    import time

    from api.routes import schedule

    read = schedule.sessions_as_given
    monkeypatch.setattr(schedule, "sessions_as_given",
                        lambda *args: (read(*args), time.sleep(0.5))[0])  # widen the race
    fix_today(app, date(2025, 3, 3))
    calendar = client.post("/api/v1/calendars", headers=auth["admin"], json={
        "name": "main", "working_weekdays": [0, 1, 2, 3, 4], "closures": []}).json()
    course = new_course(client, auth, patient["id"], approved_plan, calendar_id=calendar["id"])
    first = sessions(client, auth, course["id"])["items"][0]
    answers = {}

    def close_wednesday():
        answers["closure"] = client.patch(f"/api/v1/calendars/{calendar['id']}", headers=auth["clinician"],
                                          json={"add_closures": ["2025-03-05"]})

    def miss_first():
        time.sleep(0.1)  # while the closure reads the sessions
        answers["missed"] = client.post(f"/api/v1/sessions/{first['id']}/missed", headers=auth["technician"])

    threads = [threading.Thread(target=close_wednesday), threading.Thread(target=miss_first)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [answers[k].status_code for k in ("closure", "missed")] == [200, 200], {
        k: a.text for k, a in answers.items()}
    listing = sessions(client, auth, course["id"])["items"]
    planned = [s["date"] for s in listing if s["state"] == "planned"]
    assert len(planned) == 15 and len(set(planned)) == 15, planned
    assert "2025-03-05" not in planned


def test_inline_calendar(client, auth, patient, approved_plan):
    course = new_course(client, auth, patient["id"], approved_plan, start="2025-03-01",
                        calendar={"name": "saturday-clinic", "working_weekdays": [1, 3, 5]})
    assert session_dates(sessions(client, auth, course["id"]))[:4] == [
        "2025-03-01", "2025-03-04", "2025-03-06", "2025-03-08"]


def test_a_closure_entered_for_a_past_day_moves_no_session(client, auth, app, patient, approved_plan):
    """Yesterday's closure entered today: yesterday's planned session is not moved (it is
    logged on the day it was given, or marked missed, which schedules its replacement),
    and nothing after it moves."""
    fix_today(app, date(2025, 3, 3))
    calendar = client.post("/api/v1/calendars", headers=auth["admin"],
                           json={"name": "main", "working_weekdays": [0, 1, 2, 3, 4]}).json()
    course = new_course(client, auth, patient["id"], approved_plan, calendar_id=calendar["id"])
    before = session_dates(sessions(client, auth, course["id"]))
    fix_today(app, date(2025, 3, 5))
    response = client.patch(f"/api/v1/calendars/{calendar['id']}", headers=auth["clinician"],
                            json={"add_closures": ["2025-03-04"]})
    assert response.status_code == 200 and response.json()["moved_sessions"] == 0
    assert session_dates(sessions(client, auth, course["id"])) == before
