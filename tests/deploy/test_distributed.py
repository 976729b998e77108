"""The distributed set-up for real: an API and Celery workers on Redis and PostgreSQL.

Processes are started the way ``docker-compose.yml`` starts them (same commands, same
environment names; local addresses). The main test plans real heads, SIGKILLs a
worker in the middle of a job and checks that every job still succeeds exactly once
while the API stays up. Needs ``NAVSVC_TEST_REDIS_URL`` and ``NAVSVC_TEST_POSTGRES_URL``
(``.ci/run`` sets both); the fast tests run on SQLite without the latter.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from api.jobs.celery_app import PLAN_TASK, make_celery
from api.jobs.claims import EXHAUSTED_REASON
from api.config import Settings
from deploy_helpers import (REPO, Process, cli, free_port, load_compose, service_command,
                            service_environment, wait_ready)

COLIN27 = REPO / "atlases" / "colin27_head.nii.gz"
#: strategies of the real-head jobs: three different plans of the same head
STRATEGIES = ("fox2012", "ba46", "f3_avg")


@dataclass
class Cluster:
    """An API and its workers, started like the compose services."""

    tmp: Path
    local: dict[str, str]
    compose: dict = field(default_factory=load_compose)
    api: Process | None = None
    workers: list[Process] = field(default_factory=list)
    base_url: str = ""

    def start_api(self) -> None:
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        self.api = Process(service_command(self.compose, "api", port),
                           self.env("api"), self.tmp / "api.log")
        wait_ready(self.base_url, self.api)

    def start_worker(self) -> Process:
        worker = Process(service_command(self.compose, "worker"), self.env("worker"),
                         self.tmp / f"worker{len(self.workers) + 1}.log")
        self.workers.append(worker)
        return worker

    def env(self, service: str) -> dict[str, str]:
        return service_environment(self.compose, service, self.local)

    def token(self, role: str, name: str) -> dict[str, str]:
        secret = cli(self.env("api"), "admin", "create-token", "--role", role,
                     "--name", name).strip()
        return {"Authorization": f"Bearer {secret}"}

    def logs(self) -> str:
        parts = [self.api, *self.workers]
        return "\n".join(f"==== {p.log_path.name}\n{p.log_text()[-6000:]}" for p in parts if p)

    def stop(self) -> None:
        for process in [*self.workers, self.api]:
            if process is not None:
                process.stop()


@pytest.fixture
def cluster_factory(tmp_path, redis_url, queue_name):
    clusters = []

    def make(database_url: str | None, **overrides: str) -> Cluster:
        data_dir = tmp_path / "data"
        local = {"NAVSVC_DATA_DIR": str(data_dir),
                 "NAVSVC_DATABASE_URL": database_url or
                 f"sqlite:///{data_dir.resolve() / 'navsvc.sqlite3'}",
                 "NAVSVC_BROKER_URL": redis_url, "NAVSVC_QUEUE": queue_name, **overrides}
        cluster = Cluster(tmp_path, local)
        clusters.append(cluster)
        return cluster

    yield make
    for cluster in clusters:
        cluster.stop()


@pytest.fixture
def optional_postgres_url(request):
    """PostgreSQL when configured, else ``None`` (SQLite shared by the processes)."""
    import os

    if os.environ.get("NAVSVC_TEST_POSTGRES_URL"):
        return request.getfixturevalue("postgres_url")
    return None


def _upload(http: httpx.Client, headers: dict, path: Path = COLIN27) -> str:
    patient = http.post("/api/v1/patients", headers=headers,
                        json={"external_id": f"MRN-{time.monotonic_ns()}"})
    assert patient.status_code == 201, patient.text
    with open(path, "rb") as handle:
        image = http.post(f"/api/v1/patients/{patient.json()['id']}/images", headers=headers,
                          files={"file": (path.name, handle, "application/gzip")})
    assert image.status_code == 201, image.text
    return image.json()["id"]


def _submit(http: httpx.Client, headers: dict, image_id: str, strategy: str) -> str:
    job = http.post(f"/api/v1/images/{image_id}/plans", headers=headers,
                    json={"strategy": strategy})
    assert job.status_code == 202, job.text
    return job.json()["id"]


def _wait_terminal(http, headers, job_ids, timeout_s: float, cluster: Cluster) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        jobs = {job_id: http.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
                for job_id in job_ids}
        if all(job["state"] in ("succeeded", "failed") for job in jobs.values()):
            return jobs
        time.sleep(1.0)
    raise AssertionError(f"jobs not finished in {timeout_s} s: {jobs}\n{cluster.logs()}")


def _job_rows(database_url: str, job_ids) -> dict[str, dict]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT j.id, j.state, j.attempts, j.claimed_by, "
                "(SELECT count(*) FROM plans p WHERE p.job_id = j.id) AS plans FROM jobs j"))
            return {row.id: row._asdict() for row in rows if row.id in job_ids}
    finally:
        engine.dispose()


class HealthPoller(threading.Thread):
    """Polls ``/healthz`` every half second and counts the answers."""

    def __init__(self, base_url: str) -> None:
        super().__init__(daemon=True)
        self.base_url, self.ok, self.errors = base_url, 0, []
        self.stopped = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=5) as http:
            while not self.stopped.wait(0.5):
                try:
                    status = http.get("/healthz").status_code
                    self.ok += status == 200
                    if status != 200:
                        self.errors.append(status)
                except httpx.HTTPError as exc:
                    self.errors.append(repr(exc))


@pytest.mark.slow
@pytest.mark.postgres
def test_sigkilled_worker_mid_job_real_heads_each_job_succeeds_once(cluster_factory,
                                                                     postgres_url):
    """Three real plans on two workers; one worker is SIGKILLed during a job."""
    # Redelivery of a dead worker's message after 90 s (the compose default is 300 s):
    # long enough for a real plan on this machine, short enough for the test.
    cluster = cluster_factory(postgres_url, NAVSVC_BROKER_VISIBILITY_TIMEOUT_S="90",
                              NAVSVC_JOB_LEASE_S="15")
    cluster.start_api()
    for worker in (cluster.start_worker(), cluster.start_worker()):
        worker.wait_for_log(" ready.")
    victim = cluster.workers[0]
    headers = cluster.token("technician", "ws-1")
    poller = HealthPoller(cluster.base_url)
    poller.start()
    with httpx.Client(base_url=cluster.base_url, timeout=60) as http:
        image_id = _upload(http, headers)
        job_ids = [_submit(http, headers, image_id, strategy) for strategy in STRATEGIES]
        # Kill the first worker a few seconds into the pipeline of the job it runs.
        deadline, killed_job = time.monotonic() + 120, None
        while killed_job is None and time.monotonic() < deadline:
            for job_id, row in _job_rows(postgres_url, job_ids).items():
                if row["state"] == "running" and \
                        (row["claimed_by"] or "").startswith(f"navsvc-{victim.pid}@"):
                    job = http.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
                    if job["stage"]:
                        killed_job = job_id
            time.sleep(0.5)
        assert killed_job, f"worker 1 never ran a job\n{cluster.logs()}"
        time.sleep(3)
        victim.kill()
        killed_at = time.monotonic()
        jobs = _wait_terminal(http, headers, job_ids, 240, cluster)
        assert http.get("/readyz").status_code == 200
    poller.stopped.set()
    poller.join()
    finished_in = time.monotonic() - killed_at
    rows = _job_rows(postgres_url, job_ids)
    assert {job["state"] for job in jobs.values()} == {"succeeded"}, \
        f"{jobs}\n{cluster.logs()}"
    assert all(row["plans"] == 1 for row in rows.values()), rows
    assert rows[killed_job]["attempts"] == 2, rows
    assert not rows[killed_job]["claimed_by"].startswith(f"navsvc-{victim.pid}@")
    assert sorted(row["attempts"] for row in rows.values()) == [1, 1, 2], rows
    assert len({job["plan_id"] for job in jobs.values()}) == 3
    assert cluster.api.alive() and cluster.workers[1].alive()
    assert not poller.errors and poller.ok > 20, (poller.ok, poller.errors)
    print(f"killed job finished {finished_in:.0f} s after the kill; healthz answered "
          f"{poller.ok} times, never failed")


def test_crashing_job_is_retried_once_then_failed_with_reason(cluster_factory,
                                                              optional_postgres_url):
    """A job whose process dies (as in a segfault) is retried once, then failed."""
    cluster = cluster_factory(optional_postgres_url, NAVSVC_PLAN_FUNCTION="deploy_fakes:crash_plan",
                              NAVSVC_JOB_LEASE_S="2")
    cluster.start_api()
    cluster.start_worker().wait_for_log(" ready.")
    headers = cluster.token("technician", "ws-1")
    with httpx.Client(base_url=cluster.base_url, timeout=30) as http:
        job_id = _submit(http, headers, _upload(http, headers), "fox2012")
        job = _wait_terminal(http, headers, [job_id], 90, cluster)[job_id]
        assert (job["state"], job["attempts"], job["reason"]) == \
            ("failed", 2, EXHAUSTED_REASON), cluster.logs()
        assert http.get("/readyz").status_code == 200
    assert cluster.workers[0].alive()


def test_duplicate_delivery_runs_the_job_once(cluster_factory, optional_postgres_url):
    """A message delivered to a second worker while the first runs the job is a no-op."""
    cluster = cluster_factory(optional_postgres_url, NAVSVC_PLAN_FUNCTION="deploy_fakes:slow_plan",
                              NAVSVC_JOB_LEASE_S="3")
    cluster.start_api()
    for worker in (cluster.start_worker(), cluster.start_worker()):
        worker.wait_for_log(" ready.")
    headers = cluster.token("technician", "ws-1")
    celery = make_celery(Settings(broker_url=cluster.local["NAVSVC_BROKER_URL"],
                                  queue=cluster.local["NAVSVC_QUEUE"]))
    try:
        with httpx.Client(base_url=cluster.base_url, timeout=30) as http:
            job_id = _submit(http, headers, _upload(http, headers), "fox2012")
            deadline = time.monotonic() + 30
            while http.get(f"/api/v1/jobs/{job_id}", headers=headers).json()["state"] \
                    != "running" and time.monotonic() < deadline:
                time.sleep(0.2)
            celery.send_task(PLAN_TASK, args=[job_id], queue=cluster.local["NAVSVC_QUEUE"])
            job = _wait_terminal(http, headers, [job_id], 60, cluster)[job_id]
            # the duplicate looks again after the lease and finds the job finished
            time.sleep(5)
    finally:
        celery.close()
    assert (job["state"], job["attempts"]) == ("succeeded", 1), cluster.logs()
    logs = cluster.logs()
    assert f"job {job_id} not run here: busy" in logs
    assert f"job {job_id} not run here: finished" in logs
    assert logs.count(f"job {job_id} started by") == 1
    if optional_postgres_url:
        assert _job_rows(optional_postgres_url, [job_id])[job_id]["plans"] == 1
