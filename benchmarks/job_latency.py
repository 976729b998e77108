"""One plan request through the embedded worker, with and without its standby process.

Starts two ``navsvc serve`` services (the README's embedded set-up: SQLite, the worker in
the service, each in a temporary folder): one with the default standby process (``NAVSVC_STANDBY_PROCESS=1``: while idle,
the worker keeps a job process started ahead with the engine imported), one without it
(each job starts a fresh process that imports the engine first). Uploads Colin27 to
each, then alternates single real plan jobs between them, each submitted after the
services have idled ``--idle`` seconds (a clinic's usual case: a request arrives at an
idle service). Prints per job the time from the request to the stored plan and the
job's own running time, and the medians side by side.

Measured 2026-12-04 (2 cores, the bundled Colin27 head, 10 s idle before each job),
request to stored plan, rounds 1-3: with the standby 13.4, 14.0, 12.3 s (median 13.4),
without it 14.4, 17.8, 16.4 s (median 16.4). The standby imports the engine in 3.7 s
and then holds 0.31 GiB (resident; 0.10 GiB of it shared library pages).

Usage: ``python benchmarks/job_latency.py [--rounds 3] [--idle 10]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "deploy")]

from deploy_helpers import Process, cli, free_port, wait_ready  # noqa: E402

COLIN27 = REPO / "atlases" / "colin27_head.nii.gz"


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class Service:
    """``navsvc serve`` with its embedded worker on a private data folder."""

    def __init__(self, root: Path, standby: bool) -> None:
        data_dir = root / "data"
        self.env = {**os.environ, "NAVSVC_DATA_DIR": str(data_dir),
                    "NAVSVC_STANDBY_PROCESS": "1" if standby else "0"}
        for name in ("NAVSVC_DATABASE_URL", "NAVSVC_BROKER_URL"):  # the embedded defaults
            self.env.pop(name, None)
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        self.process = Process([sys.executable, "-m", "navsvc.cli", "serve", "--host", "127.0.0.1",
                                "--port", str(port)], self.env, root / "api.log")
        wait_ready(self.base_url, self.process)
        token = cli(self.env, "admin", "create-token", "--role", "technician", "--name",
                    f"bench-{uuid.uuid4().hex[:6]}").strip()
        self.http = httpx.Client(base_url=self.base_url, timeout=120,
                                 headers={"Authorization": f"Bearer {token}"})
        patient = self.http.post("/api/v1/patients", json={"external_id": f"BENCH-{uuid.uuid4().hex[:8]}"})
        with open(COLIN27, "rb") as handle:
            image = self.http.post(f"/api/v1/patients/{patient.json()['id']}/images",
                                   files={"file": ("colin27.nii.gz", handle, "application/gzip")})
        image.raise_for_status()
        self.image_id = image.json()["id"]

    def plan(self, timeout_s: float = 300.0) -> tuple[float, float]:
        """One plan job; returns (request to result, job running time), seconds."""
        start = time.perf_counter()
        job = self.http.post(f"/api/v1/images/{self.image_id}/plans", json={"strategy": "fox2012"})
        job.raise_for_status()
        url = f"/api/v1/jobs/{job.json()['id']}"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            record = self.http.get(url).json()
            if record["state"] == "succeeded":
                waited = time.perf_counter() - start
                return waited, (_time(record["finished_at"]) - _time(record["started_at"])).total_seconds()
            if record["state"] == "failed":
                raise RuntimeError(f"job failed: {record['reason']}")
            time.sleep(0.1)
        raise RuntimeError("job did not finish in time")

    def close(self) -> None:
        self.http.close()
        self.process.stop()


def main(argv: list[str] | None = None) -> int:
    """Run the jobs and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="jobs per service")
    parser.add_argument("--idle", type=float, default=10.0, help="idle seconds before each job")
    args = parser.parse_args(argv)
    results: dict[str, list[tuple[float, float]]] = {"standby": [], "no standby": []}
    with tempfile.TemporaryDirectory(prefix="navsvc-job-latency-") as tmp:
        services = {}
        try:
            for name in results:
                (Path(tmp) / name).mkdir()
                services[name] = Service(Path(tmp) / name, standby=name == "standby")
            for round_ in range(args.rounds):
                for name, service in services.items():
                    time.sleep(args.idle)
                    waited, ran = service.plan()
                    results[name].append((waited, ran))
                    print(f"round {round_ + 1} {name:<11} request to plan {waited:6.1f} s, job ran {ran:6.1f} s",
                          flush=True)
        finally:
            for service in services.values():
                service.close()
    print(f"\nmedian of {args.rounds}  request to plan   job ran")
    for name, rows in results.items():
        print(f"{name:<12} {statistics.median(r[0] for r in rows):12.1f} s {statistics.median(r[1] for r in rows):9.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
