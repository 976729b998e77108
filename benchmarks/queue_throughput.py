"""Job queue throughput: plans per hour with 1 and 2 Celery workers, and queue overhead.

Starts a real API (``navsvc serve``) and N ``navsvc worker`` processes on a Redis
broker, submits real plan jobs for Colin27 and reads the jobs' timestamps:

* plans per hour: jobs / (last finish - first submit) * 3600, real pipeline;
* queue overhead: submit -> start of a job that found an idle worker (real jobs), and
  the same over many jobs of a stand-in plan function that returns at once, which
  isolates the API -> broker -> worker -> database claim path.

Usage::

    python benchmarks/queue_throughput.py [--plans 4] [--quick-jobs 20] \\
        [--redis redis://127.0.0.1:56379/0] [--database postgresql+psycopg://...]

Without ``--redis`` (or ``NAVSVC_TEST_REDIS_URL``) a private ``redis-server`` is
started on a free port; without ``--database`` (or ``NAVSVC_TEST_POSTGRES_URL``) the
processes share SQLite in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "deploy")]

from deploy_helpers import (Process, cli, free_port, load_compose,  # noqa: E402
                            service_command, service_environment, wait_ready)

COLIN27 = REPO / "atlases" / "colin27_head.nii.gz"
STRATEGIES = ("fox2012", "ba46", "ba9", "f3_avg", "fivecm_avg", "fitzgerald2009")


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class Setup:
    """API plus ``workers`` worker processes on one broker queue and database."""

    def __init__(self, root: Path, redis_url: str, database_url: str | None, workers: int,
                 plan_function: str | None = None) -> None:
        data_dir = root / "data"
        local = {"NAVSVC_DATA_DIR": str(data_dir),
                 "NAVSVC_DATABASE_URL": database_url or
                 f"sqlite:///{data_dir.resolve() / 'navsvc.sqlite3'}",
                 "NAVSVC_BROKER_URL": redis_url,
                 "NAVSVC_QUEUE": f"navsvc-bench-{uuid.uuid4().hex[:8]}"}
        if plan_function:
            local["NAVSVC_PLAN_FUNCTION"] = plan_function
        compose = load_compose()
        self.env = service_environment(compose, "api", local)
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        self.api = Process(service_command(compose, "api", port), self.env, root / "api.log")
        wait_ready(self.base_url, self.api)
        self.workers = [Process(service_command(compose, "worker"),
                                service_environment(compose, "worker", local),
                                root / f"worker{n}.log") for n in range(workers)]
        self.headers = {"Authorization": "Bearer " + cli(
            self.env, "admin", "create-token", "--role", "technician", "--name",
            f"bench-{uuid.uuid4().hex[:6]}").strip()}
        self.http = httpx.Client(base_url=self.base_url, timeout=120)
        self._wait_workers(len(self.workers))

    def _wait_workers(self, count: int, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ready = sum("ready." in w.log_text() for w in self.workers)
            if ready == count:
                return
            time.sleep(0.3)
        raise RuntimeError("workers not ready")

    def upload(self) -> str:
        patient = self.http.post("/api/v1/patients", headers=self.headers,
                                 json={"external_id": f"BENCH-{uuid.uuid4().hex[:8]}"})
        with open(COLIN27, "rb") as handle:
            image = self.http.post(f"/api/v1/patients/{patient.json()['id']}/images",
                                   headers=self.headers,
                                   files={"file": ("colin27.nii.gz", handle, "application/gzip")})
        image.raise_for_status()
        return image.json()["id"]

    def run_jobs(self, image_id: str, count: int, timeout_s: float) -> list[dict]:
        """Submit ``count`` jobs at once and wait for all; returns the job records."""
        ids = []
        for n in range(count):
            response = self.http.post(f"/api/v1/images/{image_id}/plans", headers=self.headers,
                                      json={"strategy": STRATEGIES[n % len(STRATEGIES)]})
            response.raise_for_status()
            ids.append(response.json()["id"])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            jobs = [self.http.get(f"/api/v1/jobs/{i}", headers=self.headers).json() for i in ids]
            if all(j["state"] in ("succeeded", "failed") for j in jobs):
                failed = [j for j in jobs if j["state"] != "succeeded"]
                if failed:
                    raise RuntimeError(f"jobs failed: {failed}")
                return jobs
            time.sleep(0.5)
        raise RuntimeError("jobs did not finish in time")

    def close(self) -> None:
        self.http.close()
        for process in [*self.workers, self.api]:
            process.stop()


def _figures(jobs: list[dict], workers: int) -> dict[str, float]:
    created = [_time(j["created_at"]) for j in jobs]
    started = [_time(j["started_at"]) for j in jobs]
    finished = [_time(j["finished_at"]) for j in jobs]
    span = (max(finished) - min(created)).total_seconds()
    order = sorted(range(len(jobs)), key=lambda i: started[i])
    idle = [(started[i] - created[i]).total_seconds() for i in order[:workers]]
    return {
        "plans_per_hour": len(jobs) / span * 3600,
        "wall_s": span,
        "mean_job_s": statistics.mean((f - s).total_seconds() for s, f in zip(started, finished)),
        "idle_overhead_ms": statistics.median(idle) * 1000,
    }


def _quick_overhead(jobs: list[dict]) -> tuple[float, float]:
    """Median and 95th percentile submit -> start (ms) of jobs run one at a time."""
    waits = sorted((_time(j["started_at"]) - _time(j["created_at"])).total_seconds() * 1000
                   for j in jobs)
    return statistics.median(waits), waits[min(len(waits) - 1, int(0.95 * len(waits)))]


def _start_redis(root: Path) -> tuple[str, subprocess.Popen]:
    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit("no broker: pass --redis URL or install redis-server")
    port = free_port()
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--dir", str(root)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return f"redis://127.0.0.1:{port}/0", process


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=4, help="real plan jobs per set-up")
    parser.add_argument("--quick-jobs", type=int, default=20,
                        help="stand-in jobs, one at a time, for the queue overhead")
    parser.add_argument("--redis", default=os.environ.get("NAVSVC_TEST_REDIS_URL"))
    parser.add_argument("--database", default=os.environ.get("NAVSVC_TEST_POSTGRES_URL"),
                        help="PostgreSQL URL (default: SQLite in a temporary folder)")
    args = parser.parse_args(argv)
    results, redis_process = {}, None
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="navsvc-queue-bench-") as tmp:
        root = Path(tmp)
        redis_url = args.redis
        if not redis_url:
            redis_url, redis_process = _start_redis(root)
        try:
            for workers in (1, 2):
                database_url = _fresh_schema(args.database, workers)
                folder = root / f"w{workers}"
                folder.mkdir()
                setup = Setup(folder, redis_url, database_url, workers)
                try:
                    image_id = setup.upload()
                    setup.run_jobs(image_id, 1, 600)  # warm-up: imports, template cache
                    jobs = setup.run_jobs(image_id, args.plans, 1800)
                finally:
                    setup.close()
                figures = _figures(jobs, workers)
                quick_folder = root / f"q{workers}"
                quick_folder.mkdir()
                quick = Setup(quick_folder, redis_url, _fresh_schema(args.database, workers),
                              workers, plan_function="deploy_fakes:quick_plan")
                try:
                    image_id = quick.upload()
                    quick.run_jobs(image_id, 1, 120)  # warm-up
                    quick_jobs = [quick.run_jobs(image_id, 1, 120)[0]
                                  for _ in range(args.quick_jobs)]
                finally:
                    quick.close()
                figures["quick_median_ms"], figures["quick_p95_ms"] = _quick_overhead(quick_jobs)
                results[workers] = figures
                print(f"  {workers} worker(s) done: {figures}", file=sys.stderr, flush=True)
        finally:
            _drop_schemas(args.database)
            if redis_process is not None:
                redis_process.terminate()
                redis_process.wait()
    load_after = os.getloadavg()
    _print(results, args, load_before, load_after)
    return 0


#: PostgreSQL schemas made by :func:`_fresh_schema`, dropped by :func:`_drop_schemas`
_SCHEMAS: list[str] = []


def _fresh_schema(base: str | None, tag: int) -> str | None:
    """A fresh PostgreSQL schema of ``base`` (None: SQLite)."""
    if not base:
        return None
    schema = f"bench_{tag}_{uuid.uuid4().hex[:8]}"
    _schema_sql(base, f'CREATE SCHEMA "{schema}"')
    _SCHEMAS.append(schema)
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}"


def _schema_sql(base: str, statement: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(statement))
    engine.dispose()


def _drop_schemas(base: str | None) -> None:
    while base and _SCHEMAS:
        _schema_sql(base, f'DROP SCHEMA "{_SCHEMAS.pop()}" CASCADE')


def _print(results: dict, args, load_before, load_after) -> None:
    rows = [
        ("plans per hour (real pipeline)", "plans_per_hour", "{:.0f}"),
        (f"wall time for {args.plans} plans, s", "wall_s", "{:.1f}"),
        ("mean job run time, s", "mean_job_s", "{:.1f}"),
        ("submit -> start, idle worker (real jobs), ms", "idle_overhead_ms", "{:.0f}"),
        (f"submit -> start, median of {args.quick_jobs} quick jobs, ms", "quick_median_ms",
         "{:.0f}"),
        ("submit -> start, 95th percentile, ms", "quick_p95_ms", "{:.0f}"),
    ]
    database = "PostgreSQL" if args.database else "SQLite"
    print(f"navsvc job queue (Celery on Redis, {database}); {os.cpu_count()} cores; "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print(f"{'':50s} {'1 worker':>10s} {'2 workers':>10s}")
    for label, key, fmt in rows:
        print(f"{label:50s} {fmt.format(results[1][key]):>10s} {fmt.format(results[2][key]):>10s}")


if __name__ == "__main__":
    sys.exit(main())
