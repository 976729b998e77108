"""Delivery logs over HTTP: due rules, idempotent retries, dose (the screening gate:
test_api_screening.py; the delivered pose and its deviation: test_api_delivered_pose.py)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from api_test_fakes import COIL_MATRIX, plan_dict
from api_test_helpers import insert_plan
from course_helpers import (
    approve,
    clear_screening,
    delivery,
    fix_now,
    fix_today,
    log_delivery,
    new_course,
    sessions,
)


@pytest.fixture
def course(client, auth, app, image) -> dict:
    """An active standard course from Monday 2025-03-03 on a plan with a Stokes offset."""
    plan = plan_dict()
    plan["dose"] = {"mt_offset_pct_mso": 6.0}
    plan_id = insert_plan(app, image["id"], plan)
    approve(client, auth, plan_id)
    fix_today(app, date(2025, 3, 3))
    return new_course(client, auth, image["patient_id"], plan_id)


def test_an_empty_idempotency_key_is_422(client, auth, course):
    clear_screening(client, auth, course["id"])
    first = sessions(client, auth, course["id"])["items"][0]
    headers = {**auth["technician"], "Idempotency-Key": ""}
    response = client.post(f"/api/v1/sessions/{first['id']}/delivery", headers=headers,
                           json=delivery("2025-03-03"))
    assert response.status_code == 422 and "idempotency-key" in response.text.lower()
    assert sessions(client, auth, course["id"])["items"][0]["state"] == "planned"


def test_a_motor_threshold_that_is_not_a_number_is_422_saying_so(client, auth, course):
    # NaN was refused as "less than or equal to 100", which does not say what is wrong
    clear_screening(client, auth, course["id"])
    first = sessions(client, auth, course["id"])["items"][0]
    for value in (float("nan"), float("inf")):
        response = client.post(f"/api/v1/sessions/{first['id']}/delivery",
                               headers={**auth["technician"], "Content-Type": "application/json"},
                               content=json.dumps({**delivery("2025-03-03"), "rmt_pct_mso": value}))
        assert response.status_code == 422 and "finite number" in response.json()["detail"], response.text
    assert sessions(client, auth, course["id"])["items"][0]["state"] == "planned"


def test_due_rules_and_second_log_conflicts(client, auth, course):
    clear_screening(client, auth, course["id"])
    first, second = sessions(client, auth, course["id"])["items"][:2]
    for day in ("2025-03-03", "2025-03-04"):  # before its day or on it, session 1 comes first
        response = log_delivery(client, auth, second["id"], delivery(day))
        assert response.status_code == 409 and "session 1 (scheduled 2025-03-03) comes first" in response.json()["detail"]
    assert log_delivery(client, auth, first["id"], delivery("2025-03-03")).status_code == 201
    response = log_delivery(client, auth, first["id"], delivery("2025-03-03"))
    assert response.status_code == 409 and "already logged" in response.json()["detail"]
    response = log_delivery(client, auth, second["id"], delivery("2099-03-04"))
    assert response.status_code == 422 and "future" in response.json()["detail"]
    assert log_delivery(client, auth, "no-such", delivery("2025-03-04")).status_code == 404
    assert log_delivery(client, auth, second["id"], delivery("2025-03-04"),
                 role="auditor").status_code == 403


def test_idempotent_retries_never_log_twice(client, auth, course):
    clear_screening(client, auth, course["id"])
    first, second = sessions(client, auth, course["id"])["items"][:2]
    body = delivery("2025-03-03")
    created = log_delivery(client, auth, first["id"], body, key="k-0001")
    assert created.status_code == 201
    for _ in range(3):
        retry = log_delivery(client, auth, first["id"], body, key="k-0001")
        assert retry.status_code == 200 and retry.headers["Idempotent-Replayed"] == "true"
        assert retry.json() == created.json()
    listing = sessions(client, auth, course["id"])["items"]
    assert listing[0]["state"] == "done" and listing[0]["delivery"]["id"] == created.json()["id"]
    changed = log_delivery(client, auth, first["id"], {**body, "pulses_delivered": 2000}, key="k-0001")
    assert changed.status_code == 422 and "Idempotency-Key" in changed.json()["detail"]
    for other_body in (body, delivery("2025-03-04")):  # the same key for another session
        elsewhere = log_delivery(client, auth, second["id"], other_body, key="k-0001")
        assert elsewhere.status_code == 422, "not the first session's answer"
    assert sessions(client, auth, course["id"])["items"][1]["state"] == "planned"
    assert log_delivery(client, auth, second["id"], delivery("2025-03-04"), key="k-0002").status_code == 201


def test_dose_deviation_and_incomplete(client, auth, course):
    clear_screening(client, auth, course["id"])
    first = sessions(client, auth, course["id"])["items"][0]
    moved = [row[:] for row in COIL_MATRIX]
    moved[0][3] += 3.0  # coil centre 3 mm to the right of plan
    response = log_delivery(client, auth, first["id"], delivery("2025-03-03", pulses=2400,
                                                         pose_matrix=moved))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["session_state"] == "incomplete" and body["pulses_planned"] == 3000
    assert body["dose"]["intensity_pct_mso"] == 60.0
    assert body["dose"]["adjusted_mt_pct_mso"] == 56.0
    assert body["dose"]["adjusted_intensity_pct_mso"] == pytest.approx(67.2)
    # standard 10 Hz is not depth-adjusted: the measured threshold's intensity is the one given
    assert body["dose"]["given_intensity_pct_mso"] == 60.0 and body["dose"]["depth_adjusted"] is False
    rows = list(csv.DictReader(io.StringIO(client.get(f"/api/v1/courses/{course['id']}/summary.csv",
                                                      headers=auth["clinician"]).text)))
    assert (rows[0]["intensity_pct_mso"], rows[0]["adjusted_intensity_pct_mso"], rows[0]["given_intensity_pct_mso"]) == (
        "60.0", "67.2", "60.0")
    deviation = body["deviation"]
    assert deviation["source"] == "matrix" and deviation["n_poses"] == 1
    assert deviation["mean"]["centre_distance_mm"] == pytest.approx(3.0)
    assert deviation["mean"]["tilt_deg"] == pytest.approx(0.0, abs=1e-6)
    assert sessions(client, auth, course["id"])["items"][0]["state"] == "incomplete"


def test_a_navigators_log_answer_holds_no_clinical_content(client, auth, course):
    # the answer shows what GET shows that role: a navigator logs side effects and notes
    # but does not read them, nor the alerts they raise, back
    clear_screening(client, auth, course["id"])
    first = sessions(client, auth, course["id"])["items"][0]
    body = delivery("2025-03-03", side_effects=["scalp_pain", "headache", "headache"], notes="mild headache",
                    pct_of_mt=130)
    logged = log_delivery(client, auth, first["id"], body, role="navigator")
    assert logged.status_code == 201, logged.text
    answer = logged.json()
    assert (answer["side_effects"], answer["notes"], answer["alerts"], answer["clinical_hidden"]) == ([], None, [], True)
    stored = client.get(f"/api/v1/sessions/{first['id']}", headers=auth["clinician"]).json()["delivery"]
    assert (stored["side_effects"], stored["notes"]) == (["headache", "scalp_pain"], "mild headache")
    assert [a["kind"] for a in stored["alerts"]] == ["dose_above_protocol"]


def test_a_delivery_logged_before_the_dose_said_which_intensity_was_given_reads_with_it(client, auth, app, course):
    # its stored dose lacks depth_adjusted and given_intensity_pct_mso: the CSV derived the
    # given intensity, the JSON answers left both out
    from api.models_course import Delivery

    clear_screening(client, auth, course["id"])
    first = sessions(client, auth, course["id"])["items"][0]
    logged = log_delivery(client, auth, first["id"], delivery("2025-03-03"))
    assert logged.status_code == 201, logged.text
    with app.state.db.session() as session:
        stored = session.get(Delivery, logged.json()["id"])
        stored.dose = {k: v for k, v in stored.dose.items() if k not in ("depth_adjusted", "given_intensity_pct_mso")}
    for role in ("clinician", "navigator"):
        listing = client.get(f"/api/v1/courses/{course['id']}/sessions", headers=auth[role]).json()
        assert listing["items"][0]["delivery"]["dose"] == logged.json()["dose"], role
    rows = list(csv.DictReader(io.StringIO(client.get(f"/api/v1/courses/{course['id']}/summary.csv",
                                                      headers=auth["clinician"]).text)))
    assert rows[0]["given_intensity_pct_mso"] == "60.0"


def test_seizure_flags_the_course_until_a_clinician_acknowledges(client, auth, course):
    clear_screening(client, auth, course["id"])
    first, second = sessions(client, auth, course["id"])["items"][:2]
    response = log_delivery(client, auth, first["id"], delivery("2025-03-03", side_effects=["seizure"]))
    assert response.status_code == 201
    alerts = client.get(f"/api/v1/courses/{course['id']}/alerts?open=true",
                        headers=auth["clinician"]).json()["items"]
    assert [a["kind"] for a in alerts] == ["seizure"]
    blocked = log_delivery(client, auth, second["id"], delivery("2025-03-04"))
    assert blocked.status_code == 409 and "seizure" in blocked.json()["detail"]
    ack = f"/api/v1/alerts/{alerts[0]['id']}/acknowledgement"
    assert client.post(ack, headers=auth["technician"], json={"note": "x"}).status_code == 403
    response = client.post(ack, headers=auth["clinician"], json={"note": "EEG normal; resume"})
    assert response.status_code == 200 and response.json()["acknowledged_by"] == "clinician"
    assert client.post(ack, headers=auth["clinician"], json={"note": "again"}).status_code == 409
    assert log_delivery(client, auth, second["id"], delivery("2025-03-04")).status_code == 201


def test_accelerated_minimum_interval(client, auth, app, image):
    plan_id = insert_plan(app, image["id"], plan_dict())
    approve(client, auth, plan_id)
    course = new_course(client, auth, image["patient_id"], plan_id, protocol="accelerated")
    clear_screening(client, auth, course["id"])
    first, second = sessions(client, auth, course["id"])["items"][:2]
    body = {**delivery("2025-03-03", pulses=1800), "pct_of_mt": 90}
    assert log_delivery(client, auth, first["id"], body).status_code == 201
    soon = {**body, "performed_at": "2025-03-03T10:00:00Z"}
    response = log_delivery(client, auth, second["id"], soon)
    assert response.status_code == 409 and "at least 60 min from the start" in response.json()["detail"]
    # 50 min of rest after a 10-min session: 50 min from start to start was accepted
    too_soon = log_delivery(client, auth, second["id"], {**body, "performed_at": "2025-03-03T10:20:00Z"})
    assert too_soon.status_code == 409
    later = {**body, "performed_at": "2025-03-03T10:30:00Z"}
    assert log_delivery(client, auth, second["id"], later).status_code == 201


def test_an_accelerated_courses_sessions_keep_slot_and_start_offset_when_they_move(client, auth, app, image):
    # accelerated: 10 sessions a day, 60 min apart. Session 10 (Monday, slot 9) given on
    # Tuesday moves Tuesday's sessions one place on: session 11 stays on Tuesday, one slot
    # (60 min) later. Two missed sessions' replacements take successive slots of one day.
    plan_id = insert_plan(app, image["id"], plan_dict())
    approve(client, auth, plan_id)
    fix_today(app, date(2025, 3, 3))
    course = new_course(client, auth, image["patient_id"], plan_id, protocol="accelerated")
    clear_screening(client, auth, course["id"])
    items = sessions(client, auth, course["id"])["items"]
    body = {**delivery("2025-03-03", pulses=1800), "pct_of_mt": 90}
    for k, item in enumerate(items[:9]):
        assert log_delivery(client, auth, item["id"], {**body, "performed_at": f"2025-03-03T{9 + k:02d}:30:00Z"}).status_code == 201
    fix_today(app, date(2025, 3, 4))
    assert log_delivery(client, auth, items[9]["id"], {**body, "performed_at": "2025-03-04T09:30:00Z"}).status_code == 201

    def placed(indices):
        by_index = {s["index"]: s for s in sessions(client, auth, course["id"])["items"]}
        return [(by_index[i]["date"], by_index[i]["slot"], by_index[i]["offset_minutes"]) for i in indices]

    assert placed([10, 11, 19, 20, 50]) == [("2025-03-03", 9, 540), ("2025-03-04", 1, 60), ("2025-03-04", 9, 540),
                                            ("2025-03-05", 0, 0), ("2025-03-10", 0, 0)]
    for index in (11, 12):
        session_id = next(s["id"] for s in items if s["index"] == index)
        assert client.post(f"/api/v1/sessions/{session_id}/missed", headers=auth["technician"],
                           json={"reason": "no show"}).status_code == 200
    listing = sessions(client, auth, course["id"])["items"]
    assert [s["replaces_index"] for s in listing[-2:]] == [11, 12]
    assert placed([51, 52]) == [("2025-03-10", 1, 60), ("2025-03-10", 2, 120)]


def test_a_late_session_does_not_put_two_sessions_into_one_day(client, auth, course):
    # standard 10 Hz: one session a day. Session 5 (Friday 3/7) given late on Monday 3/10
    # used to let session 6, due that Monday, be logged on the same day too.
    clear_screening(client, auth, course["id"])
    items = sessions(client, auth, course["id"])["items"]
    for item, day in zip(items[:4], ("2025-03-03", "2025-03-04", "2025-03-05", "2025-03-06")):
        assert log_delivery(client, auth, item["id"], delivery(day)).status_code == 201
    assert items[4]["date"] == "2025-03-07" and items[5]["date"] == "2025-03-10"
    assert log_delivery(client, auth, items[4]["id"], delivery("2025-03-10")).status_code == 201
    response = log_delivery(client, auth, items[5]["id"], delivery("2025-03-10", performed_at="2025-03-10T15:00:00Z"))
    assert response.status_code == 409 and "1 session already given on 2025-03-10" in response.json()["detail"]
    assert "allows 1 a day" in response.json()["detail"]
    assert log_delivery(client, auth, items[5]["id"], delivery("2025-03-11")).status_code == 201


def test_a_pause_from_a_later_day_leaves_the_sessions_before_it(client, auth, app, course):
    clear_screening(client, auth, course["id"])
    items = sessions(client, auth, course["id"])["items"]
    fix_now(app, "2025-03-03T08:00:00+00:00")  # the pause is entered before session 1
    paused = client.post(f"/api/v1/courses/{course['id']}/pause", headers=auth["clinician"],
                         json={"from_date": "2025-03-05", "note": "patient travels"})
    assert paused.status_code == 200, paused.text
    assert log_delivery(client, auth, items[0]["id"], delivery("2025-03-03")).status_code == 201
    assert log_delivery(client, auth, items[1]["id"], delivery("2025-03-04")).status_code == 201
    response = log_delivery(client, auth, items[2]["id"], delivery("2025-03-05"))  # held by the pause
    assert response.status_code == 409 and "paused since 2025-03-05" in response.json()["detail"]


def test_sessions_are_logged_in_the_order_they_were_given(client, auth, course):
    # a once-a-day protocol took session 5 logged as given before session 4: week 1 then
    # "ended" before its fourth treatment
    clear_screening(client, auth, course["id"])
    items = sessions(client, auth, course["id"])["items"]
    assert log_delivery(client, auth, items[0]["id"], delivery("2025-03-05")).status_code == 201
    response = log_delivery(client, auth, items[1]["id"], delivery("2025-03-04"))
    assert response.status_code == 409 and "cannot have been given before it" in response.json()["detail"]
    assert log_delivery(client, auth, items[1]["id"], delivery("2025-03-06")).status_code == 201


def test_an_intensity_the_stimulator_cannot_give_is_refused_and_one_above_protocol_raises_an_alert(
        client, auth, course):
    # 120 % of a 90 %MSO threshold is 108 %MSO: stored as "done" with a flag before
    clear_screening(client, auth, course["id"])
    first, second = sessions(client, auth, course["id"])["items"][:2]
    response = log_delivery(client, auth, first["id"], delivery("2025-03-03", rmt_pct_mso=90))
    assert response.status_code == 422 and "more than the stimulator's maximum output" in response.json()["detail"]
    assert sessions(client, auth, course["id"])["items"][0]["state"] == "planned"
    assert log_delivery(client, auth, first["id"], delivery("2025-03-03", rmt_pct_mso=50, pct_of_mt=150)).status_code == 201
    alerts = client.get(f"/api/v1/courses/{course['id']}/alerts", headers=auth["clinician"]).json()["items"]
    assert [a["kind"] for a in alerts] == ["dose_above_protocol"]
    assert "150 % of motor threshold is above the protocol's 120 %" in alerts[0]["detail"]
    assert log_delivery(client, auth, second["id"], delivery("2025-03-04")).status_code == 201  # not a hold


def test_the_log_answer_names_the_alerts_it_raised(client, auth, course):
    # a technician who logs 150 % of MT on a 120 % protocol sees it in the answer, not only
    # a clinician reading the alerts later
    clear_screening(client, auth, course["id"])
    first, second = sessions(client, auth, course["id"])["items"][:2]
    body = delivery("2025-03-03", rmt_pct_mso=50, pct_of_mt=150, side_effects=["seizure"])
    logged = log_delivery(client, auth, first["id"], body, key="log-1")
    assert logged.status_code == 201
    raised = sorted(logged.json()["alerts"], key=lambda a: a["kind"], reverse=True)
    assert [a["kind"] for a in raised] == ["seizure", "dose_above_protocol"]
    assert "above the protocol's 120 %" in raised[1]["detail"] and not raised[1]["acknowledged"]
    replayed = log_delivery(client, auth, first["id"], body, key="log-1")
    assert replayed.status_code == 200 and replayed.json()["alerts"] == logged.json()["alerts"]
    ack = f"/api/v1/alerts/{raised[0]['id']}/acknowledgement"
    assert client.post(ack, headers=auth["clinician"], json={"note": "EEG normal"}).status_code == 200
    read = client.get(f"/api/v1/sessions/{first['id']}", headers=auth["technician"]).json()["delivery"]
    assert {(a["id"], a["acknowledged"]) for a in read["alerts"]} == {(raised[0]["id"], True), (raised[1]["id"], False)}
    listed = sessions(client, auth, course["id"])["items"]
    assert {a["id"] for a in listed[0]["delivery"]["alerts"]} == {a["id"] for a in raised}
    assert log_delivery(client, auth, second["id"], delivery("2025-03-04")).json()["alerts"] == []
    for_navigator = client.get(f"/api/v1/sessions/{first['id']}", headers=auth["navigator"]).json()["delivery"]
    assert for_navigator["alerts"] == [] and for_navigator["clinical_hidden"] is True


@pytest.mark.parametrize("stored, protocol_adjusts, given", [
    ({}, True, 62.4), ({}, False, 60.0),
    ({"depth_adjusted": False}, True, 60.0), ({"depth_adjusted": True}, False, 62.4),
])
def test_a_dose_read_back_gives_the_intensity_its_own_flag_says(stored, protocol_adjusts, given):
    from api.course_service import recorded_dose

    dose = {"intensity_pct_mso": 60.0, "adjusted_intensity_pct_mso": 62.4, **stored}
    read = recorded_dose(dose, protocol_adjusts)
    assert read["given_intensity_pct_mso"] == given
    assert read["depth_adjusted"] is (given == 62.4)
