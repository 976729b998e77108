"""Read-load benchmark of a running navsvc server (not a test).

Fifty concurrent clients (closed loop: each sends its next request when the last
one answered) call GET plan, GET job and GET patients for a fixed time; the script
prints requests per second and p50/p99 latency per endpoint and overall, then the
latency of single GET plan requests with nothing else running.

Each client is an HTTP/1.1 keep-alive connection; every status code is checked and
every request's latency measured (from sending to the end of the body). The load
generator shares the machine's cores with the server, so it is kept lean: aiohttp
(``--generator httpx`` for the slower httpx client) in ``--processes`` processes
(default 2) that split the clients between them. The generator used, its CPU time and
the load average are printed.

Measured on the 2-core development machine, SQLite, 20 s, generator 2 processes, with
another agent's registration jobs running (1-min load average in brackets):

    server                                       req/s        p50 ms  p99 ms  CPU/request
    before (82cd693), 1 process, h11/asyncio     312          76      1,472   3.4 ms   (1.0)
    navsvc serve, 1 process                      2,431        20      29      0.41 ms  (1.2)
    navsvc serve, 1 process                      1,819-1,872  26      47-49   0.44 ms  (2.9-3.7)
    navsvc serve --workers 2                     2,245-2,275  19-20   52-59   0.46 ms  (3.4-4.0)

PostgreSQL 15 on loopback (same machine, same run length, quiet machine, load 0.5-1.3):

    server                                       req/s        p50 ms  p99 ms
    navsvc serve, 1 process, pooled reads        450          104     215
    navsvc serve --workers 2, pooled reads       1,039        45      111
    navsvc serve, 1 process, kept connection     679          71      118
    navsvc serve --workers 2, kept connection    1,218        39      77

"Pooled reads" checked a connection out of the pool for every read (PostgreSQL then
answers a pre-ping and a rollback besides the query); the loop now keeps one autocommit
connection (:class:`api.db.LoopReader`). The reads still block the event loop while
PostgreSQL works on the same two cores, so the p99 goal of 50 ms is met on SQLite, not on
PostgreSQL (synchronous_commit=off changed nothing: the audit fsync is not the limit).
Single GET plan on PostgreSQL: p50 3.9-5.3 ms, p99 4-10 ms.

Single GET plan requests, one at a time: p50 1.1-1.3 ms, p99 2-3 ms (before: 3.4/5.0).
CPU/request is the server's CPU time over the run divided by the requests answered.
With a 1-process generator (one event loop for all 50 clients) p99 was ~55 ms.

Usage::

    navsvc admin create-token --role auditor --name bench
    navsvc serve --port 8000                      # or several processes: --workers 2
    python benchmarks/api_read_load.py --token nsv_... [--base-url http://127.0.0.1:8000]
        [--clients 50] [--duration-s 20] [--processes 2] [--generator aiohttp|httpx]
        [--plan-id ID] [--job-id ID] [--single 200]

Without ``--plan-id``/``--job-id`` the newest plan and job are used; an endpoint with
nothing to read is left out. The token needs a role that may read plans, jobs and
patients (clinician, technician or auditor).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
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


class _AiohttpClient:
    """GET through one aiohttp session (a keep-alive connection per concurrent client)."""

    def __init__(self, base_url: str, token: str, clients: int) -> None:
        import aiohttp

        self._errors = (aiohttp.ClientError, asyncio.TimeoutError)
        self._session = aiohttp.ClientSession(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"},
            connector=aiohttp.TCPConnector(limit=clients, force_close=False),
            timeout=aiohttp.ClientTimeout(total=30))

    async def get(self, url: str) -> int:
        async with self._session.get(url) as response:
            await response.read()
            return response.status

    async def close(self) -> None:
        await self._session.close()


class _HttpxClient:
    """GET through one httpx AsyncClient."""

    def __init__(self, base_url: str, token: str, clients: int) -> None:
        self._errors = (httpx.HTTPError,)
        self._client = httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30,
            limits=httpx.Limits(max_connections=clients, max_keepalive_connections=clients))

    async def get(self, url: str) -> int:
        return (await self._client.get(url)).status_code

    async def close(self) -> None:
        await self._client.aclose()


GENERATORS = {"aiohttp": _AiohttpClient, "httpx": _HttpxClient}


async def client_loop(client, urls: list[tuple[str, str]], offset: int, stop_at: float,
                      latencies: dict[str, list[float]], errors: list[str]) -> None:
    """One closed-loop client cycling through the endpoints."""
    index = offset
    while time.perf_counter() < stop_at:
        name, url = urls[index % len(urls)]
        index += 1
        started = time.perf_counter()
        try:
            status = await client.get(url)
        except client._errors as exc:
            errors.append(f"{name}: {type(exc).__name__}")
            continue
        elapsed_s = time.perf_counter() - started
        if status != 200:
            errors.append(f"{name}: HTTP {status}")
        else:
            latencies[name].append(elapsed_s)


async def run(generator: str, base_url: str, token: str, urls: dict, clients: int,
              first_client: int, duration_s: float, start_at: float) -> dict:
    """Run ``clients`` closed-loop clients from ``start_at`` (a ``time.time()``) for
    ``duration_s``; return latencies per endpoint and the errors."""
    latencies = {name: [] for name in urls}
    errors: list[str] = []
    client = GENERATORS[generator](base_url, token, clients)
    try:
        items = list(urls.items())
        await asyncio.gather(*(client.get(url) for _, url in items))  # warm up
        await asyncio.sleep(max(0.0, start_at - time.time()))
        stop_at = time.perf_counter() + duration_s
        await asyncio.gather(*(client_loop(client, items, first_client + i, stop_at,
                                           latencies, errors) for i in range(clients)))
    finally:
        await client.close()
    return {"latencies": latencies, "errors": errors}


def _process_main(arguments: tuple) -> dict:
    return asyncio.run(run(*arguments))


def run_processes(args: argparse.Namespace, urls: dict) -> dict:
    """Split the clients over ``args.processes`` generator processes; merge results."""
    start_at = time.time() + 1.0 + 0.5 * args.processes
    shares = [args.clients // args.processes + (i < args.clients % args.processes)
              for i in range(args.processes)]
    jobs = [(args.generator, args.base_url, args.token, urls, share, sum(shares[:i]),
             args.duration_s, start_at) for i, share in enumerate(shares)]
    if args.processes == 1:
        parts = [_process_main(jobs[0])]
    else:
        with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
            parts = pool.map(_process_main, jobs)
    merged = {"latencies": {name: [] for name in urls}, "errors": []}
    for part in parts:
        for name, samples in part["latencies"].items():
            merged["latencies"][name].extend(samples)
        merged["errors"].extend(part["errors"])
    return merged


def single_requests(base_url: str, token: str, url: str, count: int) -> list[float]:
    """Latencies of ``count`` GETs of ``url``, one at a time on one connection."""
    samples = []
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"},
                      timeout=30) as client:
        client.get(url).raise_for_status()
        for _ in range(count):
            started = time.perf_counter()
            client.get(url).raise_for_status()
            samples.append(time.perf_counter() - started)
    return samples


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the load, print the table; exit 1 on request errors."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--token", required=True)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration-s", type=float, default=20.0)
    parser.add_argument("--processes", type=int, default=2,
                        help="load generator processes sharing the clients (one event loop "
                             "serving all 50 added its own queueing to the latencies)")
    parser.add_argument("--generator", choices=sorted(GENERATORS), default="aiohttp")
    parser.add_argument("--plan-id")
    parser.add_argument("--job-id")
    parser.add_argument("--single", type=int, default=200,
                        help="single GET plan requests measured after the load (0: none)")
    args = parser.parse_args(argv)
    with httpx.Client(base_url=args.base_url, timeout=30,
                      headers={"Authorization": f"Bearer {args.token}"}) as client:
        urls = discover_urls(client, args.plan_id, args.job_id)
    load_before = os.getloadavg()
    cpu_before = os.times()
    result = run_processes(args, urls)
    cpu = os.times()
    generator_cpu_s = sum(cpu[:4]) - sum(cpu_before[:4])  # own and child processes
    print(f"{args.clients} concurrent closed-loop clients, {args.duration_s:.0f} s against "
          f"{args.base_url}; generator: {args.generator} in {args.processes} process(es); "
          f"load average before {load_before[0]:.2f} {load_before[1]:.2f}")
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
    print(f"errors: {len(result['errors'])}; load generator CPU {generator_cpu_s:.1f} s "
          f"({generator_cpu_s / max(1, len(every)) * 1e6:.0f} us per request)")
    plan_url = urls.get("GET /plans/{id}")
    if args.single and plan_url:
        samples = single_requests(args.base_url, args.token, plan_url, args.single)
        print(f"single GET /plans/{{id}} (httpx, one at a time, {args.single}): "
              f"p50 {percentile_ms(samples, 0.5):.1f} ms, p99 {percentile_ms(samples, 0.99):.1f} ms")
    if result["errors"]:
        print(f"{len(result['errors'])} failed requests, e.g. {result['errors'][:3]}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
