"""Read-load benchmark of a running navsvc server (not a test).

Fifty concurrent clients (closed loop: each sends its next request when the last
one answered) call GET plan, GET job and GET patients for a fixed time; the script
prints requests per second and p50/p99 latency per endpoint and overall.

Usage::

    navsvc admin create-token --role auditor --name bench
    python benchmarks/api_read_load.py --token nsv_... [--base-url http://127.0.0.1:8000]
        [--clients 50] [--duration-s 20] [--plan-id ID] [--job-id ID]

Without ``--plan-id``/``--job-id`` the newest plan and job are used; an endpoint with
nothing to read is left out. The token needs a role that may read plans, jobs and
patients (clinician, technician or auditor).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

import httpx


def percentile_ms(samples_s: list[float], fraction: float) -> float:
    """Return the ``fraction`` quantile of ``samples_s`` in milliseconds (nearest rank)."""
    ordered = sorted(samples_s)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index] * 1000.0


def discover_urls(client: httpx.Client, plan_id: str | None, job_id: str | None) -> dict:
    """Return endpoint name -> URL, looking up the newest plan and job if not given."""
    if plan_id is None:
        plans = client.get("/api/v1/plans", params={"limit": 1}).raise_for_status().json()
        plan_id = plans["items"][0]["id"] if plans["items"] else None
    if job_id is None:
        jobs = client.get("/api/v1/jobs", params={"limit": 1}).raise_for_status().json()
        job_id = jobs["items"][0]["id"] if jobs["items"] else None
    urls = {"GET /patients": "/api/v1/patients?limit=20"}
    if plan_id:
        urls["GET /plans/{id}"] = f"/api/v1/plans/{plan_id}"
    if job_id:
        urls["GET /jobs/{id}"] = f"/api/v1/jobs/{job_id}"
    return urls


async def client_loop(client: httpx.AsyncClient, urls: list[tuple[str, str]], offset: int,
                      stop_at: float, latencies: dict[str, list[float]], errors: list[str]):
    """One closed-loop client cycling through the endpoints."""
    index = offset
    while time.perf_counter() < stop_at:
        name, url = urls[index % len(urls)]
        index += 1
        started = time.perf_counter()
        try:
            response = await client.get(url)
        except httpx.HTTPError as exc:
            errors.append(f"{name}: {type(exc).__name__}")
            continue
        elapsed_s = time.perf_counter() - started
        if response.status_code != 200:
            errors.append(f"{name}: HTTP {response.status_code}")
        else:
            latencies[name].append(elapsed_s)


async def run(base_url: str, token: str, urls: dict, clients: int, duration_s: float) -> dict:
    """Run the load and return latencies per endpoint and the errors."""
    latencies = {name: [] for name in urls}
    errors: list[str] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits,
                                 timeout=30) as client:
        items = list(urls.items())
        await asyncio.gather(*(client.get(url) for _, url in items))  # warm up
        stop_at = time.perf_counter() + duration_s
        await asyncio.gather(*(client_loop(client, items, i, stop_at, latencies, errors)
                               for i in range(clients)))
    return {"latencies": latencies, "errors": errors}


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the load, print the table; exit 1 on request errors."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--token", required=True)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration-s", type=float, default=20.0)
    parser.add_argument("--plan-id")
    parser.add_argument("--job-id")
    args = parser.parse_args(argv)
    with httpx.Client(base_url=args.base_url, timeout=30,
                      headers={"Authorization": f"Bearer {args.token}"}) as client:
        urls = discover_urls(client, args.plan_id, args.job_id)
    result = asyncio.run(run(args.base_url, args.token, urls, args.clients, args.duration_s))
    print(f"{args.clients} concurrent clients, {args.duration_s:.0f} s against {args.base_url}")
    print(f"{'endpoint':<18}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    every: list[float] = []
    for name, samples in result["latencies"].items():
        every.extend(samples)
        if samples:
            print(f"{name:<18}{len(samples):>10}{len(samples) / args.duration_s:>10.0f}"
                  f"{percentile_ms(samples, 0.50):>10.1f}{percentile_ms(samples, 0.99):>10.1f}")
    if every:
        print(f"{'all':<18}{len(every):>10}{len(every) / args.duration_s:>10.0f}"
              f"{percentile_ms(every, 0.50):>10.1f}{percentile_ms(every, 0.99):>10.1f}"
              f"   (mean {statistics.fmean(every) * 1000:.1f} ms)")
    if result["errors"]:
        print(f"{len(result['errors'])} failed requests, e.g. {result['errors'][:3]}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
