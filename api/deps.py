"""FastAPI dependencies: database session, current principal, role checks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import Database
from api.models import Token
from api.problems import ProblemError
from api.security import Principal, hash_token

_bearer = HTTPBearer(
    auto_error=False,
    description="A token from `navsvc admin create-token` (starts with `nsv_`).",
)

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def get_db(request: Request) -> Iterator[Session]:
    """Yield a database session for one request (committed on success)."""
    with request.app.state.db.session() as session:
        yield session


# scope="function": commit before the response is sent, so a client that got 201 can
# read the record at once (the default scope commits after sending).
DbSession = Annotated[Session, Depends(get_db, scope="function")]


class TokenCache:
    """Recently seen tokens, so a burst of requests costs one token lookup.

    Parameters
    ----------
    ttl_s : float
        How long a lookup is trusted, seconds; a revocation takes effect within
        this time (0 disables the cache).
    """

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def get(self, token_sha256: str) -> tuple[bool, Principal | None]:
        """Return (hit, principal) for a token hash."""
        with self._lock:
            entry = self._entries.get(token_sha256)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, token_sha256: str, principal: Principal | None) -> None:
        """Remember a lookup (``None``: unknown or revoked)."""
        if self.ttl_s <= 0:
            return
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[token_sha256] = (time.monotonic() + self.ttl_s, principal)


def lookup_principal(database: Database, token_sha256: str) -> Principal | None:
    """Return the principal of an active token, or ``None``."""
    with database.session() as session:
        token = session.scalar(select(Token).where(Token.token_sha256 == token_sha256))
        if token is None or token.revoked_at is not None:
            return None
        return Principal(token.id, token.name, token.role, token.blinded)


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Resolve the bearer token of the request into a :class:`Principal`.

    Raises
    ------
    ProblemError
        401 when the token is missing, unknown or revoked.
    """
    if credentials is None or not credentials.credentials:
        raise ProblemError(401, "a bearer token is required (Authorization: Bearer nsv_...)",
                           _CHALLENGE)
    digest = hash_token(credentials.credentials)
    cache: TokenCache = request.app.state.token_cache
    hit, principal = cache.get(digest)
    if not hit:
        principal = await run_in_threadpool(lookup_principal, request.app.state.db, digest)
        cache.put(digest, principal)
    if principal is None:
        raise ProblemError(401, "the bearer token is unknown or revoked", _CHALLENGE)
    request.state.principal = principal
    return principal


def require_roles(*roles: str) -> Callable[..., Principal]:
    """Return a dependency that admits only callers with one of ``roles``.

    The check runs before any lookup, so a caller whose role may not use a route
    gets the same 403 whether or not the resource exists.

    Parameters
    ----------
    *roles : str
        Roles allowed on the route.
    """

    async def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.role not in roles:
            raise ProblemError(403, f"role '{principal.role}' may not use this operation")
        return principal

    dependency.allowed_roles = roles  # read by the role-matrix test and the docs
    return dependency


def set_audit_resource(request: Request, resource_id: str) -> None:
    """Name the resource a request created, for the audit trail."""
    request.state.audit_resource_id = resource_id
