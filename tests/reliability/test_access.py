"""Access control against a real server: tokens, revocation, the role matrix, existence
leaks, and no token or PHI in the server's output or log files."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
from live_course import live_course, session_log, sessions_of, tokens
from role_matrix import MATRIX
from seed import check

from api.security import ROLES
from api.tokens import create_token, revoke_token

PHI = ("Zebulon", "Quixote", "1933-03-03")


def _url(template: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "json"), template)


def _call(http, method: str, url: str, headers: dict) -> httpx.Response:
    body = None if method == "GET" else {}
    return http.request(method, url, headers=headers, json=body)


def test_tokens_roles_and_leaks_on_a_real_server(server_factory, small_head):
    server = server_factory()
    auth = tokens(server, *ROLES)
    with httpx.Client(base_url=server.base_url, timeout=60) as http:
        ids = live_course(http, auth, small_head)
        first = sessions_of(http, auth, ids["course_id"])[0]
        check(http.post(f"/api/v1/sessions/{first['id']}/delivery", headers=auth["technician"],
                        json=session_log(first)), 201)
        alerts = check(http.get("/api/v1/alerts", headers=auth["clinician"]))["items"]
        ids |= {"alert_id": alerts[0]["id"] if alerts else str(uuid.uuid4()),
                "job_id": check(http.get("/api/v1/jobs", headers=auth["auditor"]))["items"][0]["id"]}
        unknown = {name: str(uuid.uuid4()) for name in ids}
        bogus = {"Authorization": "Bearer nsv_" + "A" * 43}
        checked = 0
        for (method, template), allowed in MATRIX.items():
            url = _url(template, ids)
            for headers in ({}, bogus, {"Authorization": "Basic dXNlcjpwYXNz"}):
                response = _call(http, method, url, headers)
                assert response.status_code == 401, (method, url, response.status_code)
                assert "Zebulon" not in response.text
            for role in set(ROLES) - set(allowed):
                real = _call(http, method, url, auth[role])
                missing = _call(http, method, _url(template, unknown), auth[role])
                assert real.status_code == 403, (method, template, role, real.text)
                assert real.json() == missing.json(), (method, template, role)
                checked += 1
        # a navigator cannot tell an unapproved plan from a missing one
        unapproved = check(http.post(f"/api/v1/images/{ids['image_id']}/plans",
                                     headers=auth["technician"], json={}), 202)
        plan_id = _plan_of(http, auth, unapproved["id"])
        hidden = http.get(f"/api/v1/plans/{plan_id}", headers=auth["navigator"])
        absent = http.get(f"/api/v1/plans/{unknown['plan_id']}", headers=auth["navigator"])
        assert hidden.status_code == absent.status_code == 404
        assert hidden.json()["detail"].replace(plan_id, "X") == \
            absent.json()["detail"].replace(unknown["plan_id"], "X")

        # revocation by the command line takes effect at once in the serving process
        secret = server.cli("admin", "create-token", "--role", "auditor", "--name", "temp").strip()
        temp = {"Authorization": f"Bearer {secret}"}
        assert http.get("/api/v1/patients", headers=temp).status_code == 200
        server.cli("admin", "revoke-token", "temp")
        assert http.get("/api/v1/patients", headers=temp).status_code == 401
        server.cli("admin", "list-tokens")
    server.stop()
    output = server.log_text()
    files = [p for p in Path(server.env["NAVSVC_DATA_DIR"]).rglob("*.log") if p.is_file()]
    logs = output + "".join(p.read_text(errors="replace") for p in files)
    secrets = [h["Authorization"][7:] for h in auth.values()] + [secret]
    assert not [s for s in secrets if s in logs], "a token is in the server's output"
    assert "nsv_" not in logs
    assert not [word for word in PHI if word in logs], "PHI in the server's output"
    print(f"{checked} (route, forbidden role) pairs answered 403 identically for real and "
          f"unknown ids; {len(MATRIX)} routes refuse missing and bogus tokens")


def _plan_of(http, auth, job_id: str) -> str:
    import time

    for _ in range(300):
        job = check(http.get(f"/api/v1/jobs/{job_id}", headers=auth["technician"]))
        if job["state"] == "succeeded":
            return job["plan_id"]
        time.sleep(0.1)
    raise AssertionError(job)


def test_revocation_takes_effect_at_once(tmp_path, small_head):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.config import Settings

    app = create_app(Settings(data_dir=tmp_path / "data", embedded_worker=False))
    with TestClient(app) as client:
        secret = create_token(app.state.db, "cached", "auditor")
        headers = {"Authorization": f"Bearer {secret}"}
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        revoke_token(app.state.db, "cached")
        assert client.get("/api/v1/me", headers=headers).status_code == 401
