"""Courses over HTTP: creation rules, pause/resume, stop, missed sessions, screening and
blinding (calendars: test_api_course_calendars.py)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from course_helpers import (
    clear_screening,
    delivery,
    fix_now,
    fix_today,
    new_course,
    session_dates,
    sessions,
)

from api.tokens import create_token


def test_course_needs_an_approved_plan(client, auth, patient, plan_id):
    body = {"plan_id": plan_id, "start_date": "2025-03-03", "arm": "active"}
    url = f"/api/v1/patients/{patient['id']}/courses"
    response = client.post(url, headers=auth["clinician"], json=body)
    assert response.status_code == 409
    assert "not approved" in response.json()["detail"]
    assert response.headers["content-type"].startswith("application/problem+json")
    assert client.post(url, headers=auth["technician"], json=body).status_code == 403
    response = client.post(url, headers=auth["clinician"], json={**body, "plan_id": "nope"})
    assert response.status_code == 422 and "plan_id" in response.json()["detail"]


def test_a_course_on_another_patients_plan_is_refused(client, auth, patient, approved_plan):
    # the target and coil pose are the plan's patient's own: never another patient's course
    other = client.post("/api/v1/patients", headers=auth["technician"], json={"external_id": "MRN-OTHER-1"}).json()
    url = f"/api/v1/patients/{other['id']}/courses"
    response = client.post(url, headers=auth["clinician"],
                           json={"plan_id": approved_plan, "start_date": "2025-03-03", "arm": "active"})
    assert response.status_code == 422
    assert response.json()["detail"] == f"plan_id: no plan '{approved_plan}' of this patient"
    assert client.get(url, headers=auth["clinician"]).json()["items"] == []


def _stop(client, auth, course: dict) -> None:
    response = client.post(f"/api/v1/courses/{course['id']}/stop", headers=auth["clinician"],
                           json={"note": "protocol changed"})
    assert response.status_code == 200, response.text


def test_protocols_presets_and_custom(client, auth, patient, approved_plan):
    url = f"/api/v1/patients/{patient['id']}/courses"
    base = {"plan_id": approved_plan, "start_date": "2025-03-03", "arm": "open"}
    response = client.post(url, headers=auth["clinician"], json={**base, "protocol": "5hz"})
    assert response.status_code == 422 and "standard_10hz, itbs, accelerated" in response.text
    response = client.post(url, headers=auth["clinician"], json={**base, "arm": "placebo"})
    assert response.status_code == 422
    course = new_course(client, auth, patient["id"], approved_plan, protocol="itbs")
    assert course["protocol"]["pulses_per_session"] == 600
    assert "Blumberger" in course["protocol"]["citation"]
    # one running course per patient: two would each allow a session a day
    response = client.post(url, headers=auth["clinician"], json={**base, "protocol": "itbs"})
    assert response.status_code == 409 and f"course {course['id']} is active" in response.json()["detail"]
    _stop(client, auth, course)
    custom = {"name": "1hz", "pattern": "rtms", "frequency_hz": 1, "train_duration_s": 60,
              "inter_train_interval_s": 0, "n_trains": 6, "pulses_per_session": 360,
              "intensity_pct_rmt": 110, "n_sessions": 10}
    course = new_course(client, auth, patient["id"], approved_plan, protocol="custom",
                        custom_protocol=custom)
    assert len(sessions(client, auth, course["id"])["items"]) == 10
    _stop(client, auth, course)
    response = client.post(url, headers=auth["clinician"], json={
        **base, "protocol": "custom", "custom_protocol": {**custom, "pulses_per_session": 1}})
    assert response.status_code == 422 and "does not match" in response.json()["detail"]
    accelerated = new_course(client, auth, patient["id"], approved_plan, protocol="accelerated")
    listing = sessions(client, auth, accelerated["id"])["items"]
    assert len(listing) == 50 and listing[9]["offset_minutes"] == 540  # one an hour
    assert {s["date"] for s in listing} == {f"2025-03-0{d}" for d in range(3, 8)}


def test_default_course_starting_on_a_friday(client, auth, patient, approved_plan):
    course = new_course(client, auth, patient["id"], approved_plan, start="2025-03-07")
    listing = sessions(client, auth, course["id"])
    assert [s["index"] for s in listing["items"]] == list(range(1, 16))
    assert session_dates(listing)[:2] == ["2025-03-07", "2025-03-10"]
    assert session_dates(listing)[-1] == "2025-03-27"
    assert all(date.fromisoformat(d).weekday() < 5 for d in session_dates(listing))
    assert all(s["state"] == "planned" for s in listing["items"])
    assert [(f["timepoint"], f["after_session_index"]) for f in listing["followups"]] == [
        ("baseline", None), ("week1", 5), ("week2", 10), ("week3", 15)]


def test_missed_session_is_rescheduled_and_course_extends(client, auth, app, patient,
                                                          approved_plan):
    fix_today(app, date(2025, 3, 4))
    course = new_course(client, auth, patient["id"], approved_plan)
    clear_screening(client, auth, course["id"])
    listing = sessions(client, auth, course["id"])["items"]
    first, second = listing[0], listing[1]
    assert client.post(f"/api/v1/sessions/{first['id']}/delivery", headers=auth["technician"],
                       json=delivery("2025-03-03")).status_code == 201
    response = client.post(f"/api/v1/sessions/{second['id']}/missed", headers=auth["technician"],
                           json={"reason": "did not attend"})
    assert response.status_code == 200, response.text
    after = response.json()
    assert len(after["items"]) == 16
    assert after["items"][1]["state"] == "missed"
    replacement = after["items"][-1]
    assert replacement["replaces_index"] == 2 and replacement["date"] == "2025-03-24"
    assert [s["state"] for s in after["items"]].count("planned") == 14
    assert [f["after_session_index"] for f in after["followups"][1:]] == [6, 11, 16]
    again = client.post(f"/api/v1/sessions/{second['id']}/missed", headers=auth["technician"])
    assert again.status_code == 409
    response = client.post(f"/api/v1/sessions/{second['id']}/delivery",
                           headers=auth["technician"], json=delivery("2025-03-04"))
    assert response.status_code == 409 and "marked missed" in response.json()["detail"]



def test_a_session_marked_missed_late_is_replaced_no_earlier_than_today(client, auth, app, patient, approved_plan):
    # marked missed after the course's last planned day: the replacement is not put in the past
    fix_today(app, date(2025, 3, 3))
    course = new_course(client, auth, patient["id"], approved_plan)
    last = sessions(client, auth, course["id"])["items"][-1]
    assert last["date"] == "2025-03-21"
    fix_today(app, date(2025, 3, 26))
    response = client.post(f"/api/v1/sessions/{last['id']}/missed", headers=auth["technician"], json={})
    assert response.status_code == 200, response.text
    replacement = response.json()["items"][-1]
    assert (replacement["replaces_index"], replacement["date"]) == (15, "2025-03-26")


def test_who_marked_a_session_missed_when_and_why_is_kept(client, auth, app, patient, approved_plan):
    # the reason a clinician typed was accepted and dropped until 2026-12-06
    fix_today(app, date(2025, 3, 4))
    fix_now(app, "2025-03-04T10:15:00+00:00")
    course = new_course(client, auth, patient["id"], approved_plan)
    listing = sessions(client, auth, course["id"])["items"]
    missed = client.post(f"/api/v1/sessions/{listing[1]['id']}/missed", headers=auth["clinician"],
                         json={"reason": "admitted to hospital overnight"})
    assert missed.status_code == 200, missed.text
    without = client.post(f"/api/v1/sessions/{listing[2]['id']}/missed", headers=auth["technician"])
    assert without.status_code == 200, without.text
    assert client.post(f"/api/v1/sessions/{listing[1]['id']}/missed", headers=auth["technician"],
                       json={"reason": "a second try"}).status_code == 409
    read = {s["index"]: s for s in sessions(client, auth, course["id"])["items"]}
    assert (read[2]["missed_by"], read[2]["missed_at"], read[2]["missed_reason"]) == (
        "clinician", "2025-03-04T10:15:00Z", "admitted to hospital overnight")
    assert (read[3]["missed_by"], read[3]["missed_reason"]) == ("technician", None)
    assert (read[1]["missed_by"], read[1]["missed_at"], read[1]["missed_reason"]) == (None, None, None)
    csv_text = client.get(f"/api/v1/courses/{course['id']}/summary.csv", headers=auth["auditor"]).text
    header, *lines = csv_text.splitlines()
    rows = [dict(zip(header.split(","), line.split(","))) for line in lines]
    assert [(r["session_index"], r["missed_reason"]) for r in rows if r["state"] == "missed"] == [
        ("2", "admitted to hospital overnight"), ("3", "")]
    # only a planned session offers to be logged or missed (a missed one answers 409)
    assert {"delivery", "missed"} <= set(read[4]["links"]) and not {"delivery", "missed"} & set(read[2]["links"])
    navigator = client.get(f"/api/v1/courses/{course['id']}/sessions", headers=auth["navigator"])
    assert navigator.status_code == 200
    assert [(s["missed_by"], s["missed_reason"]) for s in navigator.json()["items"][1:3]] == [
        ("clinician", None), ("technician", None)]  # a clinical note, as a delivery's notes

def test_pause_and_resume(client, auth, app, patient, approved_plan):
    fix_today(app, date(2025, 3, 6))
    course = new_course(client, auth, patient["id"], approved_plan)
    clear_screening(client, auth, course["id"])
    listing = sessions(client, auth, course["id"])["items"]
    for s in listing[:3]:
        assert client.post(f"/api/v1/sessions/{s['id']}/delivery", headers=auth["technician"],
                           json=delivery(s["date"])).status_code == 201
    url = f"/api/v1/courses/{course['id']}"
    fix_now(app, "2025-03-06T08:00:00+00:00")
    early = client.post(f"{url}/pause", headers=auth["technician"], json={"from_date": "1900-01-01"})
    assert early.status_code == 422 and "before the course started (2025-03-03)" in early.json()["detail"]
    assert client.get(url, headers=auth["technician"]).json()["status"] == "active"
    response = client.post(f"{url}/pause", headers=auth["technician"],
                           json={"note": "patient has flu"})
    assert response.status_code == 200 and response.json()["status"] == "paused"
    assert response.json()["paused_from"] == "2025-03-06"
    assert client.post(f"{url}/pause", headers=auth["technician"]).status_code == 409
    response = client.post(f"/api/v1/sessions/{listing[3]['id']}/delivery",
                           headers=auth["technician"], json=delivery("2025-03-06"))
    assert response.status_code == 409 and "paused" in response.json()["detail"]
    schedule = client.get("/api/v1/schedule?date=2025-03-06", headers=auth["technician"]).json()
    assert schedule["items"] == []
    response = client.post(f"{url}/resume", headers=auth["technician"],
                           json={"resume_on": "2025-03-17"})
    assert response.status_code == 200 and response.json()["status"] == "active"
    dates = session_dates(sessions(client, auth, course["id"]))
    assert dates[:3] == ["2025-03-03", "2025-03-04", "2025-03-05"]
    assert dates[3] == "2025-03-17" and dates[-1] == "2025-04-01" and len(dates) == 15
    assert client.post(f"{url}/resume", headers=auth["technician"]).status_code == 409


def test_stop_cancels_planned_sessions(client, auth, patient, approved_plan):
    course = new_course(client, auth, patient["id"], approved_plan)
    url = f"/api/v1/courses/{course['id']}/stop"
    assert client.post(url, headers=auth["technician"], json={"note": "x"}).status_code == 403
    response = client.post(url, headers=auth["clinician"], json={"note": "withdrew consent"})
    assert response.status_code == 200 and response.json()["status"] == "stopped"
    states = {s["state"] for s in sessions(client, auth, course["id"])["items"]}
    assert states == {"cancelled"}
    # a cancelled session is not on its day's list: nobody is called in for it
    assert client.get("/api/v1/schedule?date=2025-03-03", headers=auth["technician"]).json()["items"] == []
    again = client.post(url, headers=auth["clinician"], json={"note": "typed twice"})
    assert again.status_code == 409 and again.json()["detail"] == "course is already stopped"
    stored = client.get(f"/api/v1/courses/{course['id']}", headers=auth["clinician"]).json()
    assert {k: stored[k] for k in ("status", "status_note", "status_changed_at")} == {
        k: response.json()[k] for k in ("status", "status_note", "status_changed_at")}
    assert stored["status_note"] == "withdrew consent"


def test_a_stopped_courses_safety_screening_is_not_replaced(client, auth, patient, approved_plan):
    # it was replaced, override and all, with nothing kept of the record the sessions were given under
    course = new_course(client, auth, patient["id"], approved_plan)
    recorded = clear_screening(client, auth, course["id"])
    _stop(client, auth, course)
    url = f"/api/v1/courses/{course['id']}/screening"
    answers = {**recorded["answers"], next(iter(recorded["answers"])): True}
    response = client.put(url, headers=auth["technician"], json={"answers": answers})
    assert response.status_code == 409 and "screen the patient for a new course" in response.json()["detail"]
    assert client.get(url, headers=auth["auditor"]).json() == recorded


def test_a_stopped_courses_screening_is_not_overridden(client, auth, patient, approved_plan):
    # the override was written into the record the sessions had been given under
    from navsvc.course.screening import ITEMS

    item = next(i.key for i in ITEMS if i.kind == "contraindication")
    course = new_course(client, auth, patient["id"], approved_plan)
    recorded = clear_screening(client, auth, course["id"], **{item: True})
    _stop(client, auth, course)
    url = f"/api/v1/courses/{course['id']}/screening"
    response = client.post(url + "/override", headers=auth["clinician"],
                           json={"items": [item], "reason": "benefit outweighs the risk"})
    assert response.status_code == 409 and "screen the patient for a new course" in response.json()["detail"]
    assert client.get(url, headers=auth["auditor"]).json() == recorded


def test_blinded_tokens_never_see_the_arm(client, auth, app, patient, approved_plan):
    course = new_course(client, auth, patient["id"], approved_plan, arm="sham")
    assert course["arm"] == "sham" and course["arm_hidden"] is False
    rater = {"Authorization": f"Bearer {create_token(app.state.db, 'rater', 'technician', blinded=True)}"}
    for path in (f"/api/v1/courses/{course['id']}", f"/api/v1/courses/{course['id']}/summary"):
        body = client.get(path, headers=rater)
        assert body.status_code == 200
        assert body.json()["arm"] is None and body.json()["arm_hidden"] is True
        assert "sham" not in body.text
    listed = client.get(f"/api/v1/patients/{patient['id']}/courses", headers=rater)
    assert listed.json()["items"][0]["arm"] is None and "sham" not in listed.text
    for path in ("sessions", "summary.csv", "assessments", "alerts"):
        response = client.get(f"/api/v1/courses/{course['id']}/{path}", headers=rater)
        assert response.status_code == 200 and "sham" not in response.text
    assert "sham" not in client.get("/api/v1/schedule?date=2025-03-03", headers=rater).text
    # the blinded rater can still rate
    response = client.post(f"/api/v1/courses/{course['id']}/assessments", headers=rater, json={
        "timepoint": "baseline", "rater": "rater", "rated_at": "2025-03-01T10:00:00Z",
        "items": {str(n): 1 for n in range(1, 18)}, "item16_method": "B"})
    assert response.status_code == 201
    assert client.get(f"/api/v1/courses/{course['id']}", headers=auth["clinician"]).json()[
        "arm"] == "sham"


@pytest.mark.parametrize("field", ["plan_id", "calendar_id"])
def test_an_id_holding_a_lone_surrogate_is_422_not_500(client, auth, patient, approved_plan, field):
    # found by fuzzing: JSON's "\ud800" is no character; the database driver could not encode
    # it and the request ended in a 500
    url = f"/api/v1/patients/{patient['id']}/courses"
    body = {"plan_id": approved_plan, "start_date": "2025-03-03", "arm": "active", field: "\ud800"}
    response = client.post(url, headers={**auth["clinician"], "Content-Type": "application/json"},
                           content=json.dumps(body))  # ASCII: the surrogate as the escape \ud800
    assert response.status_code == 422, response.text
    assert "not valid Unicode (a lone surrogate" in response.json()["detail"]
    assert client.get(f"/api/v1/patients/{patient['id']}/courses", headers=auth["clinician"]).json()["items"] == []


def test_a_course_paused_before_it_starts_resumes_no_earlier_than_its_start(client, auth, app, patient,
                                                                           approved_plan):
    fix_today(app, date(2025, 3, 3))
    course = new_course(client, auth, patient["id"], approved_plan, start="2025-03-10")
    url = f"/api/v1/courses/{course['id']}"
    paused = client.post(f"{url}/pause", headers=auth["technician"])
    assert paused.status_code == 200 and paused.json()["paused_from"] == "2025-03-10"
    fix_today(app, date(2025, 3, 12))  # past session 1's date, which the pause holds
    due = client.get("/api/v1/assessments/due", headers=auth["clinician"]).json()["items"]
    assert [(i["timepoint"], i["status"]) for i in due] == [("baseline", "due")]  # was overdue
    fix_today(app, date(2025, 3, 4))
    early = client.post(f"{url}/resume", headers=auth["technician"], json={"resume_on": "2025-03-05"})
    assert early.status_code == 422 and "before the course starts (2025-03-10)" in early.json()["detail"]
    assert client.get(url, headers=auth["technician"]).json()["status"] == "paused"
    resumed = client.post(f"{url}/resume", headers=auth["technician"])
    assert resumed.status_code == 200
    assert session_dates(sessions(client, auth, course["id"]))[0] == "2025-03-10"  # was 2025-03-04


def test_a_pause_may_hold_from_the_courses_first_day(client, auth, app, patient, approved_plan):
    fix_today(app, date(2025, 3, 1))
    course = new_course(client, auth, patient["id"], approved_plan)
    paused = client.post(f"/api/v1/courses/{course['id']}/pause", headers=auth["technician"],
                         json={"from_date": "2025-03-03"})
    assert paused.status_code == 200 and paused.json()["paused_from"] == "2025-03-03"


def test_a_pause_from_a_later_day_resumed_before_that_day_moves_nothing(client, auth, app, patient,
                                                                      approved_plan):
    # resumed without a day before the pause holds any: it resumes from the pause's first day
    fix_today(app, date(2025, 3, 3))
    course = new_course(client, auth, patient["id"], approved_plan)
    before = session_dates(sessions(client, auth, course["id"]))
    url = f"/api/v1/courses/{course['id']}"
    fix_now(app, "2025-03-03T08:00:00+00:00")
    assert client.post(f"{url}/pause", headers=auth["technician"], json={"from_date": "2025-03-05"}).status_code == 200
    fix_today(app, date(2025, 3, 4))
    fix_now(app, "2025-03-04T08:00:00+00:00")
    resumed = client.post(f"{url}/resume", headers=auth["technician"])
    assert resumed.status_code == 200, resumed.text
    assert (resumed.json()["status"], resumed.json()["status_changed_at"]) == ("active", "2025-03-04T08:00:00Z")
    assert session_dates(sessions(client, auth, course["id"])) == before


def test_a_pause_stored_before_its_course_started_resumes_from_the_start(client, auth, app, patient,
                                                                         approved_plan):
    """Pauses entered before the start were stored from that day: a bare resume is not
    refused for a resume_on the client never sent."""
    from api.models_course import Course

    fix_today(app, date(2025, 3, 3))
    course = new_course(client, auth, patient["id"], approved_plan, start="2025-03-10")
    url = f"/api/v1/courses/{course['id']}"
    assert client.post(f"{url}/pause", headers=auth["technician"]).status_code == 200
    with app.state.db.session() as session:
        session.get(Course, course["id"]).paused_from = date(2025, 3, 3)  # as stored before
    fix_today(app, date(2025, 3, 4))
    resumed = client.post(f"{url}/resume", headers=auth["technician"])
    assert resumed.status_code == 200, resumed.text
    assert session_dates(sessions(client, auth, course["id"]))[0] == "2025-03-10"


def test_a_course_stored_before_the_timing_rules_still_reads(client, auth, app, patient, approved_plan):
    """Protocols stored before the timing rules (sessions 1 min apart that last 37.5 min)
    were re-validated on every read: the course's pages answered 500."""
    from api.models_course import Course

    fix_today(app, date(2025, 3, 3))
    course = new_course(client, auth, patient["id"], approved_plan)
    with app.state.db.session() as session:
        stored = session.get(Course, course["id"])
        stored.protocol = {**stored.protocol, "sessions_per_day": 2, "sessions_per_week": 10,
                           "min_interval_minutes": 1}
    url = f"/api/v1/courses/{course['id']}"
    for path in ("", "/sessions", "/summary", "/summary.csv", "/assessments"):
        response = client.get(url + path, headers=auth["clinician"])
        assert response.status_code == 200, (path, response.text)
    assert client.get("/api/v1/assessments/due", headers=auth["clinician"]).status_code == 200
    assert client.get("/api/v1/schedule?date=2025-03-03", headers=auth["technician"]).status_code == 200
    # a new course with those parameters is still refused
    custom = {**client.get(url, headers=auth["clinician"]).json()["protocol"]}
    custom = {k: v for k, v in custom.items() if k != "session_duration_min"}
    response = client.post(f"/api/v1/patients/{patient['id']}/courses", headers=auth["clinician"], json={
        "plan_id": approved_plan, "protocol": "custom", "custom_protocol": custom,
        "start_date": "2025-03-03", "arm": "active"})
    assert response.status_code in (409, 422)



def test_a_theta_burst_of_one_pulse_stored_before_its_bound_still_reads(client, auth, app, patient, approved_plan):
    """A burst of one pulse was accepted until the bound became 2: a stored course keeps its
    pages, and a new course with it is refused."""
    from api.models_course import Course

    fix_today(app, date(2025, 3, 3))
    course = new_course(client, auth, patient["id"], approved_plan, protocol="itbs")
    with app.state.db.session() as session:
        stored = session.get(Course, course["id"])
        stored.protocol = {**stored.protocol, "pulses_per_burst": 1, "pulses_per_session": 200}
    url = f"/api/v1/courses/{course['id']}"
    for path in ("", "/sessions", "/summary", "/summary.csv", "/assessments"):
        response = client.get(url + path, headers=auth["clinician"])
        assert response.status_code == 200, (path, response.text)
    assert client.get(url, headers=auth["clinician"]).json()["protocol"]["pulses_per_burst"] == 1
    custom = {k: v for k, v in client.get(url, headers=auth["clinician"]).json()["protocol"].items()
              if k != "session_duration_min"}
    assert client.post(f"{url}/stop", headers=auth["clinician"], json={"note": "to start another"}).status_code == 200
    response = client.post(f"/api/v1/patients/{patient['id']}/courses", headers=auth["clinician"], json={
        "plan_id": approved_plan, "protocol": "custom", "custom_protocol": {**custom, "name": "one_pulse"},
        "start_date": "2025-03-03", "arm": "active"})
    assert response.status_code == 422 and "pulses_per_burst" in response.text, response.text
