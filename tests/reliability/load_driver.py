"""Closed-loop load on the read and logging endpoints of a running server.

Each client sends its next request when the last one answered. Readers cycle through
GET patients, course, sessions, assessments, plan and the day's schedule, and every
fifth request records an ``extra`` HAMD-17 rating; one client per course logs that
course's sessions in order. Any answer other than 2xx, or a transport error, counts
as an error.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

import httpx
from live_course import session_log
from seed import extra_rating


def percentile_ms(samples_s: list[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``samples_s`` in milliseconds (nearest rank)."""
    ordered = sorted(samples_s)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index] * 1000.0


@dataclass
class LoadResult:
    """Latencies per endpoint and the errors of one run."""

    duration_s: float
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, name: str, seconds: float) -> None:
        """Record one answered request."""
        self.latencies.setdefault(name, []).append(seconds)

    def table(self) -> str:
        """Requests, rate, p50 and p99 per endpoint and overall."""
        lines = [f"{'endpoint':<28}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}"]
        every = []
        for name, samples in sorted(self.latencies.items()):
            every += samples
            lines.append(f"{name:<28}{len(samples):>9}{len(samples) / self.duration_s:>8.0f}"
                         f"{percentile_ms(samples, .5):>9.1f}{percentile_ms(samples, .99):>9.1f}")
        if every:
            lines.append(f"{'all':<28}{len(every):>9}{len(every) / self.duration_s:>8.0f}"
                         f"{percentile_ms(every, .5):>9.1f}{percentile_ms(every, .99):>9.1f}")
        lines.append(f"errors: {len(self.errors)}" + (f" e.g. {self.errors[:3]}"
                                                      if self.errors else ""))
        return "\n".join(lines)


async def _timed(client, result, name, method, url, **kwargs) -> bool:
    started = time.perf_counter()
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        result.errors.append(f"{name}: {type(exc).__name__}")
        return False
    if not 200 <= response.status_code < 300:
        result.errors.append(f"{name}: HTTP {response.status_code} {response.text[:120]}")
        return False
    result.add(name, time.perf_counter() - started)
    return True


async def _reader(client, auth, ids, stop_at, result, offset) -> None:
    course = ids["course_id"]
    reads = [("GET /patients", "/api/v1/patients?limit=20"),
             ("GET /courses/{id}", f"/api/v1/courses/{course}"),
             ("GET /courses/{id}/sessions", f"/api/v1/courses/{course}/sessions"),
             ("GET /courses/{id}/assessments", f"/api/v1/courses/{course}/assessments"),
             ("GET /plans/{id}", f"/api/v1/plans/{ids['plan_id']}"),
             ("GET /schedule", "/api/v1/schedule")]
    n = offset
    while time.perf_counter() < stop_at:
        n += 1
        if n % 5 == 0:
            await _timed(client, result, "POST /courses/{id}/assessments", "POST",
                         f"/api/v1/courses/{course}/assessments", headers=auth["clinician"],
                         json=extra_rating("2025-03-03", f"load-{uuid.uuid4().hex[:10]}"))
        else:
            name, url = reads[n % len(reads)]
            await _timed(client, result, name, "GET", url, headers=auth["technician"])


async def _logger(client, auth, sessions, stop_at, result) -> None:
    for session in sessions:
        if time.perf_counter() >= stop_at:
            return
        ok = await _timed(client, result, "POST /sessions/{id}/delivery", "POST",
                          f"/api/v1/sessions/{session['id']}/delivery",
                          headers={**auth["technician"], "Idempotency-Key": str(uuid.uuid4())},
                          json=session_log(session))
        if not ok:
            return


async def _run(base_url, auth, courses, clients, duration_s) -> LoadResult:
    result = LoadResult(duration_s)
    # Idle connections are dropped after 2 s, before the server's 5 s keep-alive
    # timeout: otherwise a request may go out on a connection the server is closing.
    limits = httpx.Limits(max_connections=clients + len(courses),
                          max_keepalive_connections=clients + len(courses),
                          keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
        stop_at = time.perf_counter() + duration_s
        tasks = [_logger(client, auth, sessions, stop_at, result) for _, sessions in courses]
        tasks += [_reader(client, auth, courses[i % len(courses)][0], stop_at, result, i)
                  for i in range(clients - len(courses))]
        await asyncio.gather(*tasks)
    return result


def run_load(base_url: str, auth: dict, courses: list[tuple[dict, list[dict]]], clients: int,
             duration_s: float) -> LoadResult:
    """Run ``clients`` concurrent clients for ``duration_s`` seconds.

    Parameters
    ----------
    base_url : str
        The server.
    auth : dict
        Role -> Authorization headers (``technician`` and ``clinician`` are used).
    courses : list of (ids, sessions)
        Courses to read and log: the ids of :func:`live_course.live_course` and the
        course's sessions; one client per course logs its sessions, the others read.
    clients : int
        Concurrent clients in all.
    duration_s : float
        How long the load runs.
    """
    return asyncio.run(_run(base_url, auth, courses, clients, duration_s))
