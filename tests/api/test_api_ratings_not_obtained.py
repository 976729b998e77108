"""Ratings recorded as not obtained over HTTP: with a reason, the timepoint leaves the ratings
due; refused for a rated, already recorded or unknown timepoint, which changes nothing."""

from __future__ import annotations

from datetime import date

import pytest
from course_helpers import (
    another_patients_course,
    deliver_sessions,
    fix_today,
    rate,
)


def _stopped_after_week1(client, auth, app, course) -> None:
    deliver_sessions(client, auth, course, 7)
    assert client.post(f"/api/v1/courses/{course['id']}/stop", headers=auth["clinician"],
                       json={"note": "moved away"}).status_code == 200
    fix_today(app, date(2025, 3, 20))


def _not_obtained(client, auth, course, timepoint: str, reason: str = "patient moved away",
                  role: str = "clinician"):
    return client.post(f"/api/v1/courses/{course['id']}/ratings-not-obtained", headers=auth[role],
                       json={"timepoint": timepoint, "reason": reason})


def _due(client, auth) -> list[tuple[str, str]]:
    items = client.get("/api/v1/assessments/due", headers=auth["clinician"]).json()["items"]
    return [(i["timepoint"], i["status"]) for i in items]


def _statuses(client, auth, course) -> dict[str, str]:
    summary = client.get(f"/api/v1/courses/{course['id']}/summary", headers=auth["auditor"]).json()
    return {f["timepoint"]: f["status"] for f in summary["followups"]}


def test_a_stopped_courses_unrated_week_leaves_the_due_list_once_recorded_not_obtained(
        client, auth, app, course, small_head):
    _stopped_after_week1(client, auth, app, course)
    # the stop after session 7 closes week 2 early; both stayed overdue for ever. Week 1's
    # can no longer be taken (sessions 6 and 7 were given after it): missed, listed first
    assert _due(client, auth) == [("week1", "missed"), ("week2", "overdue")]
    recorded = _not_obtained(client, auth, course, "week1")
    assert recorded.status_code == 201, recorded.text
    assert (recorded.json()["timepoint"], recorded.json()["recorded_by"]) == ("week1", "clinician")
    assert _due(client, auth) == [("week2", "overdue")]
    assert _not_obtained(client, auth, course, "week2", "no visit after the stop").status_code == 201
    assert _due(client, auth) == []
    assert _statuses(client, auth, course)["week1"] == "not_obtained"
    listed = client.get(f"/api/v1/courses/{course['id']}/ratings-not-obtained", headers=auth["auditor"])
    assert [(r["timepoint"], r["reason"]) for r in listed.json()["items"]] == [
        ("week1", "patient moved away"), ("week2", "no visit after the stop")]
    # another patient's record is not this course's
    other = another_patients_course(client, auth, app, small_head, "MRN-NOT-OBTAINED-2")
    assert _not_obtained(client, auth, other, "baseline", "declined the interview").status_code == 201
    again = client.get(f"/api/v1/courses/{course['id']}/ratings-not-obtained", headers=auth["auditor"])
    assert again.json() == listed.json()
    theirs = client.get(f"/api/v1/courses/{other['id']}/ratings-not-obtained", headers=auth["auditor"])
    assert [r["timepoint"] for r in theirs.json()["items"]] == ["baseline"]
    # taken after all: the rating is accepted and the timepoint is done; the record stays
    assert rate(client, auth, course["id"], "week1", "2025-03-08").status_code == 201
    assert _statuses(client, auth, course)["week1"] == "done"
    assert len(client.get(f"/api/v1/courses/{course['id']}/ratings-not-obtained",
                          headers=auth["auditor"]).json()["items"]) == 2


@pytest.mark.parametrize(("timepoint", "reason", "status", "words"), [
    ("baseline", "x", 409, "was taken"),
    ("week1", "", 422, "reason"),
    ("week4", "x", 422, "weeks 1-3"),
    ("extra", "x", 422, "timepoint"),
    ("week1", "x", 409, "already recorded"),
    ("week2", "x", 422, "not due yet"),  # an active course's week still to come stays due
])
def test_a_refused_record_changes_nothing(client, auth, app, course, timepoint, reason, status, words):
    assert rate(client, auth, course["id"], "baseline", "2025-03-01").status_code == 201
    deliver_sessions(client, auth, course, 5)
    fix_today(app, date(2025, 3, 8))
    assert _not_obtained(client, auth, course, "week1", "first").status_code == 201
    response = _not_obtained(client, auth, course, timepoint, reason)
    assert response.status_code == status and words in response.json()["detail"]
    listed = client.get(f"/api/v1/courses/{course['id']}/ratings-not-obtained", headers=auth["auditor"])
    assert [(r["timepoint"], r["reason"]) for r in listed.json()["items"]] == [("week1", "first")]
    assert _statuses(client, auth, course) == {"baseline": "done", "week1": "not_obtained",
                                               "week2": "upcoming", "week3": "upcoming"}


def test_a_record_made_in_error_is_withdrawn_and_kept(client, auth, app, course):
    assert rate(client, auth, course["id"], "baseline", "2025-03-01").status_code == 201
    deliver_sessions(client, auth, course, 5)
    fix_today(app, date(2025, 3, 12))
    record = _not_obtained(client, auth, course, "week1", "meant another patient").json()
    assert _due(client, auth) == []
    url = record["links"]["withdraw"]
    assert client.post(url, headers=auth["technician"], json={"reason": "x"}).status_code == 403
    withdrawn = client.post(url, headers=auth["clinician"], json={"reason": "recorded in error"})
    assert withdrawn.status_code == 200, withdrawn.text
    body = withdrawn.json()
    assert (body["withdrawn_by"], body["withdrawal_reason"], body["links"]) == ("clinician", "recorded in error", {})
    assert _due(client, auth) == [("week1", "overdue")]  # due again
    again = client.post(url, headers=auth["clinician"], json={"reason": "twice"})
    assert again.status_code == 409 and "withdrawn by clinician" in again.json()["detail"]
    assert _not_obtained(client, auth, course, "week1", "patient withdrew").status_code == 201
    listed = client.get(f"/api/v1/courses/{course['id']}/ratings-not-obtained", headers=auth["auditor"])
    assert [(r["reason"], r["withdrawal_reason"]) for r in listed.json()["items"]] == [
        ("meant another patient", "recorded in error"), ("patient withdrew", None)]
    assert _due(client, auth) == []
    other = client.post(f"/api/v1/courses/{course['id']}/ratings-not-obtained/no-such-record/withdrawal",
                        headers=auth["clinician"], json={"reason": "x"})
    assert other.status_code == 404


def test_only_a_clinician_records_a_rating_not_obtained(client, auth, course):
    for role in ("technician", "navigator", "auditor", "admin"):
        assert _not_obtained(client, auth, course, "baseline", role=role).status_code == 403
    assert client.post("/api/v1/courses/no-such-course/ratings-not-obtained", headers=auth["clinician"],
                       json={"timepoint": "baseline", "reason": "x"}).status_code == 404
    assert _statuses(client, auth, course)["baseline"] == "due"
