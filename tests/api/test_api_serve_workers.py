"""``navsvc serve --workers 2``: two API processes on one port, one job runner."""

from __future__ import annotations

import os
import signal
import time

import httpx

from server_process import ServerProcess
from test_api_e2e import run_workflow


def test_two_api_processes_share_one_job_runner(tmp_path, database_url):
    env = {"NAVSVC_PLAN_FUNCTION": "api_test_fakes:fake_make_plan",
           "NAVSVC_JOB_POLL_INTERVAL_S": "0.2"}
    if database_url:
        env["NAVSVC_DATABASE_URL"] = database_url
    server = ServerProcess(tmp_path / "data", env, serve_args=("--workers", "2")).start()
    try:
        plan = run_workflow(server)
    finally:
        server.stop()
    assert plan["plan"]["target"]["strategy"] == "fox2012"
    log = server.log_text()
    assert log.count("Started server process") == 2, log[-3000:]
    assert log.count("embedded job worker runs in the supervising process") == 1
    assert log.count("jobs in-process") == 0  # no API process started a runner of its own


def _readyz_until(server: ServerProcess, status: int, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        response = httpx.get(f"{server.base_url}/readyz", timeout=2)
        if response.status_code == status or time.monotonic() > deadline:
            return {**response.json(), "http": response.status_code}
        time.sleep(0.5)


def test_api_processes_report_the_supervisors_job_worker(tmp_path, database_url):
    """The API processes run no worker: their /readyz reads the supervising process's
    worker heartbeat. With the supervisor paused (its worker with it) they answer 503
    "worker stopped" while still serving; resumed, 200 again."""
    env = {"NAVSVC_DATABASE_URL": database_url} if database_url else {}
    server = ServerProcess(tmp_path / "data", env, serve_args=("--workers", "2")).start()
    try:
        ready = _readyz_until(server, 200, 5)
        assert ready["checks"] == {"database": "ok", "worker": "ok"}, ready
        os.kill(server.process.pid, signal.SIGSTOP)
        try:
            stopped = _readyz_until(server, 503, 30)
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
        assert stopped["http"] == 503 and stopped["checks"]["worker"] == "stopped", stopped
        assert _readyz_until(server, 200, 10)["http"] == 200
    finally:
        server.stop()
    assert not (tmp_path / "data" / "worker.heartbeat").exists()  # removed at a clean stop
