"""The clinic's day of a logged time: every day-counting rule takes it in the clinic's time zone.

A clinic in New York (UTC-5 in March 2025) with a server that runs on UTC: a session at
19:30 local is 00:30 UTC the next day. The one-session-a-day rule, the due dates and the
CSV must all put it on the clinic's day, whatever offset the workstation sent.
"""

from __future__ import annotations

from datetime import date

import pytest
from api_test_fakes import plan_dict
from api_test_helpers import insert_plan
from course_helpers import ZERO_ITEMS, approve, clear_screening, delivery, fix_today, new_course, sessions

from api.app import create_app
from api.config import Settings, load_settings
from navsvc.errors import InputError


@pytest.fixture
def settings(settings) -> Settings:
    """The suite's settings, in a New York clinic."""
    return settings.model_copy(update={"clinic_timezone": "America/New_York"})


@pytest.fixture
def course(client, auth, app, image) -> dict:
    """An active standard course (one session a day) from Monday 2025-03-03, screened."""
    plan_id = insert_plan(app, image["id"], plan_dict())
    approve(client, auth, plan_id)
    fix_today(app, date(2025, 3, 3))
    created = new_course(client, auth, image["patient_id"], plan_id)
    clear_screening(client, auth, created["id"])
    return created


def _log(client, auth, session: dict, performed_at: str):
    body = {**delivery("2025-03-03"), "performed_at": performed_at}
    return client.post(f"/api/v1/sessions/{session['id']}/delivery", headers=auth["technician"], json=body)


def test_two_sessions_on_one_clinic_day_are_refused_across_utc_midnight(client, auth, course):
    # session 1 (Monday) given late, Tuesday 08:00 local; session 2 (Tuesday) then at 19:30
    # local = Wednesday 00:30 UTC. On the server's UTC days they fell on two days and both
    # were accepted: two sessions in one clinic day of a once-a-day protocol.
    first, second = sessions(client, auth, course["id"])["items"][:2]
    assert _log(client, auth, first, "2025-03-04T08:00:00-05:00").status_code == 201
    response = _log(client, auth, second, "2025-03-05T00:30:00Z")
    assert response.status_code == 409, response.text
    assert "1 session already given on 2025-03-04" in response.json()["detail"]
    assert _log(client, auth, second, "2025-03-05T09:00:00-05:00").status_code == 201


def test_an_evening_session_does_not_use_up_the_next_clinic_day(client, auth, course):
    # session 1 on Monday at 19:30 local (Tuesday 00:30 UTC), session 2 on Tuesday morning:
    # one a day in the clinic, refused before as two on UTC Tuesday.
    first, second = sessions(client, auth, course["id"])["items"][:2]
    assert _log(client, auth, first, "2025-03-03T19:30:00-05:00").status_code == 201
    assert _log(client, auth, second, "2025-03-04T09:00:00-05:00").status_code == 201


def test_a_session_is_due_on_the_clinic_day_whatever_offset_is_sent(client, auth, course):
    # Monday 23:00 in New York sent as UTC (Tuesday 04:00Z): it is still Monday, the day of
    # session 1, so session 2 half an hour later is a second session on Monday.
    first, second = sessions(client, auth, course["id"])["items"][:2]
    assert _log(client, auth, first, "2025-03-04T04:00:00Z").status_code == 201
    response = _log(client, auth, second, "2025-03-04T04:30:00Z")
    assert response.status_code == 409 and "1 session already given on 2025-03-03" in response.json()["detail"]


def test_csv_dates_a_rating_on_the_clinic_day(client, auth, course):
    body = {"timepoint": "baseline", "rater": "rater-lee", "rated_at": "2025-03-03T02:00:00Z",
            "items": ZERO_ITEMS, "item16_method": "A"}
    response = client.post(f"/api/v1/courses/{course['id']}/assessments", headers=auth["technician"], json=body)
    assert response.status_code == 201, response.text
    csv_text = client.get(f"/api/v1/courses/{course['id']}/summary.csv", headers=auth["clinician"]).text
    rating_row = next(line for line in csv_text.splitlines() if line.startswith("rating,"))
    assert rating_row.split(",")[2] == "2025-03-02"  # 21:00 on Sunday in New York


def test_an_unknown_clinic_time_zone_is_refused_with_its_name(monkeypatch):
    monkeypatch.setenv("NAVSVC_CLINIC_TIMEZONE", "Europe/Atlantis")
    with pytest.raises(InputError, match="NAVSVC_CLINIC_TIMEZONE='Europe/Atlantis': not a known time zone"):
        load_settings()
    with pytest.raises(InputError):
        create_app()


def _schedule(client, auth, day: str, course: dict) -> list[dict]:
    items = client.get(f"/api/v1/schedule?date={day}", headers=auth["technician"]).json()["items"]
    return [i for i in items if i["course_id"] == course["id"]]


def test_the_day_list_shows_a_delivered_session_on_the_clinic_day_it_was_given(client, auth, course):
    # session 1 (Monday) given Monday at 21:00 New York time = Tuesday 02:00 UTC
    first = sessions(client, auth, course["id"])["items"][0]
    assert _log(client, auth, first, "2025-03-04T02:00:00Z").status_code == 201
    monday = _schedule(client, auth, "2025-03-03", course)
    assert [(i["index"], i["state"]) for i in monday] == [(1, "done")]
    assert monday[0]["given_at"].startswith("2025-03-04T02:00:00")
    assert [i["index"] for i in _schedule(client, auth, "2025-03-04", course)] == [2]


def test_csv_dates_a_session_on_the_clinic_day_it_was_given(client, auth, course):
    # found in review: a session scheduled Tuesday and given Wednesday read as Tuesday, next
    # to a UTC time, while ratings were on the clinic's day
    first, second = sessions(client, auth, course["id"])["items"][:2]
    assert _log(client, auth, first, "2025-03-03T09:00:00-05:00").status_code == 201
    assert _log(client, auth, second, "2025-03-05T10:00:00-05:00").status_code == 201  # a day late
    csv_text = client.get(f"/api/v1/courses/{course['id']}/summary.csv", headers=auth["clinician"]).text
    header, *lines = csv_text.splitlines()
    rows = [dict(zip(header.split(","), line.split(","))) for line in lines]
    second_row = next(r for r in rows if r["record"] == "session" and r["session_index"] == "2")
    assert (second_row["date"], second_row["scheduled_date"]) == ("2025-03-05", "2025-03-04")
    assert second_row["performed_at"] == "2025-03-05T10:00:00-05:00"
    planned = next(r for r in rows if r["record"] == "session" and r["session_index"] == "3")
    assert planned["date"] == planned["scheduled_date"] and planned["performed_at"] == ""


def test_a_write_answers_the_time_in_utc_as_every_later_read_does(client, auth, course):
    # the answer to a log or a rating repeated the offset sent, and reads gave UTC
    first = sessions(client, auth, course["id"])["items"][0]
    logged = _log(client, auth, first, "2025-03-03T19:30:00-05:00")
    assert logged.status_code == 201, logged.text
    read = client.get(f"/api/v1/sessions/{first['id']}", headers=auth["technician"]).json()
    assert logged.json()["performed_at"] == read["delivery"]["performed_at"] == "2025-03-04T00:30:00Z"

    rated = client.post(f"/api/v1/courses/{course['id']}/assessments", headers=auth["clinician"],
                        json={"timepoint": "extra", "rater": "rater-lee", "rated_at": "2025-03-03T15:00:00+01:00",
                              "items": ZERO_ITEMS, "item16_method": "A"})
    assert rated.status_code == 201, rated.text
    listed = client.get(f"/api/v1/courses/{course['id']}/assessments", headers=auth["clinician"]).json()
    again = next(a for a in listed["items"] if a["id"] == rated.json()["id"])
    assert rated.json()["rated_at"] == again["rated_at"] == "2025-03-03T14:00:00Z"
