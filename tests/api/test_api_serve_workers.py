"""``navsvc serve --workers 2``: two API processes on one port, one job runner."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx

from api.config import Settings
from api.db import sqlite_file

from server_process import REPO, ServerProcess
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


def test_a_second_service_on_a_port_in_use_is_refused(tmp_path):
    """The API processes listen with SO_REUSEPORT, which would let a second `navsvc serve
    --workers 2` (another data folder) join a port a running one serves and take half its
    requests; it is refused before it starts anything."""
    second = ServerProcess(tmp_path / "data", serve_args=("--workers", "2"))
    with socket.socket() as running:  # as a running service's API process listens
        running.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        running.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        running.bind(("127.0.0.1", second.port))
        running.listen()
        process = subprocess.Popen(
            [sys.executable, "-m", "navsvc.cli", "serve", "--port", str(second.port),
             "--workers", "2"], env=second.env, cwd=REPO, stderr=subprocess.PIPE, text=True)
        try:
            _, stderr = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.communicate(timeout=30)
            raise AssertionError("the second service started on the port in use")
    assert process.returncode != 0
    assert f"navsvc serve: cannot listen on 127.0.0.1:{second.port}: Address already in use" \
        in stderr, stderr
    database = sqlite_file(Settings(data_dir=tmp_path / "data").resolved_database_url)
    assert not database.exists(), "nothing was set up"
