"""Role matrix: every operation x every role, on existing and on unknown records.

A role that may not use an operation gets 403 whether or not the record exists; a
role that may gets past authorization (any answer but 401/403); no token gets 401.
"""

from __future__ import annotations

import re

import pytest

from api.security import ROLES
from navsvc.errors import InputError
from role_matrix import MATRIX

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def operations(app) -> set[tuple[str, str]]:
    """Every (method, path) of the API in the OpenAPI document."""
    return {(method.upper(), path) for path, item in app.openapi()["paths"].items()
            for method in item if path.startswith("/api/v1")}


def fill(path: str, ids: dict[str, str]) -> str:
    """Replace ``{name}`` placeholders by ids (``format`` becomes ``localite``)."""
    def value(match: re.Match) -> str:
        name = match.group(1)
        return "localite" if name == "format" else ids.get(name, UNKNOWN_ID)
    return re.sub(r"\{(\w+)\}", value, path)


def call(client, method: str, url: str, headers: dict):
    body = None if method == "GET" else {}
    return client.request(method, url, headers=headers, json=body)


def test_every_route_is_in_the_matrix(app):
    missing = sorted(operations(app) - set(MATRIX))
    stale = sorted(set(MATRIX) - operations(app))
    assert not missing, f"add these operations to tests/api/role_matrix.py: {missing}"
    assert not stale, f"these matrix rows name no operation: {stale}"


def test_role_matrix(client, auth, image, plan_id):
    existing = {"patient_id": image["patient_id"], "image_id": image["id"],
                "plan_id": plan_id}
    job = client.get("/api/v1/jobs", headers=auth["auditor"]).json()["items"]
    if job:
        existing["job_id"] = job[0]["id"]
    failures = []
    for (method, path), allowed in sorted(MATRIX.items()):
        for ids in ({}, existing):
            url = fill(path, ids)
            anonymous = call(client, method, url, {})
            if anonymous.status_code != 401:
                failures.append(f"{method} {url} without token: {anonymous.status_code}")
            for role in ROLES:
                status = call(client, method, url, auth[role]).status_code
                if role in allowed and status in (401, 403):
                    failures.append(f"{method} {url} as {role}: {status}, expected access")
                if role not in allowed and status != 403:
                    failures.append(f"{method} {url} as {role}: {status}, expected 403")
                if status >= 500:
                    failures.append(f"{method} {url} as {role}: server error {status}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("header", ["Bearer nsv_unknown", "Basic abc", "Bearer ", "nsv_x"])
def test_bad_tokens_are_401(client, header):
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401 and response.json()["status"] == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_revoked_token_is_401(client, app, auth):
    from api.tokens import revoke_token

    assert client.get("/api/v1/me", headers=auth["technician"]).json() == \
        {"name": "technician", "role": "technician", "blinded": False}
    revoke_token(app.state.db, "technician")
    assert client.get("/api/v1/me", headers=auth["technician"]).status_code == 401


def test_token_names_are_trimmed_bounded_and_unique(client, app):
    from api.tokens import create_token, list_tokens

    create_token(app.state.db, "  front desk\t", "technician")
    with pytest.raises(InputError, match="a token named 'front desk' exists already"):
        create_token(app.state.db, "front desk", "clinician")
    with pytest.raises(InputError, match="1 to 200 characters"):
        create_token(app.state.db, "x" * 201, "auditor")
    create_token(app.state.db, "x" * 200, "auditor")
    create_token(app.state.db, "a later token", "auditor")
    names = [t.name for t in list_tokens(app.state.db)]
    assert names[-3:] == ["front desk", "x" * 200, "a later token"]  # oldest first


def test_a_token_is_revoked_by_its_id_and_keeps_its_first_revocation(client, app, auth):
    from api.tokens import list_tokens, revoke_token

    [token] = [t for t in list_tokens(app.state.db) if t.name == "navigator"]
    first = revoke_token(app.state.db, token.id).revoked_at
    assert first is not None
    assert client.get("/api/v1/me", headers=auth["navigator"]).status_code == 401
    assert revoke_token(app.state.db, "navigator").revoked_at == first
