"""FastAPI dependencies: database session, current principal, role checks."""

from __future__ import annotations

import functools
import inspect
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Annotated

import anyio
from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from api.db import POOL_CONNECTIONS, Database
from api.models import Token
from api.problems import ProblemError
from api.security import Principal, hash_token

_bearer = HTTPBearer(
    auto_error=False,
    description="A token from `navsvc admin create-token` (starts with `nsv_`).",
)

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def _end_limiter(request: Request) -> anyio.CapacityLimiter:
    """Threads that end request sessions (commit, rollback, close), apart from those that
    run the route functions; as many as the pool has connections. Made in the event loop
    on first use, one per application."""
    limiter = getattr(request.app.state, "session_end_limiter", None)
    if limiter is None:
        limiter = request.app.state.session_end_limiter = anyio.CapacityLimiter(POOL_CONNECTIONS)
    return limiter


async def get_db(request: Request) -> AsyncIterator[Session]:
    """Yield a database session for one request (committed on success).

    The session is ended on threads of its own: a request that holds the database's
    write lock must be able to commit while every route thread waits for that lock
    (with one shared thread pool, 100 concurrent writers deadlocked until the SQLite
    busy timeout and answered 500).
    """
    limiter = _end_limiter(request)
    session = request.app.state.db.sessions()
    try:
        yield session
        await anyio.to_thread.run_sync(session.commit, limiter=limiter)
    except BaseException:
        await anyio.to_thread.run_sync(session.rollback, limiter=limiter)
        raise
    finally:
        await anyio.to_thread.run_sync(session.close, limiter=limiter)


def commit_on_return(route: Callable) -> Callable:
    """Commit a route's ``db`` session in the route's own thread when it returns.

    Committing ends the transaction and gives the connection back to the pool (and
    drops SQLite's write lock) before FastAPI serializes the answer, which needs
    another thread of the shared pool. Held until then, a burst of requests that fill
    the thread pool while waiting for a connection or for the write lock waited for
    ever (until the pool or busy timeout: 500): 200 concurrent clients saw 30 s
    latencies and ``TimeoutError``; 100 concurrent writers saw "database is locked".
    """

    @functools.wraps(route)
    def wrapper(*args, **kwargs):
        result = route(*args, **kwargs)
        kwargs["db"].commit()
        return result

    return wrapper


class SessionRoute(APIRoute):
    """A route whose synchronous endpoint with a ``db`` parameter commits on return
    (:func:`commit_on_return`); every router of the service uses it."""

    def __init__(self, path: str, endpoint: Callable, **kwargs) -> None:
        if (not inspect.iscoroutinefunction(endpoint)
                and "db" in inspect.signature(endpoint).parameters):
            endpoint = commit_on_return(endpoint)
        super().__init__(path, endpoint, **kwargs)


# scope="function": commit before the response is sent, so a client that got 201 can
# read the record at once (the default scope commits after sending).
DbSession = Annotated[Session, Depends(get_db, scope="function")]


#: every token cache of this process, emptied when a token is revoked here
_CACHES: weakref.WeakSet[TokenCache] = weakref.WeakSet()


def invalidate_token_caches() -> None:
    """Forget every cached token lookup of this process (called on revocation)."""
    for cache in list(_CACHES):
        cache.clear()


class TokenCache:
    """Recently seen tokens, so a burst of requests costs one token lookup.

    Off by default (``NAVSVC_TOKEN_CACHE_S=0``): every request looks its token up, so a
    revocation, from this process or from ``navsvc admin revoke-token``, takes effect
    at once. When enabled, a revocation made in this process empties the cache at
    once; one made by another process takes effect within ``ttl_s``.

    Parameters
    ----------
    ttl_s : float
        How long a lookup is trusted, seconds (0 disables the cache).
    """

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()
        #: bumped by :meth:`clear`, so a lookup that raced a revocation is not kept
        self.generation = 0
        _CACHES.add(self)

    def clear(self) -> None:
        """Forget every lookup."""
        with self._lock:
            self._entries.clear()
            self.generation += 1

    def get(self, token_sha256: str) -> tuple[bool, Principal | None]:
        """Return (hit, principal) for a token hash."""
        with self._lock:
            entry = self._entries.get(token_sha256)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, token_sha256: str, principal: Principal | None,
            generation: int | None = None) -> None:
        """Remember a lookup (``None``: unknown or revoked).

        ``generation`` is :attr:`generation` read before the lookup; the lookup is
        dropped when the cache was cleared since.
        """
        if self.ttl_s <= 0:
            return
        with self._lock:
            if generation is not None and generation != self.generation:
                return
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[token_sha256] = (time.monotonic() + self.ttl_s, principal)


_TOKENS = Token.__table__
_TOKEN_QUERY = (select(_TOKENS.c.id, _TOKENS.c.name, _TOKENS.c.role, _TOKENS.c.blinded)
                .where(_TOKENS.c.token_sha256 == bindparam("digest"),
                       _TOKENS.c.revoked_at.is_(None)))


def lookup_principal(database: Database, token_sha256: str) -> Principal | None:
    """Return the principal of an active token, or ``None``.

    One indexed read (the hash is unique) that takes no write lock, short enough to
    run in the event loop.
    """
    with database.read_engine.connect() as connection:
        row = connection.execute(_TOKEN_QUERY, {"digest": token_sha256}).first()
    return None if row is None else Principal(row.id, row.name, row.role, bool(row.blinded))


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
        generation = cache.generation
        principal = lookup_principal(request.app.state.db, digest)
        cache.put(digest, principal, generation)
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
