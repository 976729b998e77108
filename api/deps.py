"""FastAPI dependencies: database session, current principal, role checks."""

from __future__ import annotations

import functools
import inspect
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
from api.problems import ProblemError, database_busy
from api.security import Principal, hash_token
from api.writer_queue import TURN_TIMEOUT_S

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
    """Run a route with a ``db`` session and commit it in the route's own thread.

    Committing ends the transaction and gives the connection back to the pool (and
    drops SQLite's write lock) before FastAPI serializes the answer, which needs
    another thread of the shared pool. Held until then, a burst of requests that fill
    the thread pool while waiting for a connection or for the write lock waited for
    ever (until the pool or busy timeout: 500): 200 concurrent clients saw 30 s
    latencies and ``TimeoutError``; 100 concurrent writers saw "database is locked".
    On SQLite the route first waits for its turn in the process's
    :class:`~api.writer_queue.WriterQueue` (every route transaction there takes the
    write lock), and a route whose turn does not come in time is answered 503.
    The routes that only read take turns too: giving them read-only transactions outside
    the queue (tried 2026-12-06) served 13 % fewer requests to 200 clients on 2 cores
    (4,173 against 4,791 a minute, four runs each), and their answers still wait for the
    write lock, to store their audit record.
    """

    @functools.wraps(route)
    def wrapper(*args, **kwargs):
        db = kwargs["db"]
        queue = db.info.get("writer_queue")
        if queue is None:
            return _run_and_commit(route, db, args, kwargs)
        if not queue.acquire(TURN_TIMEOUT_S):
            raise database_busy()
        try:
            return _run_and_commit(route, db, args, kwargs)
        finally:
            queue.release()

    return wrapper


def _run_and_commit(route: Callable, db: Session, args: tuple, kwargs: dict):
    """Call the route, then commit; roll back on any error (before the turn passes on)."""
    try:
        result = route(*args, **kwargs)
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return result


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


_TOKENS = Token.__table__
_TOKEN_QUERY = (select(_TOKENS.c.id, _TOKENS.c.name, _TOKENS.c.role, _TOKENS.c.blinded)
                .where(_TOKENS.c.token_sha256 == bindparam("digest"),
                       _TOKENS.c.revoked_at.is_(None)))


def lookup_principal(database: Database, token_sha256: str) -> Principal | None:
    """Return the principal of an active token, or ``None``.

    One read by the unique token hash, every request, so a revocation by any process
    takes effect at once; :meth:`~api.db.LoopReader.fetch` makes it cheap enough for that.

    Parameters
    ----------
    database : Database
        The service database.
    token_sha256 : str
        Hex SHA-256 of the bearer token (:func:`api.security.hash_token`).

    Returns
    -------
    Principal or None
        The token's principal, or ``None`` when no token has this hash or it is revoked.
    """
    rows = database.loop_reads.fetch(_TOKEN_QUERY, digest=token_sha256)
    return Principal(*rows[0]) if rows else None


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    """Resolve the bearer token of the request into a :class:`Principal` (also left in
    ``request.state.principal`` for the audit trail).

    Raises
    ------
    ProblemError
        401 when the token is missing, unknown or revoked.
    """
    if credentials is None or not credentials.credentials:
        raise ProblemError(401, "a bearer token is required (Authorization: Bearer nsv_...)",
                           _CHALLENGE)
    principal = lookup_principal(request.app.state.db, hash_token(credentials.credentials))
    if principal is None:
        raise ProblemError(401, "the bearer token is unknown or revoked", _CHALLENGE)
    request.state.principal = principal
    return principal


_Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def require_roles(*roles: str) -> Callable[..., Principal]:
    """Return a dependency that admits only callers with one of ``roles``.

    The check runs before any lookup, so a caller whose role may not use a route
    gets the same 403 whether or not the resource exists.

    Parameters
    ----------
    *roles : str
        Roles allowed on the route.
    """

    # Authenticates in this one dependency rather than through a nested one: every
    # dependency level costs FastAPI as much per request as the token lookup.
    async def dependency(request: Request, credentials: _Credentials) -> Principal:
        principal = authenticate(request, credentials)
        if principal.role not in roles:
            raise ProblemError(403, f"role '{principal.role}' may not use this operation")
        return principal

    dependency.allowed_roles = roles  # read by the role-matrix test and the docs
    return dependency


def set_audit_resource(request: Request, resource_id: str) -> None:
    """Name the resource a request created, for the audit trail."""
    request.state.audit_resource_id = resource_id
