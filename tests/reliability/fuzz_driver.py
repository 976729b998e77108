"""Property-based fuzzing of the API against its own OpenAPI document (schemathesis).

Every operation of the document is driven with generated requests, valid ones
(``positive``) and invalid ones (``negative``), with random path ids and with ids of
records that exist. Each generated request is sent once per role token and once with
the generated (usually bogus) ``Authorization`` header. Every response is checked
for: no 5xx, a documented status code, a documented content type, and a body that
matches the documented schema (problem details for errors).

Used by ``tests/reliability/test_api_fuzz.py`` (few examples) and
``benchmarks/api_fuzz.py`` (many).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

#: what every response must satisfy
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@dataclass
class FuzzReport:
    """What a fuzzing run sent and found.

    Attributes
    ----------
    requests : int
        Requests sent.
    operations : int
        Operations of the OpenAPI document exercised.
    statuses : Counter
        Responses per status code.
    failures : list of str
        One line per response that failed a check (operation, role, status, reason).
    seconds : float
        Wall time.
    """

    requests: int = 0
    operations: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def server_errors(self) -> int:
        """Responses with a 5xx status."""
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def summary(self) -> str:
        """One paragraph for a log or a benchmark printout."""
        codes = ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items()))
        return (f"{self.requests} requests over {self.operations} operations in "
                f"{self.seconds:.1f} s; 5xx: {self.server_errors}; schema/status failures: "
                f"{len(self.failures)}; statuses {{{codes}}}")


def _send(client, kwargs: dict, authorization: str | None):
    headers = {k: v for k, v in (kwargs.get("headers") or {}).items()
               if k.lower() != "authorization"}
    original = next((v for k, v in (kwargs.get("headers") or {}).items()
                     if k.lower() == "authorization"), None)
    value = authorization if authorization is not None else original
    if value is not None:
        headers["Authorization"] = value
    extra = {key: kwargs[key] for key in ("json", "data", "files", "content")
             if kwargs.get(key) is not None}
    if isinstance(extra.get("data"), (bytes, str)):
        extra["content"] = extra.pop("data")
    return client.request(kwargs["method"], kwargs["url"], headers=headers,
                          params=kwargs.get("params") or None,
                          cookies=kwargs.get("cookies") or None, **extra)


def _read_request_body(request) -> None:
    """Load a streamed request body, which the checks read when they report."""
    try:
        request.read()
    except Exception:  # a generated multipart part that is not a file: body not kept
        request._content = b""


def fuzz_app(client, tokens: dict[str, str], examples: int, known_ids: dict[str, str],
             seed: int = 0, base_url: str = "http://testserver") -> FuzzReport:
    """Fuzz every operation of the application behind ``client``.

    Parameters
    ----------
    client : fastapi.testclient.TestClient or httpx.Client
        A client of the running application (``raise_server_exceptions=False`` for a
        test client, so a 5xx is counted, not raised).
    tokens : dict
        Role -> bearer token secret.
    examples : int
        Generated requests per operation, generation mode and id source; each is sent
        ``len(tokens) + 1`` times.
    known_ids : dict
        Path parameter name -> id of an existing record (``patient_id``, ...).
    seed : int
        Seed of the generator (runs are reproducible).
    base_url : str
        Base URL the requests are built on (the client's).

    Returns
    -------
    FuzzReport
    """
    started = time.monotonic()
    schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
    report = FuzzReport()
    identities = [(role, f"Bearer {secret}") for role, secret in tokens.items()]
    identities.append(("generated", None))
    rng = random.Random(seed)
    for result in schema.get_all_operations():
        operation = result.ok()
        report.operations += 1
        path_names = [p.name for p in operation.iter_parameters() if p.location == "path"]
        known = {name: known_ids[name] for name in path_names if name in known_ids}
        sources = [None] + ([known] if known and len(known) == len(path_names) else [])
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for path_parameters in sources:
                strategy = operation.as_strategy(mode, path_parameters=path_parameters)
                _run_strategy(client, strategy, examples, rng.randrange(2**32), identities,
                              base_url, report)
    report.seconds = time.monotonic() - started
    return report


def _run_strategy(client, strategy, examples, seed, identities, base_url, report) -> None:
    @given(case=strategy)
    @settings(max_examples=examples, database=None, deadline=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        kwargs = case.as_transport_kwargs(base_url=base_url)
        for who, authorization in identities:
            response = _send(client, kwargs, authorization)
            report.requests += 1
            _read_request_body(response.request)
            report.statuses[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except (Failure, FailureGroup) as exc:  # a failed check: record it, go on
                failures = exc.exceptions if isinstance(exc, FailureGroup) else [exc]
                reasons = "; ".join(f"{f.title}: {f.message}".replace("\n", " ")[:300]
                                    for f in failures)
                request = response.request
                report.failures.append(
                    f"{request.method} {request.url.path}?{request.url.query.decode()[:200]} "
                    f"[{who}] -> {response.status_code} {response.text[:160]!r}: {reasons}")

    try:
        hypothesis_seed(seed)(run)()
    except Unsatisfiable:  # nothing can be made invalid (an operation without inputs)
        pass
