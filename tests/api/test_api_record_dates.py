"""Dates and times a record may carry, and request methods the audit log records: a value at
the calendar's ends is a 422, not a 500 (or a stored rating that breaks the course's plot)."""

from __future__ import annotations

import pytest
from course_helpers import ZERO_ITEMS

OUT_OF_RANGE = "between 1900-01-01 and 2199-12-31"


@pytest.mark.parametrize("rated_at", ["9999-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00",
                                      "9999-12-31T23:00:00-02:00", "1899-12-31T12:00:00Z"])
def test_a_rating_dated_outside_the_record_range_is_refused_and_nothing_is_stored(client, auth, course, rated_at):
    url = f"/api/v1/courses/{course['id']}/assessments"
    body = {"timepoint": "baseline", "rater": "r", "rated_at": rated_at, "items": ZERO_ITEMS,
            "item16_method": "A"}
    response = client.post(url, headers=auth["technician"], json=body)
    assert response.status_code == 422 and OUT_OF_RANGE in response.text, response.text
    assert client.get(url, headers=auth["clinician"]).json()["items"] == []
    # the course's plot (a year-9999 rating had broken it for good) still draws
    plot = client.get(f"/api/v1/courses/{course['id']}/summary.png", headers=auth["clinician"])
    assert plot.status_code == 200 and plot.content.startswith(b"\x89PNG")


@pytest.mark.parametrize("rated_at", [0, -1, 1.5, "1", "1741000000"])
def test_a_number_is_not_a_record_time(client, auth, course, rated_at):
    # found by fuzzing: pydantic read 0 as seconds since 1970, and a rating dated 1970-01-01
    # was stored on a course that started in 2025
    url = f"/api/v1/courses/{course['id']}/assessments"
    body = {"timepoint": "extra", "rater": "r", "rated_at": rated_at, "items": ZERO_ITEMS,
            "item16_method": "A"}
    response = client.post(url, headers=auth["technician"], json=body)
    assert response.status_code == 422 and "must be an ISO 8601 date as text" in response.text, response.text
    assert client.get(url, headers=auth["clinician"]).json()["items"] == []
    schedule = client.get(f"/api/v1/schedule?date={rated_at}", headers=auth["technician"])
    assert schedule.status_code == 422 and "ISO 8601" in schedule.text


def test_course_and_schedule_days_outside_the_record_range_are_refused(client, auth, app, patient, plan_id, course):
    body = {"plan_id": plan_id, "protocol": "standard_10hz", "start_date": "9999-12-31", "arm": "active"}
    response = client.post(f"/api/v1/patients/{patient['id']}/courses", headers=auth["clinician"], json=body)
    assert response.status_code == 422 and OUT_OF_RANGE in response.text, response.text
    response = client.get("/api/v1/schedule?date=9999-12-31", headers=auth["technician"])
    assert response.status_code == 422 and OUT_OF_RANGE in response.text, response.text


def test_audit_query_times_outside_the_record_range_are_refused(client, auth):
    response = client.get("/api/v1/audit?since=0001-01-01T00:00:00%2B01:00", headers=auth["auditor"])
    assert response.status_code == 422 and OUT_OF_RANGE in response.text, response.text


def test_an_unknown_long_method_is_a_405_and_its_audit_record_fits_the_column(client, auth):
    response = client.request("UNSUBSCRIBE", "/api/v1/patients", headers=auth["clinician"])
    assert response.status_code == 405
    events = client.get("/api/v1/audit?limit=200", headers=auth["auditor"]).json()["items"]
    methods = [event["method"] for event in events]
    assert "UNSUBSCRI" in "".join(methods) and max(len(m) for m in methods) <= 10
