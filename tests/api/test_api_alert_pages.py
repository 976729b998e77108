"""The alert list across courses, a page at a time: no alert is left off or listed twice."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from course_helpers import another_patients_course

RAISED_AT = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)


def _store_alerts(app, course_ids: list[str]) -> list[str]:
    """Store seven alerts on ``course_ids``: four raised in the same instant (as one request
    can raise several) and three later, one of them acknowledged. Returns the open ones'
    ids, newest first, ties in id order."""
    from api.models_course import Alert

    raised = [RAISED_AT] * 4 + [RAISED_AT + timedelta(minutes=m) for m in (1, 2, 3)]
    with app.state.db.session() as session:
        alerts = [Alert(course_id=course_ids[n % 2], kind="seizure", detail=f"alert {n}",
                        created_at=at) for n, at in enumerate(raised)]
        alerts[5].acknowledged_by, alerts[5].acknowledged_at = "clinician", RAISED_AT
        session.add_all(alerts)
        session.flush()
        open_alerts = [a for a in alerts if a.acknowledged_at is None]
        return [a.id for a in sorted(open_alerts, key=lambda a: (-a.created_at.timestamp(), a.id))]


def _ids(client, auth, query: str) -> list[str]:
    response = client.get(f"/api/v1/alerts?{query}", headers=auth["clinician"])
    assert response.status_code == 200, response.text
    return [a["id"] for a in response.json()["items"]]


def test_alert_pages_list_every_open_alert_once_newest_first(client, auth, app, course, small_head):
    """The list used to stop at the 500 newest alerts without saying so; the older open
    alerts could not be reached at all. Pages of 2 list the six open alerts once each."""
    other = another_patients_course(client, auth, app, small_head, "MRN-2")
    newest_first = _store_alerts(app, [course["id"], other["id"]])
    pages = [_ids(client, auth, f"limit=2&offset={offset}") for offset in (0, 2, 4, 6)]
    assert [len(page) for page in pages] == [2, 2, 2, 0]
    assert sum(pages, []) == newest_first == _ids(client, auth, "")
    page = client.get("/api/v1/alerts?limit=2&offset=2", headers=auth["auditor"]).json()
    assert (page["limit"], page["offset"]) == (2, 2)
    assert len(_ids(client, auth, "open=false&limit=100")) == 7


def test_alert_page_size_is_bounded(client, auth):
    for query in ("limit=0", "limit=501", "offset=-1"):
        response = client.get(f"/api/v1/alerts?{query}", headers=auth["clinician"])
        assert response.status_code == 422, query
