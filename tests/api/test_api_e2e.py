"""The whole workflow over HTTP against a real ``navsvc serve`` process.

token -> patient -> upload a real head (Colin27) -> plan job -> poll -> approve ->
every export -> report. The fast variant runs the job machinery with a stand-in
plan function; the slow one runs the real targeting pipeline (~30 s).
"""

from __future__ import annotations

import time

import httpx
import pytest

from api_test_helpers import COLIN27
from server_process import ServerProcess

JOB_TIMEOUT_S = 600


@pytest.fixture
def server_factory(tmp_path, database_url):
    servers = []

    def start(plan_function: str | None = None) -> ServerProcess:
        env = {}
        if database_url:
            env["NAVSVC_DATABASE_URL"] = database_url
        if plan_function:
            env["NAVSVC_PLAN_FUNCTION"] = plan_function
        server = ServerProcess(tmp_path / "data", env)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


def run_workflow(server: ServerProcess) -> dict:
    """Drive the clinic workflow; return the plan record."""
    tech = server.cli("admin", "create-token", "--role", "technician", "--name", "ws-1").strip()
    doc = server.cli("admin", "create-token", "--role", "clinician", "--name", "dr-a").strip()
    nav = server.cli("admin", "create-token", "--role", "navigator", "--name", "nav-1").strip()
    assert tech.startswith("nsv_")
    with httpx.Client(base_url=server.base_url, timeout=120) as http:
        t = {"Authorization": f"Bearer {tech}"}
        patient = http.post("/api/v1/patients", headers=t,
                            json={"external_id": "MRN-E2E", "name": "Colin Holmes"})
        assert patient.status_code == 201, patient.text
        with open(COLIN27, "rb") as handle:
            image = http.post(f"/api/v1/patients/{patient.json()['id']}/images", headers=t,
                              files={"file": ("ch2.nii.gz", handle, "application/gzip")})
        assert image.status_code == 201, image.text
        job = http.post(f"/api/v1/images/{image.json()['id']}/plans", headers=t,
                        json={"strategy": "fox2012"})
        assert job.status_code == 202, job.text
        location = job.headers["location"]
        deadline, stages = time.monotonic() + JOB_TIMEOUT_S, set()
        while time.monotonic() < deadline:
            state = http.get(location, headers=t).json()
            stages.add(state["stage"])
            if state["state"] in ("succeeded", "failed"):
                break
            time.sleep(0.5)
        assert state["state"] == "succeeded", f"{state}\n{server.log_text()[-3000:]}"
        plan_url = state["links"]["plan"]
        n = {"Authorization": f"Bearer {nav}"}
        assert http.get(plan_url, headers=n).status_code == 404
        approval = http.post(f"{plan_url}/approval", headers={"Authorization": f"Bearer {doc}"},
                             json={"note": "reviewed"})
        assert approval.status_code == 201, approval.text
        plan = http.get(plan_url, headers=n).json()
        assert plan["approval"]["approved_by"] == "dr-a"
        for fmt in ("json", "localite", "brainsight", "simnibs"):
            exported = http.get(f"{plan_url}/exports/{fmt}", headers=n)
            assert exported.status_code == 200 and exported.content, (fmt, exported.text)
        lps = http.get(f"{plan_url}/exports/localite", headers=n, params={"space": "lps"})
        assert b'coordinateSpace="LPS"' in lps.content
        report = http.get(f"{plan_url}/report", headers=n)
        assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert "Colin Holmes" not in server.log_text()
    plan["stages_seen"] = sorted(s for s in stages if s)
    return plan


def test_workflow_with_job_machinery(server_factory):
    plan = run_workflow(server_factory("api_test_fakes:fake_make_plan"))
    assert plan["plan"]["target"]["strategy"] == "fox2012"


@pytest.mark.slow
def test_workflow_with_real_pipeline(server_factory):
    pytest.importorskip("navsvc.pipeline", reason="the targeting engine is not in this build")
    plan = run_workflow(server_factory())
    target = plan["plan"]["target"]
    assert target["cortex_ras_mm"][0] < 0, "the DLPFC target must be in the left hemisphere"
    assert plan["stages_seen"], "the job should report its pipeline stages"
