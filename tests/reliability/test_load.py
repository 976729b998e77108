"""A short load run: 50 concurrent clients on read and logging endpoints for 10 s, no
error. ``benchmarks/api_load_200.py`` runs 200 clients for 60 s."""

from __future__ import annotations

import os

import httpx
from live_course import live_course, sessions_of, tokens
from load_driver import run_load

CLIENTS = int(os.environ.get("NAVSVC_LOAD_CLIENTS", "50"))
DURATION_S = float(os.environ.get("NAVSVC_LOAD_DURATION_S", "10"))


def test_fifty_clients_without_error(server_factory, small_head):
    server = server_factory()
    auth = tokens(server, "technician", "clinician")
    with httpx.Client(base_url=server.base_url, timeout=60) as http:
        ids = live_course(http, auth, small_head)
        courses = [(ids, sessions_of(http, auth, ids["course_id"]))]
    result = run_load(server.base_url, auth, courses, CLIENTS, DURATION_S)
    print(result.table())
    assert result.errors == [], result.errors[:5]
    assert sum(len(v) for v in result.latencies.values()) > CLIENTS
