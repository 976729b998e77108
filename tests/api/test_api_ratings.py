"""HAMD-17 ratings, alerts, summary views, the day's schedule and ratings due, over HTTP."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from course_helpers import (
    ZERO_ITEMS,
    another_patients_course,
    clear_screening,
    deliver_sessions,
    delivery,
    fix_today,
    items_with_total,
    rate,
    rate_at,
    sessions,
)

ITEM_MAX = {1: 4, 2: 4, 3: 4, 4: 2, 5: 2, 6: 2, 7: 4, 8: 4, 9: 4, 10: 4, 11: 4, 12: 2, 13: 2,
            14: 2, 15: 4, 16: 2, 17: 2}


@pytest.mark.parametrize("item", range(1, 18))
def test_every_item_range_over_http(client, auth, course, item):
    top = ITEM_MAX[item]
    for bad in (top + 1, -1):
        response = rate(client, auth, course["id"], "baseline", "2025-03-01",
                        {**ZERO_ITEMS, str(item): bad})
        assert response.status_code == 422
        detail = response.json()["detail"]
        assert detail.startswith(f"item {item} (") and f"0-{top}" in detail
    missing = {k: v for k, v in ZERO_ITEMS.items() if k != str(item)}
    response = rate(client, auth, course["id"], "baseline", "2025-03-01", missing)
    assert response.status_code == 422 and f"item {item} (" in response.json()["detail"]
    assert "missing" in response.json()["detail"]
    response = rate(client, auth, course["id"], "baseline", "2025-03-01",
                    {**ZERO_ITEMS, str(item): top})
    assert response.status_code == 201 and response.json()["total"] == top


def test_item16_method_and_bad_timepoints(client, auth, course):
    url = f"/api/v1/courses/{course['id']}/assessments"
    body = {"timepoint": "baseline", "rater": "r", "rated_at": "2025-03-01T10:00:00Z",
            "items": ZERO_ITEMS}
    response = client.post(url, headers=auth["technician"], json=body)
    assert response.status_code == 422 and "item16_method" in response.json()["detail"]
    response = client.post(url, headers=auth["technician"],
                           json={**body, "item16_method": "A", "timepoint": "week9"})
    assert response.status_code == 422 and "weeks 1-3" in response.json()["detail"]
    response = client.post(url, headers=auth["technician"],
                           json={**body, "item16_method": "A", "timepoint": "day3"})
    assert response.status_code == 422
    assert client.post(url, headers=auth["auditor"], json=body).status_code == 403


def test_response_and_remission_over_the_course(client, auth, course):
    deliver_sessions(client, auth, course)
    response = rate(client, auth, course["id"], "week1", "2025-03-07", items_with_total(20))
    body = response.json()
    assert response.status_code == 201
    assert (body["response"], body["remission"], body["change_from_baseline"]) == (None, False, None)
    baseline = rate(client, auth, course["id"], "baseline", "2025-03-01", items_with_total(24))
    assert baseline.json()["severity"] == "very severe" and baseline.json()["response"] is None
    assert baseline.json()["remission"] is None  # an outcome of no treatment: it was False
    duplicate = rate(client, auth, course["id"], "baseline", "2025-03-02", items_with_total(24))
    assert duplicate.status_code == 409 and "extra" in duplicate.json()["detail"]
    week2 = rate(client, auth, course["id"], "week2", "2025-03-14", items_with_total(12)).json()
    assert week2["change_from_baseline"] == -12 and week2["percent_change"] == -50.0
    assert week2["response"] is True and week2["remission"] is False
    assert week2["severity"] == "mild"
    week3 = rate(client, auth, course["id"], "week3", "2025-03-21", items_with_total(7)).json()
    assert week3["response"] is True and week3["remission"] is True
    extra = rate(client, auth, course["id"], "extra", "2025-03-28", items_with_total(13)).json()
    assert extra["response"] is False and extra["remission"] is False
    # the course's outcome is week 3's: a later extra rating does not stand for it (it did)
    summary = client.get(f"/api/v1/courses/{course['id']}/summary", headers=auth["clinician"]).json()
    assert (summary["response"], summary["remission"], summary["outcome_timepoint"]) == (True, True, "week3")
    listed = client.get(f"/api/v1/courses/{course['id']}/assessments",
                        headers=auth["auditor"]).json()["items"]
    assert [a["timepoint"] for a in listed] == ["baseline", "week1", "week2", "week3", "extra"]
    assert listed[1]["response"] is False and listed[1]["baseline_total"] == 24


def test_extra_ratings_are_any_number_listed_in_the_order_they_were_taken(client, auth, course):
    # a second extra rating is not a duplicate timepoint; one typed in late is listed by its time
    for day in ("2025-03-05", "2025-03-02"):
        assert rate(client, auth, course["id"], "extra", day).status_code == 201
    listed = client.get(f"/api/v1/courses/{course['id']}/assessments", headers=auth["auditor"]).json()["items"]
    assert [(a["timepoint"], a["rated_at"][:10]) for a in listed] == [("extra", "2025-03-02"), ("extra", "2025-03-05")]


def test_suicide_item_alert_stays_until_a_clinician_acknowledges(client, auth, course):
    response = rate(client, auth, course["id"], "baseline", "2025-03-01",
                    {**ZERO_ITEMS, "3": 3})
    body = response.json()
    assert body["suicide_alert"] is True and body["alert_id"]
    assert rate(client, auth, course["id"], "extra", "2025-03-02",
                {**ZERO_ITEMS, "3": 2}).json()["suicide_alert"] is False
    open_alerts = client.get("/api/v1/alerts", headers=auth["clinician"]).json()["items"]
    assert [a["id"] for a in open_alerts] == [body["alert_id"]]
    ack = f"/api/v1/alerts/{body['alert_id']}/acknowledgement"
    assert open_alerts[0]["links"]["acknowledge"] == ack
    assert client.get(f"/api/v1/courses/{course['id']}", headers=auth["technician"]).json()[
        "open_alerts"] == 1
    assert client.post(ack, headers=auth["technician"], json={"note": "x"}).status_code == 403
    response = client.post(ack, headers=auth["clinician"], json={"note": "seen; safety plan"})
    assert response.status_code == 200
    assert response.json()["acknowledged_by"] == "clinician" and response.json()["acknowledged_at"]
    assert "acknowledge" not in response.json()["links"]  # done: posting it again is a 409
    assert client.get("/api/v1/alerts", headers=auth["clinician"]).json()["items"] == []
    assert len(client.get("/api/v1/alerts?open=false", headers=auth["auditor"]).json()["items"]) == 1
    course_alerts = f"/api/v1/courses/{course['id']}/alerts"
    assert client.get(f"{course_alerts}?open=true", headers=auth["auditor"]).json()["items"] == []
    assert [a["id"] for a in client.get(course_alerts, headers=auth["auditor"]).json()["items"]] == [
        body["alert_id"]]


def test_a_courses_alerts_are_its_own(client, auth, app, course, small_head):
    # another patient's suicide-item and seizure alerts are not this course's: not listed,
    # not counted, and they do not hold its sessions
    other = another_patients_course(client, auth, app, small_head, "MRN-ALERT-2")
    suicide = rate(client, auth, other["id"], "baseline", "2025-03-01", {**ZERO_ITEMS, "3": 3}).json()
    clear_screening(client, auth, other["id"])
    other_first = sessions(client, auth, other["id"])["items"][0]
    seizure = client.post(f"/api/v1/sessions/{other_first['id']}/delivery", headers=auth["technician"],
                          json=delivery("2025-03-03", side_effects=["seizure"]))
    assert seizure.status_code == 201, seizure.text
    for open_only in ("true", "false"):
        mine = client.get(f"/api/v1/courses/{course['id']}/alerts?open={open_only}", headers=auth["clinician"])
        theirs = client.get(f"/api/v1/courses/{other['id']}/alerts?open={open_only}", headers=auth["clinician"])
        assert mine.json()["items"] == []
        assert {a["kind"] for a in theirs.json()["items"]} == {"suicide_item", "seizure"}
    assert suicide["alert_id"] in {a["id"] for a in theirs.json()["items"]}
    assert client.get(f"/api/v1/courses/{course['id']}", headers=auth["clinician"]).json()["open_alerts"] == 0
    clear_screening(client, auth, course["id"])
    first = sessions(client, auth, course["id"])["items"][0]
    logged = client.post(f"/api/v1/sessions/{first['id']}/delivery", headers=auth["technician"],
                         json=delivery("2025-03-03"))
    assert logged.status_code == 201, logged.text


def test_two_clinicians_acknowledging_at_once_one_is_told_it_was_done(client, auth, app, course, monkeypatch):
    # on PostgreSQL both read "open" and the second overwrote the first's name and note
    import time

    from api.routes import assessments
    from api.tokens import create_token

    now = assessments.utc_now
    monkeypatch.setattr(assessments, "utc_now", lambda: (time.sleep(0.3), now())[1])  # widen the race

    alert_id = rate(client, auth, course["id"], "baseline", "2025-03-01", {**ZERO_ITEMS, "3": 3}).json()["alert_id"]
    url = f"/api/v1/alerts/{alert_id}/acknowledgement"
    doctors = [("dr-a", "called the patient"), ("dr-b", "safety plan reviewed")]
    headers = {name: {"Authorization": f"Bearer {create_token(app.state.db, name, 'clinician')}"}
               for name, _ in doctors}
    for attempt in range(3):
        barrier, answers = threading.Barrier(2), {}

        def acknowledge(name, note):
            barrier.wait()
            answers[name] = client.post(url, headers=headers[name], json={"note": note})

        threads = [threading.Thread(target=acknowledge, args=doctor) for doctor in doctors]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if attempt == 0:
            assert sorted(a.status_code for a in answers.values()) == [200, 409], {
                n: a.text for n, a in answers.items()}
            winner = next(n for n, a in answers.items() if a.status_code == 200)
        else:
            assert {a.status_code for a in answers.values()} == {409}
    stored = client.get("/api/v1/alerts?open=false", headers=auth["auditor"]).json()["items"]
    assert [(a["acknowledged_by"], a["acknowledgement_note"]) for a in stored] == [(winner, dict(doctors)[winner])]


def test_schedule_and_ratings_due(client, auth, app, course, patient):
    schedule = client.get("/api/v1/schedule?date=2025-03-03", headers=auth["technician"]).json()
    assert [(i["index"], i["patient_external_id"]) for i in schedule["items"]] == [
        (1, patient["external_id"])]
    assert client.get("/api/v1/schedule?date=2025-03-08",
                      headers=auth["technician"]).json()["items"] == []
    assert client.get("/api/v1/schedule?date=not-a-date",
                      headers=auth["technician"]).status_code == 422
    due = client.get("/api/v1/assessments/due?date=2025-03-01", headers=auth["clinician"]).json()
    assert [(i["timepoint"], i["status"]) for i in due["items"]] == [("baseline", "due")]
    clear_screening(client, auth, course["id"])
    for s in sessions(client, auth, course["id"])["items"][:5]:
        response = client.post(f"/api/v1/sessions/{s['id']}/delivery",
                               headers=auth["technician"], json=delivery(s["date"]))
        assert response.status_code == 201
    due = client.get("/api/v1/assessments/due?date=2025-03-07", headers=auth["clinician"]).json()
    assert [(i["timepoint"], i["status"]) for i in due["items"]] == [
        ("baseline", "overdue"), ("week1", "due")]
    fix_today(app, date(2025, 3, 12))
    due = client.get("/api/v1/assessments/due", headers=auth["clinician"]).json()
    assert due["date"] == "2025-03-12"
    assert {(i["timepoint"], i["status"]) for i in due["items"]} == {
        ("baseline", "overdue"), ("week1", "overdue")}


def test_a_stopped_course_still_lists_the_rating_of_its_last_week(client, auth, app, course):
    clear_screening(client, auth, course["id"])
    for s in sessions(client, auth, course["id"])["items"][:5]:
        assert client.post(f"/api/v1/sessions/{s['id']}/delivery", headers=auth["technician"],
                           json=delivery(s["date"])).status_code == 201
    assert rate(client, auth, course["id"], "baseline", "2025-03-01").status_code == 201
    stop = client.post(f"/api/v1/courses/{course['id']}/stop", headers=auth["clinician"], json={"note": "moved away"})
    assert stop.status_code == 200
    due = client.get("/api/v1/assessments/due?date=2025-03-08", headers=auth["clinician"]).json()["items"]
    assert [(i["course_id"], i["timepoint"]) for i in due] == [(course["id"], "week1")]
    assert rate(client, auth, course["id"], "week1", "2025-03-08").status_code == 201
    assert client.get("/api/v1/assessments/due?date=2025-03-08", headers=auth["clinician"]).json()["items"] == []


def test_a_huge_bad_value_is_not_echoed_back_whole(client, auth, course):
    # found by fuzzing: a 1 MB item value came back as a 1 MB error
    huge = "9" * 1_000_000
    response = rate_at(client, auth, course["id"], "baseline", "2025-03-01T10:00:00Z", {**ZERO_ITEMS, "1": huge})
    assert response.status_code == 422 and len(response.content) < 2000, len(response.content)
    response = rate_at(client, auth, course["id"], "baseline", "2025-03-01T10:00:00Z", {**ZERO_ITEMS, huge: 1})
    assert response.status_code == 422 and len(response.content) < 2000, len(response.content)


@pytest.mark.parametrize("courses_per_query", [500, 3])  # 3: the four courses read in two chunks
def test_the_ratings_due_across_courses_are_each_courses_own(client, auth, app, course, patient, small_head,
                                                           monkeypatch, courses_per_query):
    monkeypatch.setattr("api.course_followups._IDS_PER_QUERY", courses_per_query)
    others = [another_patients_course(client, auth, app, small_head, f"MRN-DUE-{k}") for k in range(3)]
    owner = {course["id"]: (patient["id"], patient["external_id"])} | {
        c["id"]: (c["patient_id"], f"MRN-DUE-{k}") for k, c in enumerate(others)}
    # the day list names each session's own patient, once
    day = client.get("/api/v1/schedule?date=2025-03-03", headers=auth["technician"]).json()["items"]
    assert sorted((i["course_id"], i["patient_id"], i["patient_external_id"], i["index"]) for i in day) == sorted(
        (course_id, *who, 1) for course_id, who in owner.items())
    assert rate(client, auth, course["id"], "baseline", "2025-03-01").status_code == 201
    clear_screening(client, auth, course["id"])
    for s in sessions(client, auth, course["id"])["items"][:5]:
        assert client.post(f"/api/v1/sessions/{s['id']}/delivery", headers=auth["technician"],
                           json=delivery(s["date"])).status_code == 201
    assert rate(client, auth, others[1]["id"], "baseline", "2025-03-02").status_code == 201
    clear_screening(client, auth, others[1]["id"])  # its session 1 given late, on 3/11
    first_of_other = sessions(client, auth, others[1]["id"])["items"][0]
    assert client.post(f"/api/v1/sessions/{first_of_other['id']}/delivery", headers=auth["technician"],
                       json=delivery("2025-03-11")).status_code == 201
    fix_today(app, date(2025, 3, 12))
    due = client.get("/api/v1/assessments/due", headers=auth["clinician"]).json()["items"]
    expected = set()
    for c in [course, *others]:
        summary = client.get(f"/api/v1/courses/{c['id']}/summary", headers=auth["clinician"]).json()
        expected |= {(c["id"], f["timepoint"], f["status"]) for f in summary["followups"]
                     if f["status"] in ("due", "overdue")}
    assert {(i["course_id"], i["timepoint"], i["status"]) for i in due} == expected == {
        (course["id"], "week1", "overdue"), (others[0]["id"], "baseline", "overdue"),
        (others[2]["id"], "baseline", "overdue")}
    assert len(due) == 3 and all((i["patient_id"], i["patient_external_id"]) == owner[i["course_id"]] for i in due)
    assert [i["due_on"] for i in due if i["course_id"] == course["id"]] == ["2025-03-07"]  # the day session 5 was given


@pytest.mark.parametrize("timepoint,valid", [("week99", True), ("week100", True), ("week200", True),
                                             ("week0", False), ("week1000", False), ("week01", False)])
def test_week_timepoints_reach_the_longest_course(timepoint, valid):
    # a protocol may have 200 sessions at one a week; week100 and later could not be rated,
    # nor recorded as not obtained, and stayed overdue for ever
    from pydantic import ValidationError

    from api.schemas_rating import AssessmentIn, NotObtainedIn
    for model, body in ((AssessmentIn, {"rater": "x", "rated_at": "2025-03-01T10:00:00Z", "items": {},
                                        "item16_method": "A"}),
                        (NotObtainedIn, {"reason": "moved away"})):
        try:
            model.model_validate({**body, "timepoint": timepoint})
            locations = []
        except ValidationError as exc:
            locations = [error["loc"][0] for error in exc.errors()]
        assert ("timepoint" not in locations) == valid, (model.__name__, locations)
