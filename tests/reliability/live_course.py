"""A course on a real server: tokens, an approved plan made by the job machinery, a
many-session protocol whose sessions are all due, and the bodies to log them."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from seed import check, seed_course

#: 200 sessions of one 4-s train, up to 20 a day one minute apart: a long burst of due sessions
MANY_SESSIONS = {
    "name": "burst", "pattern": "rtms", "frequency_hz": 10.0, "train_duration_s": 4.0,
    "inter_train_interval_s": 26.0, "n_trains": 1, "pulses_per_session": 40,
    "intensity_pct_rmt": 120.0, "n_sessions": 200, "sessions_per_week": 100,
    "sessions_per_day": 20, "min_interval_minutes": 1}


def tokens(server, *roles: str) -> dict[str, dict[str, str]]:
    """Create one token per role on the server; role -> Authorization headers."""
    return {role: {"Authorization": "Bearer " + server.cli(
        "admin", "create-token", "--role", role, "--name", f"{role}-1").strip()}
        for role in roles}


def plan_by_job(http, auth: dict, image_id: str, timeout_s: float = 120) -> str:
    """Run a plan job (the server's plan function) and return the plan id."""
    job = check(http.post(f"/api/v1/images/{image_id}/plans", headers=auth["technician"],
                          json={}), 202)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = check(http.get(f"/api/v1/jobs/{job['id']}", headers=auth["technician"]))
        if state["state"] in ("succeeded", "failed"):
            break
        time.sleep(0.2)
    assert state["state"] == "succeeded", state
    return state["plan_id"]


def live_course(http, auth: dict, head, weeks_ago: int = 3) -> dict[str, str]:
    """Seed a course with :data:`MANY_SESSIONS` on a real server; returns its ids."""
    ids = seed_course(http, auth, lambda image_id: plan_by_job(http, auth, image_id), head,
                      weeks_ago=weeks_ago)
    # a patient has one running course at a time: the seeded standard one makes way
    check(http.post(f"/api/v1/courses/{ids['course_id']}/stop", headers=auth["clinician"],
                    json={"note": "replaced by the burst protocol"}))
    course = check(http.post(f"/api/v1/patients/{ids['patient_id']}/courses",
                             headers=auth["clinician"], json={
        "plan_id": ids["plan_id"], "protocol": "custom", "custom_protocol": MANY_SESSIONS,
        "start_date": (datetime.now().date() - timedelta(weeks=weeks_ago)).isoformat(),
        "arm": "active"}), 201)
    from navsvc.course.screening import ITEMS

    check(http.put(f"/api/v1/courses/{course['id']}/screening", headers=auth["technician"],
                   json={"answers": {item.key: False for item in ITEMS}}), 200)
    return {**ids, "course_id": course["id"]}


def session_log(session: dict) -> dict:
    """A complete delivery log at the session's own date and slot time (08:00 UTC + offset)."""
    at = (datetime.fromisoformat(session["date"]) + timedelta(hours=8)
          + timedelta(minutes=session["offset_minutes"]))
    return {"performed_at": at.strftime("%Y-%m-%dT%H:%M:00Z"), "operator": "tech-anna",
            "rmt_pct_mso": 50, "pct_of_mt": 120, "pulses_delivered": MANY_SESSIONS["pulses_per_session"],
            "trains_delivered": MANY_SESSIONS["n_trains"], "side_effects": []}


def sessions_of(http, auth: dict, course_id: str) -> list[dict]:
    """The course's sessions in index order."""
    return check(http.get(f"/api/v1/courses/{course_id}/sessions",
                          headers=auth["technician"]))["items"]


def assert_schedule_consistent(sessions: list[dict]) -> None:
    """Logged sessions form a prefix in treatment order, each with one delivery, and
    their times are in order."""
    states = [s["state"] for s in sessions]
    logged = [s for s in sessions if s["delivery"] is not None]
    assert all(s["state"] in ("done", "incomplete") for s in logged)
    assert all(s["delivery"] is None for s in sessions if s["state"] == "planned")
    first_planned = states.index("planned") if "planned" in states else len(states)
    assert all(state != "planned" for state in states[:first_planned])
    assert all(state == "planned" for state in states[first_planned:]), states
    times = [s["delivery"]["performed_at"] for s in logged]
    assert times == sorted(times)
    assert len({s["delivery"]["id"] for s in logged}) == len(logged)
