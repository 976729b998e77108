"""Migrations go down and up again on a database that holds a course, keeping its records.

SQLite alters a table by rebuilding it; with foreign keys enforced, the rebuild of
``courses`` in the downgrade of 0004 failed once the course had sessions (dropping the old
table violated their foreign key). The migrations now run with SQLite's foreign keys off
and checked before the commit (api/migrations/env.py).
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from alembic import command
from api_test_fakes import plan_dict
from api_test_helpers import insert_plan
import pytest
from course_helpers import (
    ZERO_ITEMS,
    approve,
    clear_screening,
    delivery,
    fix_now,
    fix_today,
    items_with_total,
    new_course,
    rate,
    sessions,
)

from api.backup import reflected_tables, row_counts
from api.migrations import alembic_config, upgrade


def _counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            counts = row_counts(connection, reflected_tables(engine))
            if engine.dialect.name == "sqlite":
                assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            return counts
    finally:
        engine.dispose()


def test_the_migrations_go_down_and_up_again_keeping_a_courses_records(client, auth, app, image, settings):
    plan_id = insert_plan(app, image["id"], plan_dict())
    approve(client, auth, plan_id)
    fix_today(app, date(2025, 3, 3))
    course = new_course(client, auth, image["patient_id"], plan_id)
    clear_screening(client, auth, course["id"])
    assert rate(client, auth, course["id"], "baseline", "2025-03-01", items_with_total(20)).status_code == 201
    first = sessions(client, auth, course["id"])["items"][0]
    logged = client.post(f"/api/v1/sessions/{first['id']}/delivery", headers=auth["technician"],
                         json=delivery("2025-03-03"))
    assert logged.status_code == 201, logged.text
    fix_now(app, "2025-03-03T12:00:00+00:00")
    assert client.post(f"/api/v1/courses/{course['id']}/pause", headers=auth["clinician"],
                       json={"note": "holiday"}).status_code == 200
    url = settings.resolved_database_url
    before = _counts(url)
    assert before["course_sessions"] == 15 and before["deliveries"] == 1 and before["course_holds"] == 1
    assert before["assessments"] == 1

    command.downgrade(alembic_config(url), "0003")
    down = _counts(url)
    later_tables = {"course_holds", "assessment_versions", "ratings_not_obtained"}
    assert not later_tables & down.keys()
    assert {name: n for name, n in before.items() if name not in later_tables} == down

    upgrade(url)
    assert _counts(url) == before  # the pause's hold entered again from the audit record
    read = client.get(f"/api/v1/courses/{course['id']}", headers=auth["clinician"])
    assert read.status_code == 200 and read.json()["status"] == "paused"


def test_a_downgrade_that_would_lose_amendments_or_ratings_not_obtained_is_refused(client, auth, app, image, settings):
    plan_id = insert_plan(app, image["id"], plan_dict())
    approve(client, auth, plan_id)
    fix_today(app, date(2025, 3, 3))
    course = new_course(client, auth, image["patient_id"], plan_id)
    rating = rate(client, auth, course["id"], "baseline", "2025-03-01", items_with_total(20)).json()
    amended = client.post(f"/api/v1/assessments/{rating['id']}/amendments", headers=auth["clinician"],
                          json={"version": 1, "reason": "typed into the wrong form",
                                "items": ZERO_ITEMS, "item16_method": "A"})
    assert amended.status_code == 200, amended.text
    url = settings.resolved_database_url
    before = _counts(url)
    with pytest.raises(RuntimeError, match="would lose the versions"):
        command.downgrade(alembic_config(url), "0005")
    # one transaction for every revision: 0007's downgrade, before 0006's refusal, is undone
    # too (SQLite committed each revision on its own, leaving the database at 0006)
    assert _counts(url) == before
    clear_screening(client, auth, course["id"])
    first = sessions(client, auth, course["id"])["items"][0]
    assert client.post(f"/api/v1/sessions/{first['id']}/delivery", headers=auth["technician"],
                       json=delivery("2025-03-03")).status_code == 201
    assert client.post(f"/api/v1/courses/{course['id']}/stop", headers=auth["clinician"],
                       json={"note": "patient withdrew"}).status_code == 200
    recorded = client.post(f"/api/v1/courses/{course['id']}/ratings-not-obtained", headers=auth["clinician"],
                           json={"timepoint": "week1", "reason": "patient withdrew"})
    assert recorded.status_code == 201, recorded.text
    with pytest.raises(RuntimeError, match="would lose them"):
        command.downgrade(alembic_config(url), "0006")
    assert _counts(url)["ratings_not_obtained"] == 1
    read = client.get(f"/api/v1/assessments/{rating['id']}/versions", headers=auth["auditor"])
    assert [v["total"] for v in read.json()["items"]] == [20, 0]


def test_0008_keeps_who_marked_a_session_missed_and_refuses_to_lose_a_reason(client, auth, app, image, settings):
    plan_id = insert_plan(app, image["id"], plan_dict())
    approve(client, auth, plan_id)
    fix_today(app, date(2025, 3, 3))
    fix_now(app, "2025-03-03T09:30:00+00:00")
    course = new_course(client, auth, image["patient_id"], plan_id)
    items = sessions(client, auth, course["id"])["items"]
    assert client.post(f"/api/v1/sessions/{items[0]['id']}/missed",
                       headers=auth["technician"]).status_code == 200
    url = settings.resolved_database_url
    command.downgrade(alembic_config(url), "0007")  # no reason stored: nothing to lose
    upgrade(url)  # who and when come back from the audit record
    first = sessions(client, auth, course["id"])["items"][0]
    assert (first["missed_by"], first["missed_reason"]) == ("technician", None)
    audit = client.get("/api/v1/audit", headers=auth["auditor"]).json()["items"]
    marked = [e["at"] for e in audit if e["route"] == "/api/v1/sessions/{session_id}/missed"]
    assert first["missed_at"] == marked[0]  # the audit's clock, not the tests' fixed one

    assert client.post(f"/api/v1/sessions/{items[1]['id']}/missed", headers=auth["clinician"],
                       json={"reason": "fever"}).status_code == 200
    before = _counts(url)
    with pytest.raises(RuntimeError, match="would lose the reasons"):
        command.downgrade(alembic_config(url), "0007")
    assert _counts(url) == before
    assert sessions(client, auth, course["id"])["items"][1]["missed_reason"] == "fever"
