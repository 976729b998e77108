"""kill -9 of the API server during a burst of writes, and of a targeting job's process.

After the restart every request that was answered 2xx is stored, none twice, the
database passes its integrity checks, the schedule is consistent and the course goes
on. A killed job ends ``failed`` (its process died) or is re-queued and run again (the
whole service died); it never stays ``running``.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from db_integrity import integrity_problems
from live_course import (
    assert_schedule_consistent,
    live_course,
    session_log,
    sessions_of,
    tokens,
)
from seed import check, extra_rating, upload

#: how long the burst runs before the server is killed, seconds
BURST_S = float(os.environ.get("NAVSVC_CRASH_BURST_S", "2.0"))
RATERS = 3


def _database_url(server) -> str:
    return server.env.get("NAVSVC_DATABASE_URL") or \
        f"sqlite:///{Path(server.env['NAVSVC_DATA_DIR']).resolve() / 'navsvc.sqlite3'}"


def _job_processes(pid: int) -> list[int]:
    """Child processes of ``pid`` that run a job (not multiprocessing's resource tracker)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"spawn_main" in cmdline:
                found.append(int(child))
    return found


class Burst:
    """Writers that log sessions in order and post ratings until the server dies."""

    def __init__(self, base_url: str, auth: dict, course_id: str, sessions: list[dict]):
        self.base_url, self.auth, self.course_id = base_url, auth, course_id
        self.sessions = sessions
        self.logged: dict[str, str] = {}    # session id -> delivery id (answered 2xx)
        self.in_flight: list[tuple] = []    # (session, key) whose answer never came
        self.rated: dict[str, str] = {}     # rater tag -> assessment id (answered 201)
        self.errors: list[str] = []
        self.stop = threading.Event()

    def log_sessions(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30) as http:
            for session in self.sessions:
                key = f"crash-{session['id']}"
                try:
                    response = http.post(f"/api/v1/sessions/{session['id']}/delivery",
                                         json=session_log(session),
                                         headers={**self.auth["technician"],
                                                  "Idempotency-Key": key})
                except httpx.HTTPError:
                    self.in_flight.append((session, key))
                    return
                if response.status_code not in (200, 201):
                    self.errors.append(f"log {session['index']}: {response.status_code} "
                                       f"{response.text[:200]}")
                    return
                self.logged[session["id"]] = response.json()["id"]

    def rate(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30) as http:
            while not self.stop.is_set():
                tag = f"r-{uuid.uuid4().hex[:12]}"
                try:
                    response = http.post(f"/api/v1/courses/{self.course_id}/assessments",
                                         json=extra_rating("2025-03-03", rater=tag),
                                         headers=self.auth["clinician"])
                except httpx.HTTPError:
                    return
                if response.status_code != 201:
                    self.errors.append(f"rating: {response.status_code} {response.text[:200]}")
                    return
                self.rated[tag] = response.json()["id"]


def test_kill_9_during_a_burst_loses_and_doubles_nothing(server_factory, small_head):
    server = server_factory()
    auth = tokens(server, "technician", "clinician")
    with httpx.Client(base_url=server.base_url, timeout=60) as http:
        ids = live_course(http, auth, small_head)
        course_id = ids["course_id"]
        burst = Burst(server.base_url, auth, course_id, sessions_of(http, auth, course_id))
    threads = [threading.Thread(target=burst.log_sessions)]
    threads += [threading.Thread(target=burst.rate) for _ in range(RATERS)]
    for thread in threads:
        thread.start()
    time.sleep(BURST_S)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    burst.stop.set()
    for thread in threads:
        thread.join(60)
    assert not burst.errors, burst.errors
    assert burst.logged and burst.rated, "the burst wrote nothing before the kill"
    assert integrity_problems(_database_url(server)) == []

    restarted = server_factory()
    with httpx.Client(base_url=restarted.base_url, timeout=60) as http:
        sessions = sessions_of(http, auth, course_id)
        assert_schedule_consistent(sessions)
        stored = {s["id"]: s["delivery"]["id"] for s in sessions if s["delivery"]}
        for session_id, delivery_id in burst.logged.items():
            assert stored.get(session_id) == delivery_id, session_id
        # an in-flight log was stored or not, but at most once: its retry tells which
        for session, key in burst.in_flight:
            retry = http.post(f"/api/v1/sessions/{session['id']}/delivery",
                              json=session_log(session),
                              headers={**auth["technician"], "Idempotency-Key": key})
            assert retry.status_code in (200, 201), retry.text
            if session["id"] in stored:
                assert retry.status_code == 200 and retry.json()["id"] == stored[session["id"]]
        ratings = check(http.get(f"/api/v1/courses/{course_id}/assessments",
                                 headers=auth["technician"]))["items"]
        by_rater = {}
        for rating in ratings:
            by_rater.setdefault(rating["rater"], []).append(rating["id"])
        assert all(len(found) == 1 for found in by_rater.values())
        for tag, assessment_id in burst.rated.items():
            assert by_rater.get(tag) == [assessment_id], tag
        after = sessions_of(http, auth, course_id)
        assert_schedule_consistent(after)
        nxt = next(s for s in after if s["state"] == "planned")
        check(http.post(f"/api/v1/sessions/{nxt['id']}/delivery", headers=auth["technician"],
                        json=session_log(nxt)), 201)
    print(f"kill -9 after {BURST_S} s: {len(burst.logged)} logs and {len(burst.rated)} ratings "
          f"answered 2xx, all stored once; {len(burst.in_flight)} in flight")
    assert integrity_problems(_database_url(restarted)) == []


def _job_state(http, auth, job_id) -> dict:
    return check(http.get(f"/api/v1/jobs/{job_id}", headers=auth["technician"]))


def _wait_state(http, auth, job_id, states, timeout_s=60.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = _job_state(http, auth, job_id)
        if job["state"] in states:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job['state']}")


def _running_job(server, http, auth, image_id) -> tuple[str, int]:
    job = check(http.post(f"/api/v1/images/{image_id}/plans", headers=auth["technician"],
                          json={}), 202)
    _wait_state(http, auth, job["id"], ("running",))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = _job_processes(server.process.pid)
        if children:
            return job["id"], children[0]
        time.sleep(0.1)
    raise AssertionError("no job process")


@pytest.mark.parametrize("victim", ["job process", "whole service"])
def test_killed_job_ends_failed_or_requeued(server_factory, small_head, victim):
    server = server_factory("api_test_fakes:fake_slow")
    auth = tokens(server, "technician")
    with httpx.Client(base_url=server.base_url, timeout=60) as http:
        patient = check(http.post("/api/v1/patients", headers=auth["technician"],
                                  json={"external_id": "MRN-JOB"}), 201)
        image = check(upload(http, auth["technician"], patient["id"], small_head), 201)
        job_id, child = _running_job(server, http, auth, image["id"])
        if victim == "job process":
            os.kill(child, signal.SIGKILL)
            job = _wait_state(http, auth, job_id, ("failed", "succeeded", "queued"))
            assert job["state"] == "failed" and "was killed by SIGKILL (exit code -9)" in job["reason"], job
            return
    # the machine goes down: the service first, so it cannot record the job's end, then its child
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    try:
        os.kill(child, signal.SIGKILL)
    except ProcessLookupError:
        pass  # it went down with the service
    restarted = server_factory()  # the fast plan function: the re-queued job completes
    with httpx.Client(base_url=restarted.base_url, timeout=60) as http:
        job = _wait_state(http, auth, job_id, ("succeeded", "failed"))
        assert job["state"] == "succeeded" and job["attempts"] == 2, job
        running = check(http.get("/api/v1/jobs", headers=auth["technician"],
                                 params={"state": "running"}))["items"]
        assert running == []
