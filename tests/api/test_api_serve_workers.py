"""``navsvc serve --workers 2``: two API processes on one port, one job runner."""

from __future__ import annotations

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
