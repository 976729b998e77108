"""100 concurrent session logs and HAMD-17 ratings for one course on a real server.

Session logs with one shared Idempotency-Key, without a key for one session, and
for the next sessions in parallel; ratings that may exist once (``baseline``) and
``extra`` ones. Afterwards: one delivery per logged session, every 2xx stored exactly
once, no 5xx, exactly one baseline, and the schedule still in order.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from live_course import (
    assert_schedule_consistent,
    live_course,
    session_log,
    sessions_of,
    tokens,
)
from seed import ZERO_ITEMS, check

N_REQUESTS = 100


def _rating(timepoint: str, rater: str) -> dict:
    return {"timepoint": timepoint, "rater": rater, "rated_at": "2025-03-01T15:00:00Z",
            "items": ZERO_ITEMS, "item16_method": "A"}


def test_hundred_concurrent_logs_and_ratings(server_factory, small_head):
    server = server_factory()
    auth = tokens(server, "technician", "clinician", "navigator")
    with httpx.Client(base_url=server.base_url, timeout=120) as http:
        ids = live_course(http, auth, small_head)
        course_id = ids["course_id"]
        sessions = sessions_of(http, auth, course_id)
        first, second = sessions[0], sessions[1]
        key = str(uuid.uuid4())
        requests = []  # (kind, method args)
        for n in range(25):  # one log, retried by 25 workstations with one key
            requests.append(("same-key", f"/api/v1/sessions/{first['id']}/delivery",
                             session_log(first), {"Idempotency-Key": key}))
        for n in range(15):  # the next session, no key: one wins, the rest 409
            requests.append(("no-key", f"/api/v1/sessions/{second['id']}/delivery",
                             session_log(second), {}))
        for session in sessions[2:12]:  # later sessions, each with its own key
            requests.append(("later", f"/api/v1/sessions/{session['id']}/delivery",
                             session_log(session), {"Idempotency-Key": str(uuid.uuid4())}))
        for n in range(10):
            requests.append(("baseline", f"/api/v1/courses/{course_id}/assessments",
                             _rating("baseline", f"rater-b{n}"), {}))
        for n in range(N_REQUESTS - len(requests)):
            requests.append(("extra", f"/api/v1/courses/{course_id}/assessments",
                             _rating("extra", f"rater-x{n}"), {}))
        assert len(requests) == N_REQUESTS

        def send(request):
            kind, url, body, headers = request
            role = "navigator" if kind == "no-key" else "technician"
            with httpx.Client(base_url=server.base_url, timeout=120) as own:
                response = own.post(url, json=body, headers={**auth[role], **headers})
            return kind, body, response

        with ThreadPoolExecutor(N_REQUESTS) as pool:
            results = list(pool.map(send, requests))

        statuses = [r.status_code for _, _, r in results]
        assert not [s for s in statuses if s >= 500], server.log_text()[-3000:]
        same_key = [r for kind, _, r in results if kind == "same-key"]
        assert {r.status_code for r in same_key} <= {200, 201}, [r.text for r in same_key]
        assert sum(r.status_code == 201 for r in same_key) == 1
        assert len({r.json()["id"] for r in same_key}) == 1
        no_key = [r for kind, _, r in results if kind == "no-key"]
        assert sum(r.status_code == 201 for r in no_key) <= 1
        assert {r.status_code for r in no_key} <= {201, 409}
        later = [r for kind, _, r in results if kind == "later"]
        assert {r.status_code for r in later} <= {201, 409}
        baseline = [r for kind, _, r in results if kind == "baseline"]
        assert sum(r.status_code == 201 for r in baseline) == 1, [r.text for r in baseline]
        assert {r.status_code for r in baseline} <= {201, 409}
        extra = [r for kind, _, r in results if kind == "extra"]
        assert all(r.status_code == 201 for r in extra), [r.text for r in extra][:3]

        after = sessions_of(http, auth, course_id)
        assert_schedule_consistent(after)
        delivered = {s["delivery"]["id"] for s in after if s["delivery"]}
        created = {r.json()["id"] for kind, _, r in results
                   if kind in ("same-key", "no-key", "later") and r.status_code in (200, 201)}
        assert created == delivered
        ratings = check(http.get(f"/api/v1/courses/{course_id}/assessments",
                                 headers=auth["technician"]))["items"]
        stored = sorted(a["id"] for a in ratings)
        answered = sorted(r.json()["id"] for kind, _, r in results
                          if kind in ("baseline", "extra") and r.status_code == 201)
        assert stored == answered
        assert [a["timepoint"] for a in ratings].count("baseline") == 1
        # the schedule goes on: the next due session can be logged
        nxt = next(s for s in after if s["state"] == "planned")
        check(http.post(f"/api/v1/sessions/{nxt['id']}/delivery", headers=auth["technician"],
                        json=session_log(nxt)), 201)
