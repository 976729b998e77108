"""Schemathesis fuzzing of every operation with every role: no 5xx, nothing undocumented.

CI runs a few generated requests per operation (``NAVSVC_FUZZ_EXAMPLES``, default 2:
about 1,000 requests); ``benchmarks/api_fuzz.py`` runs the full count.
"""

from __future__ import annotations

import os

from fuzz_driver import fuzz_app

EXAMPLES = int(os.environ.get("NAVSVC_FUZZ_EXAMPLES", "2"))


def test_fuzz_every_operation_every_role(client, seeded, auth):
    tokens = {role: headers["Authorization"][7:] for role, headers in auth.items()}
    report = fuzz_app(client, tokens, EXAMPLES, seeded, seed=7)
    print(report.summary())
    assert report.operations >= 40
    assert report.server_errors == 0, "\n".join(report.failures[:30])
    assert report.failures == [], "\n".join(report.failures[:30])
