"""When a HAMD-17 rating may be taken, over HTTP: a week's rating after the session that
closes the week and before the next one, a baseline before the first session, nothing dated
in the future, and the alert when a session logged later puts a stored rating out of time."""

from __future__ import annotations

import pytest
from course_helpers import (
    ZERO_ITEMS,
    clear_screening,
    deliver_sessions,
    delivery,
    rate,
    rate_at,
    sessions,
)


def test_a_week_rating_before_the_week_ends_is_refused(client, auth, course):
    # while session 5 is planned, even on its scheduled day: given late or missed later, a
    # week-1 rating stored then would predate the end of week 1
    for day in ("2025-03-05", "2025-03-07"):
        response = rate(client, auth, course["id"], "week1", day)
        assert response.status_code == 422
        assert ("week 1 ends with session 5 (scheduled 2025-03-07), which is not logged yet"
                in response.json()["detail"])
        assert "'extra'" in response.json()["detail"]
    # session 5 given late, on Monday 3/10: the week ends that day
    clear_screening(client, auth, course["id"])
    items = sessions(client, auth, course["id"])["items"]
    for s, day in zip(items[:5], ("2025-03-03", "2025-03-04", "2025-03-05", "2025-03-06", "2025-03-10")):
        response = client.post(f"/api/v1/sessions/{s['id']}/delivery", headers=auth["technician"],
                               json=delivery(day))
        assert response.status_code == 201, response.text
    response = rate(client, auth, course["id"], "week1", "2025-03-07")
    assert response.status_code == 422 and "session 5, given at 2025-03-10T09:30" in response.json()["detail"]
    assert rate(client, auth, course["id"], "extra", "2025-03-07").status_code == 201
    assert rate(client, auth, course["id"], "week1", "2025-03-10").status_code == 201
    listed = client.get(f"/api/v1/courses/{course['id']}/assessments", headers=auth["auditor"]).json()["items"]
    assert [a["timepoint"] for a in listed] == ["extra", "week1"]


def test_a_baseline_dated_after_treatment_began_is_refused(client, auth, course):
    # a "baseline" rated after ten sessions made every week's change relative to a treated patient
    clear_screening(client, auth, course["id"])
    first = sessions(client, auth, course["id"])["items"][0]
    assert client.post(f"/api/v1/sessions/{first['id']}/delivery", headers=auth["technician"],
                       json=delivery("2025-03-03")).status_code == 201
    response = rate(client, auth, course["id"], "baseline", "2025-03-04")
    assert response.status_code == 422
    assert "the first session was given at 2025-03-03T09:30" in response.json()["detail"]
    # the afternoon of the first session is after it (it was accepted: the same clinic day)
    afternoon = rate(client, auth, course["id"], "baseline", "2025-03-03")  # 15:00Z, session at 09:30Z
    assert afternoon.status_code == 422 and "before this rating (2025-03-03T15:00" in afternoon.json()["detail"]
    morning = client.post(f"/api/v1/courses/{course['id']}/assessments", headers=auth["technician"],
                          json={"timepoint": "baseline", "rater": "rater-lee", "rated_at": "2025-03-03T08:00:00Z",
                                "items": ZERO_ITEMS, "item16_method": "A"})
    assert morning.status_code == 201, morning.text


@pytest.mark.parametrize("record", ["rating", "delivery"])
def test_a_record_dated_in_the_future_is_refused(client, auth, course, record):
    clear_screening(client, auth, course["id"])
    first = sessions(client, auth, course["id"])["items"][0]
    if record == "rating":  # a baseline typed a year ahead would stand in every summary
        response = rate(client, auth, course["id"], "baseline", "2199-03-01")
    else:
        response = client.post(f"/api/v1/sessions/{first['id']}/delivery", headers=auth["technician"],
                               json=delivery("2199-03-03"))
    assert response.status_code == 422 and "lies in the future" in response.json()["detail"]
    assert client.get(f"/api/v1/courses/{course['id']}/assessments", headers=auth["auditor"]).json()["items"] == []
    assert sessions(client, auth, course["id"])["items"][0]["state"] == "planned"


def test_a_week_rating_is_taken_between_the_weeks_last_session_and_the_next(client, auth, course):
    # found in review: a week-1 rating at 08:00 before session 5 at 14:00 the same day, and one
    # taken after all fifteen sessions, were both stored as week 1
    clear_screening(client, auth, course["id"])
    items = sessions(client, auth, course["id"])["items"]
    days = ("2025-03-03", "2025-03-04", "2025-03-05", "2025-03-06", "2025-03-07", "2025-03-10")
    for s, day in zip(items[:5], days):
        assert client.post(f"/api/v1/sessions/{s['id']}/delivery", headers=auth["technician"],
                           json=delivery(day)).status_code == 201
    before = rate_at(client, auth, course["id"], "week1", "2025-03-07T08:00:00Z")
    assert before.status_code == 422 and "comes before it: check the time" in before.json()["detail"]
    assert client.post(f"/api/v1/sessions/{items[5]['id']}/delivery", headers=auth["technician"],
                       json=delivery(days[5])).status_code == 201
    after_more = rate_at(client, auth, course["id"], "week1", "2025-03-10T15:00:00Z")
    assert after_more.status_code == 422
    assert ("a session was given at 2025-03-10T09:30+00:00, after session 5 closed treatment week 1"
            in after_more.json()["detail"])
    assert rate_at(client, auth, course["id"], "week1", "2025-03-08T10:00:00Z").status_code == 201


def test_the_last_weeks_rating_is_held_to_its_time_too(client, auth, course):
    deliver_sessions(client, auth, course)  # session 15, closing week 3, at 09:30 on 2025-03-21
    before = rate_at(client, auth, course["id"], "week3", "2025-03-21T08:00:00Z")
    assert before.status_code == 422 and "comes before it: check the time" in before.json()["detail"]
    assert rate_at(client, auth, course["id"], "week3", "2025-03-21T10:00:00Z").status_code == 201


def test_a_session_logged_before_an_existing_baseline_raises_an_alert(client, auth, course):
    # found in review: a baseline rated on 3/4 while nothing was logged, then session 1 logged
    # as given on 3/3, left a "baseline" taken after treatment began, silently
    clear_screening(client, auth, course["id"])
    assert rate_at(client, auth, course["id"], "baseline", "2025-03-04T08:00:00Z").status_code == 201
    first, second = sessions(client, auth, course["id"])["items"][:2]
    logged = client.post(f"/api/v1/sessions/{first['id']}/delivery", headers=auth["technician"],
                         json=delivery("2025-03-03"))
    assert logged.status_code == 201, logged.text  # what was given is recorded
    [alert] = logged.json()["alerts"]
    assert alert["kind"] == "rating_timing" and not alert["acknowledged"]
    assert alert["detail"] == ("session 1, logged as given at 2025-03-03T09:30+00:00, makes the baseline "
                               "rating (taken at 2025-03-04T08:00+00:00) no longer the baseline rating: "
                               "a clinician should check both times")
    # raised once: the next session does not raise it again
    again = client.post(f"/api/v1/sessions/{second['id']}/delivery", headers=auth["technician"],
                        json=delivery("2025-03-04"))
    assert again.status_code == 201 and again.json()["alerts"] == []
    listed = client.get(f"/api/v1/courses/{course['id']}/alerts", headers=auth["clinician"])
    assert [a["kind"] for a in listed.json()["items"]] == ["rating_timing"]


def test_a_session_logged_before_an_existing_week_rating_raises_an_alert(client, auth, course):
    # week 1 closed with session 5 on Friday; its rating was taken on Monday at 10:00; then
    # session 6 is logged as given that Monday at 09:30, before the rating
    deliver_sessions(client, auth, course, 5)
    items = sessions(client, auth, course["id"])["items"]
    assert rate_at(client, auth, course["id"], "week1", "2025-03-10T10:00:00Z").status_code == 201
    logged = client.post(f"/api/v1/sessions/{items[5]['id']}/delivery", headers=auth["technician"],
                         json=delivery("2025-03-10"))
    assert logged.status_code == 201, logged.text
    [alert] = logged.json()["alerts"]
    assert alert["kind"] == "rating_timing"
    assert alert["detail"] == ("session 6, logged as given at 2025-03-10T09:30+00:00, makes the week1 "
                               "rating (taken at 2025-03-10T10:00+00:00) no longer the week1 rating: "
                               "a clinician should check both times")
