"""200 concurrent clients on the read and logging endpoints of a real server for 60 s.

Usage::

    python benchmarks/api_load_200.py [--clients 200] [--duration-s 60] [--courses 4]

Starts ``navsvc serve`` on 127.0.0.1 (a free port, a temporary data folder, SQLite,
the API tests' fake plan function), seeds courses whose sessions are all due, then runs
the closed-loop load of ``tests/reliability/load_driver.py``: readers (GET patients,
course, sessions, assessments, plan, schedule; every fifth request records a HAMD-17
rating) and one session logger per course. Prints p50/p99 per endpoint, the error
count and the machine's load average; exit code 1 on any error.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "api"), str(REPO / "tests" / "reliability")]

import httpx  # noqa: E402
from api_fuzz import small_head  # noqa: E402
from live_course import live_course, sessions_of, tokens  # noqa: E402
from load_driver import run_load  # noqa: E402
from server_process import ServerProcess  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Start a server, seed it, run the load, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration-s", type=float, default=60.0)
    parser.add_argument("--courses", type=int, default=4, help="courses logged in parallel")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "data", {
            "NAVSVC_PLAN_FUNCTION": "api_test_fakes:fake_make_plan",
            "NAVSVC_LOG_LEVEL": "WARNING"}).start()
        try:
            auth = tokens(server, "technician", "clinician")
            head = small_head(Path(tmp))
            with httpx.Client(base_url=server.base_url, timeout=60) as http:
                courses = []
                for _ in range(args.courses):
                    ids = live_course(http, auth, head)
                    courses.append((ids, sessions_of(http, auth, ids["course_id"])))
            before = os.getloadavg()
            result = run_load(server.base_url, auth, courses, args.clients, args.duration_s)
            after = os.getloadavg()
        finally:
            server.stop()
    print(f"{args.clients} concurrent clients for {args.duration_s:.0f} s against "
          f"{server.base_url} ({os.cpu_count()} CPUs; load average before "
          f"{before[0]:.2f}, after {after[0]:.2f} {after[1]:.2f} {after[2]:.2f})")
    print(result.table())
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
