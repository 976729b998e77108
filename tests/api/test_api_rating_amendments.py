"""Amending a HAMD-17 rating over HTTP: the correction and its reason are kept with every
version it replaced, the course's outcome follows, and a refused amendment changes nothing."""

from __future__ import annotations

import csv
import io

import pytest
from course_helpers import (
    ZERO_ITEMS,
    clear_screening,
    deliver_sessions,
    delivery,
    fix_now,
    items_with_total,
    rate,
    sessions,
)


def _amend(client, auth, rating_id: str, **body):
    body = {"version": 1, "reason": "item typed from the wrong row of the paper form",
            "items": ZERO_ITEMS, "item16_method": "A", **body}
    return client.post(f"/api/v1/assessments/{rating_id}/amendments", headers=auth["clinician"],
                       json=body)


def _versions(client, auth, rating_id: str) -> list[dict]:
    response = client.get(f"/api/v1/assessments/{rating_id}/versions", headers=auth["auditor"])
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_amending_the_baseline_changes_the_courses_outcome_and_keeps_the_old_version(
        client, auth, app, course):
    baseline = rate(client, auth, course["id"], "baseline", "2025-03-01", items_with_total(30)).json()
    deliver_sessions(client, auth, course)
    rate(client, auth, course["id"], "week3", "2025-03-21", items_with_total(14))
    summary = client.get(f"/api/v1/courses/{course['id']}/summary", headers=auth["clinician"]).json()
    assert summary["response"] is True  # 30 -> 14: 53 % down

    fix_now(app, "2025-03-24T09:00:00+00:00")
    amended = _amend(client, auth, baseline["id"], items=items_with_total(20), rater="rater-kim")
    assert amended.status_code == 200, amended.text
    body = amended.json()
    assert (body["total"], body["version"], body["rater"], body["timepoint"]) == (20, 2, "rater-kim", "baseline")
    assert body["amended_by"] == "clinician" and body["amended_at"].startswith("2025-03-24T09:00")
    assert body["rated_at"] == baseline["rated_at"]  # unchanged when not given

    summary = client.get(f"/api/v1/courses/{course['id']}/summary", headers=auth["clinician"]).json()
    assert summary["response"] is False  # 20 -> 14: 30 % down
    listed = client.get(f"/api/v1/courses/{course['id']}/assessments", headers=auth["auditor"]).json()
    week3 = next(a for a in listed["items"] if a["timepoint"] == "week3")
    assert (week3["baseline_total"], week3["change_from_baseline"]) == (20, -6)

    versions = _versions(client, auth, baseline["id"])
    assert [(v["version"], v["total"], v["rater"]) for v in versions] == [
        (1, 30, "rater-lee"), (2, 20, "rater-kim")]
    assert versions[0]["recorded_by"] == "technician" and versions[0]["replaced_by"] == "clinician"
    assert versions[0]["reason"] == "item typed from the wrong row of the paper form"
    assert versions[0]["items"] == baseline["items"]
    assert (versions[1]["replaced_at"], versions[1]["reason"], versions[1]["recorded_by"]) == (
        None, None, "clinician")

    csv_text = client.get(f"/api/v1/courses/{course['id']}/summary.csv", headers=auth["auditor"]).text
    rows = [r for r in csv.DictReader(io.StringIO(csv_text)) if r["record"] == "rating"]
    assert [(r["timepoint"], r["hamd17_total"], r["rating_version"]) for r in rows] == [
        ("baseline", "20", "2"), ("week3", "14", "1")]


def test_a_second_amendment_needs_the_version_it_corrects(client, auth, course):
    rating = rate(client, auth, course["id"], "baseline", "2025-03-01", items_with_total(22)).json()
    assert _amend(client, auth, rating["id"], items=items_with_total(21)).status_code == 200
    stale = _amend(client, auth, rating["id"], items=items_with_total(25))  # read before the first
    assert stale.status_code == 409
    assert "version 2" in stale.json()["detail"] and "read it again" in stale.json()["detail"]
    again = _amend(client, auth, rating["id"], version=2, items=items_with_total(25), reason="second look")
    assert again.status_code == 200 and again.json()["version"] == 3
    versions = _versions(client, auth, rating["id"])
    assert [(v["version"], v["total"], v["reason"]) for v in versions] == [
        (1, 22, "item typed from the wrong row of the paper form"), (2, 21, "second look"), (3, 25, None)]
    assert versions[1]["recorded_at"] == versions[0]["replaced_at"]
    # an amended rating of the same course lists its own versions only, and leaves these
    extra = rate(client, auth, course["id"], "extra", "2025-03-02", items_with_total(10)).json()
    assert _amend(client, auth, extra["id"], items=items_with_total(11)).status_code == 200
    assert [(v["version"], v["total"]) for v in _versions(client, auth, extra["id"])] == [(1, 10), (2, 11)]
    assert _versions(client, auth, rating["id"]) == versions


@pytest.mark.parametrize(("change", "status", "words"), [
    ({"reason": ""}, 422, "reason"),
    ({"reason": None}, 422, "reason"),
    ({"items": {**ZERO_ITEMS, "4": 3}}, 422, "item 4 ("),
    ({"items": {k: v for k, v in ZERO_ITEMS.items() if k != "9"}}, 422, "item 9 ("),
    ({"item16_method": "C"}, 422, "item16_method"),
    ({"timepoint": "week1"}, 422, "timepoint"),
    ({"version": 0}, 422, "version"),
    ({"rated_at": "2025-03-01T15:00:00"}, 422, "time zone"),
    ({"rated_at": "2125-03-01T15:00:00Z"}, 422, "future"),
    ({"rated_at": "2025-03-03T16:00:00Z"}, 422, "baseline"),  # after the first session
    ({"items": items_with_total(18), "rater": "rater-lee"}, 422, "nothing to amend"),
    ({"version": 2}, 409, "version 1"),
    ({"version": True}, 422, "version"),
    ({"timepoint": "week9"}, 422, "weeks 1-3"),
])
def test_a_refused_amendment_changes_nothing(client, auth, app, course, change, status, words):
    rating = rate(client, auth, course["id"], "baseline", "2025-03-01", items_with_total(18)).json()
    deliver_sessions(client, auth, course, count=1)  # the first session, given 2025-03-03
    response = _amend(client, auth, rating["id"], **{"items": items_with_total(19), **change})
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]
    listed = client.get(f"/api/v1/courses/{course['id']}/assessments", headers=auth["auditor"]).json()
    assert [(a["total"], a["version"], a["rated_at"]) for a in listed["items"]] == [
        (18, 1, rating["rated_at"])]
    assert len(_versions(client, auth, rating["id"])) == 1


def test_only_a_clinician_amends_and_an_unknown_rating_is_404(client, auth, course):
    rating = rate(client, auth, course["id"], "baseline", "2025-03-01", items_with_total(18)).json()
    body = {"version": 1, "reason": "r", "items": ZERO_ITEMS, "item16_method": "A"}
    for role in ("technician", "navigator", "auditor", "admin"):
        response = client.post(f"/api/v1/assessments/{rating['id']}/amendments", headers=auth[role],
                               json=body)
        assert response.status_code == 403
    assert _amend(client, auth, "no-such-rating").status_code == 404
    assert client.get("/api/v1/assessments/no-such-rating/versions",
                      headers=auth["auditor"]).status_code == 404
    assert _versions(client, auth, rating["id"])[0]["total"] == 18


def test_a_week_rating_moved_to_another_time_must_fit_its_week(client, auth, course):
    deliver_sessions(client, auth, course, count=10)  # weeks 1 and 2 closed: 2025-03-07 and 2025-03-14
    week1 = rate(client, auth, course["id"], "week1", "2025-03-07", items_with_total(15)).json()
    late = _amend(client, auth, week1["id"], items=items_with_total(15), rated_at="2025-03-12T15:00:00Z")
    assert late.status_code == 422 and "week" in late.json()["detail"]
    moved = _amend(client, auth, week1["id"], items=items_with_total(15), rated_at="2025-03-08T10:00:00Z")
    assert moved.status_code == 200, moved.text
    assert moved.json()["rated_at"].startswith("2025-03-08T10:00")


def test_a_rating_the_timing_alert_flagged_is_re_filed_as_extra(client, auth, app, course):
    baseline = rate(client, auth, course["id"], "baseline", "2025-03-04", items_with_total(30)).json()
    clear_screening(client, auth, course["id"])
    first = sessions(client, auth, course["id"])["items"][0]
    logged = client.post(f"/api/v1/sessions/{first['id']}/delivery", headers=auth["technician"],
                         json=delivery("2025-03-03"))  # given before the baseline was taken
    assert [a["kind"] for a in logged.json()["alerts"]] == ["rating_timing"]
    refiled = _amend(client, auth, baseline["id"], items=items_with_total(30),
                     reason="taken after session 1: not a baseline", timepoint="extra")
    assert refiled.status_code == 200, refiled.text
    assert (refiled.json()["timepoint"], refiled.json()["item16_method"]) == ("extra", "A")
    summary = client.get(f"/api/v1/courses/{course['id']}/summary", headers=auth["clinician"]).json()
    assert {f["timepoint"]: f["status"] for f in summary["followups"]}["baseline"] == "overdue"
    assert [(v["timepoint"], v["total"]) for v in _versions(client, auth, baseline["id"])] == [
        ("baseline", 30), ("extra", 30)]
    # and back is refused: a baseline comes before the first session given
    back = _amend(client, auth, baseline["id"], version=2, items=items_with_total(30), timepoint="baseline")
    assert back.status_code == 422 and "before treatment" in back.json()["detail"]


def test_a_timepoint_another_rating_has_is_refused(client, auth, course):
    rate(client, auth, course["id"], "baseline", "2025-03-01", items_with_total(20))
    extra = rate(client, auth, course["id"], "extra", "2025-03-02", items_with_total(21)).json()
    taken = _amend(client, auth, extra["id"], items=items_with_total(21), timepoint="baseline")
    assert taken.status_code == 409 and "a baseline rating exists" in taken.json()["detail"]
    unchanged = _amend(client, auth, extra["id"], items=items_with_total(22), item16_method=None)
    assert unchanged.status_code == 200 and unchanged.json()["item16_method"] == "A"


def test_the_suicide_item_amended_up_raises_an_alert_and_down_leaves_it_open(client, auth, course):
    rating = rate(client, auth, course["id"], "baseline", "2025-03-01", ZERO_ITEMS).json()
    assert rating["alert_id"] is None
    up = _amend(client, auth, rating["id"], items={**ZERO_ITEMS, "3": 3}).json()
    assert up["suicide_alert"] is True and up["alert_id"]
    alerts = client.get("/api/v1/alerts", headers=auth["clinician"]).json()["items"]
    assert [(a["id"], a["kind"], a["source_id"]) for a in alerts] == [(up["alert_id"], "suicide_item", rating["id"])]
    assert "amended from 0 to 3" in alerts[0]["detail"]
    down = _amend(client, auth, rating["id"], version=2, items=ZERO_ITEMS, reason="misheard").json()
    assert down["suicide_alert"] is False and down["alert_id"] is None
    assert [a["id"] for a in client.get("/api/v1/alerts", headers=auth["clinician"]).json()["items"]] == [
        up["alert_id"]]  # a clinician closes it, saying what was done


def test_a_rising_suicide_item_raises_no_second_alert_while_the_first_is_open(client, auth, course):
    rating = rate(client, auth, course["id"], "baseline", "2025-03-01", {**ZERO_ITEMS, "3": 3}).json()
    assert rating["alert_id"]
    higher = _amend(client, auth, rating["id"], items={**ZERO_ITEMS, "3": 4}).json()
    assert higher["alert_id"] == rating["alert_id"]
    alerts = client.get("/api/v1/alerts", headers=auth["clinician"]).json()["items"]
    assert [a["id"] for a in alerts] == [rating["alert_id"]]
    assert "scored 3" in alerts[0]["detail"] and "amended to 4" in alerts[0]["detail"]
    ack = client.post(f"/api/v1/alerts/{rating['alert_id']}/acknowledgement", headers=auth["clinician"],
                      json={"note": "seen"})
    assert ack.status_code == 200
    lower = _amend(client, auth, rating["id"], version=2, items={**ZERO_ITEMS, "3": 3}).json()
    assert lower["alert_id"] is None  # not higher than before
    again = _amend(client, auth, rating["id"], version=3, items={**ZERO_ITEMS, "3": 4}).json()
    assert again["alert_id"]  # higher, and no alert of this rating open
