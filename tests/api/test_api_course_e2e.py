"""A 15-session course end to end over HTTP against a real ``navsvc serve`` process.

Tokens (one blinded rater) -> patient -> upload -> plan job -> approval -> course ->
screening -> 15 logged sessions (one retried with its Idempotency-Key, one conflict) ->
HAMD-17 at baseline and after weeks 1-3 -> summary JSON, PNG and CSV.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

import httpx
import pytest
from api_test_fakes import COIL_MATRIX
from course_helpers import ZERO_ITEMS, items_with_total
from server_process import ServerProcess

from navsvc.course.screening import ITEMS


@pytest.fixture
def server(tmp_path, database_url):
    env = {"NAVSVC_PLAN_FUNCTION": "api_test_fakes:fake_make_plan"}
    if database_url:
        env["NAVSVC_DATABASE_URL"] = database_url
    process = ServerProcess(tmp_path / "data", env).start()
    yield process
    process.stop()


def _token(server, role, name, *extra):
    return {"Authorization": "Bearer " + server.cli("admin", "create-token", "--role", role,
                                                    "--name", name, *extra).strip()}


def _approved_plan(http, tech, doc, patient_id, head) -> str:
    with open(head, "rb") as handle:
        image = http.post(f"/api/v1/patients/{patient_id}/images", headers=tech,
                          files={"file": ("head.nii.gz", handle, "application/gzip")})
    assert image.status_code == 201, image.text
    job = http.post(f"/api/v1/images/{image.json()['id']}/plans", headers=tech, json={})
    assert job.status_code == 202, job.text
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = http.get(job.headers["location"], headers=tech).json()
        if state["state"] in ("succeeded", "failed"):
            break
        time.sleep(0.2)
    assert state["state"] == "succeeded", state
    assert http.post(f"/api/v1/plans/{state['plan_id']}/approval", headers=doc,
                     json={}).status_code == 201
    return state["plan_id"]


def test_fifteen_session_course_on_a_real_server(server, small_head, tmp_path):
    tech = _token(server, "technician", "ws-1")
    doc = _token(server, "clinician", "dr-a")
    rater = _token(server, "technician", "rater-1", "--blinded")
    today = date.today()
    start = today - timedelta(days=today.weekday(), weeks=5)  # a Monday five weeks ago
    with httpx.Client(base_url=server.base_url, timeout=60) as http:
        patient = http.post("/api/v1/patients", headers=tech, json={"external_id": "MRN-C15"})
        plan_id = _approved_plan(http, tech, doc, patient.json()["id"], small_head)
        course = http.post(f"/api/v1/patients/{patient.json()['id']}/courses", headers=doc, json={
            "plan_id": plan_id, "protocol": "standard_10hz", "start_date": start.isoformat(),
            "arm": "sham"})
        assert course.status_code == 201, course.text
        cid = course.json()["id"]
        assert http.get(f"/api/v1/courses/{cid}", headers=rater).json()["arm"] is None
        answers = {item.key: False for item in ITEMS}
        assert http.put(f"/api/v1/courses/{cid}/screening", headers=tech,
                        json={"answers": answers}).status_code == 200
        baseline = http.post(f"/api/v1/courses/{cid}/assessments", headers=rater, json={
            "timepoint": "baseline", "rater": "rater-1",
            "rated_at": f"{(start - timedelta(days=3)).isoformat()}T10:00:00Z",
            "items": items_with_total(24), "item16_method": "A"})
        assert baseline.status_code == 201 and baseline.json()["severity"] == "very severe"
        listing = http.get(f"/api/v1/courses/{cid}/sessions", headers=tech).json()["items"]
        assert len(listing) == 15
        week_totals = {5: ("week1", 19), 10: ("week2", 12), 15: ("week3", 7)}
        for session in listing:
            body = {"performed_at": f"{session['date']}T09:{session['index']:02d}:00Z",
                    "operator": "tech-anna", "rmt_pct_mso": 48, "pct_of_mt": 120,
                    "pulses_delivered": 3000, "trains_delivered": 75,
                    "pose_matrix": COIL_MATRIX, "side_effects": []}
            key = {**tech, "Idempotency-Key": f"{cid}-{session['index']}"}
            url = f"/api/v1/sessions/{session['id']}/delivery"
            logged = http.post(url, headers=key, json=body)
            assert logged.status_code == 201, (session, logged.text)
            if session["index"] == 3:  # a network retry of the same log
                retry = http.post(url, headers=key, json=body)
                assert retry.status_code == 200 and retry.json()["id"] == logged.json()["id"]
                again = http.post(url, headers={**tech, "Idempotency-Key": "other"}, json=body)
                assert again.status_code == 409, again.text
            if session["index"] in week_totals:
                timepoint, total = week_totals[session["index"]]
                rated = http.post(f"/api/v1/courses/{cid}/assessments", headers=rater, json={
                    "timepoint": timepoint, "rater": "rater-1",
                    "rated_at": f"{session['date']}T15:00:00Z",
                    "items": items_with_total(total), "item16_method": "A"})
                assert rated.status_code == 201, rated.text
        out_of_range = http.post(f"/api/v1/courses/{cid}/assessments", headers=rater, json={
            "timepoint": "extra", "rater": "rater-1",
            "rated_at": f"{today - timedelta(days=1)}T10:00:00Z",  # never in the future, whatever the hour
            "items": {**ZERO_ITEMS, "4": 3}, "item16_method": "A"})
        assert out_of_range.status_code == 422
        assert "item 4 (insomnia: early in the night), 0-2" in out_of_range.json()["detail"]

        summary = http.get(f"/api/v1/courses/{cid}/summary", headers=doc).json()
        assert summary["arm"] == "sham"
        assert summary["sessions"]["done"] == 15 and summary["sessions"]["remaining"] == 0
        assert summary["adherence"] == 1.0 and summary["cumulative_pulses"] == 45000
        assert summary["response"] is True and summary["remission"] is True
        assert summary["deviation"]["worst"]["centre_distance_mm"] == pytest.approx(0.0)
        assert [p["total"] for p in summary["trajectory"]] == [24, 19, 12, 7]
        assert all(f["status"] == "done" for f in summary["followups"])
        blinded = http.get(f"/api/v1/courses/{cid}/summary", headers=rater)
        assert "sham" not in blinded.text
        png = http.get(f"/api/v1/courses/{cid}/summary.png", headers=doc)
        assert png.headers["content-type"] == "image/png"
        assert png.content[:8] == b"\x89PNG\r\n\x1a\n" and len(png.content) > 10_000
        (tmp_path / "summary.png").write_bytes(png.content)
        csv_lines = http.get(f"/api/v1/courses/{cid}/summary.csv", headers=doc).text.splitlines()
        assert len(csv_lines) == 1 + 15 + 4 and csv_lines[1].startswith("session,1,")
        audit = http.get("/api/v1/audit", headers=_token(server, "auditor", "aud-1"),
                         params={"limit": 500}).json()["items"]
        assert any(e["route"] == "/api/v1/sessions/{session_id}/delivery" for e in audit)
