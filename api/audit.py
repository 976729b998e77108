"""The append-only audit trail: an ASGI middleware records every API request.

Each request under ``/api/v1`` yields one :class:`~api.models.AuditEvent` with the
token name, the route template, the resource id, the time and the outcome. The event
is committed before the response starts: a client never receives data whose reading
is not on record, and a crash cannot lose the record of an answered request.

The events of all requests that reach their response in one event-loop iteration are
committed together, in the loop, in one transaction (group commit). A writer thread
did the same with a third less throughput: handing every event to it and back made
the two threads fight for the GIL. On SQLite the loop never waits for the write lock:
when another process holds it, the batch is retried a millisecond later while the
loop serves other requests.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Literal

from sqlalchemy import Connection, insert
from sqlalchemy.exc import OperationalError

from api.db import SQLITE_BUSY_TIMEOUT_S, Database, lock_busy
from api.models import AuditEvent, utc_now
from api.problems import problem_response

log = logging.getLogger("navsvc.api.audit")

#: requests below this path are audited
AUDITED_PREFIX = "/api/v1"

_EVENTS = AuditEvent.__table__

#: pause between attempts to take SQLite's write lock, seconds
LOCK_RETRY_S = 0.001

#: how long a batch may wait for the write lock before its requests fail, seconds
LOCK_TIMEOUT_S = 10.0


#: every outcome word :func:`outcome_of` gives
AuditOutcome = Literal["success", "unauthenticated", "denied", "not_found", "rejected", "error"]


def outcome_of(status_code: int) -> AuditOutcome:
    """Map an HTTP status to the audit outcome word."""
    if status_code < 400:
        return "success"
    return {401: "unauthenticated", 403: "denied", 404: "not_found"}.get(
        status_code, "rejected" if status_code < 500 else "error"
    )


def _clean(text: str, max_chars: int) -> str:
    """Drop NUL characters (PostgreSQL text cannot hold them) and truncate."""
    return text.replace("\x00", "")[:max_chars]


class AuditWriter:
    """Group-committing writer of audit events, run by the application's event loop.

    Parameters
    ----------
    database : Database
        Where the events go.
    """

    def __init__(self, database: Database) -> None:
        self._database = database
        self._pending: list[tuple[dict, asyncio.Future]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduled = False
        self._lock_wait_since: float | None = None
        self._connection: Connection | None = None
        self._timeout_ms: int | None = None  # the SQLite busy timeout set on it

    async def write(self, **event) -> None:
        """Record one event (the keyword arguments are :class:`AuditEvent` columns)
        and return once it is committed.

        Raises
        ------
        Exception
            Whatever kept the event out of the database.
        """
        loop = self._loop = asyncio.get_running_loop()
        event.setdefault("at", utc_now())
        done = loop.create_future()
        self._pending.append((event, done))
        if not self._scheduled:
            self._scheduled = True
            # Runs in the next loop iteration, with every event added until then.
            loop.call_soon(self._commit_pending)
        await done

    def flush(self) -> None:
        """Wait until the events pending now are committed (or failed).

        Every response already waits for its own event; this is for callers in
        other threads that want in-flight requests on record too. Do not call it
        from the event loop's thread.
        """
        loop, pending = self._loop, [done for _, done in self._pending]
        if loop is None or not pending or loop.is_closed():
            return

        async def settled() -> None:
            await asyncio.gather(*pending, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(settled(), loop).result(timeout=LOCK_TIMEOUT_S + 30)

    def close(self) -> None:
        """Commit what is pending (waiting for the lock if need be) and close."""
        if self._pending:
            self._commit(self._take_pending(), wait_for_lock=True)
        if self._connection is not None:
            self._connection.close()
            self._connection = self._timeout_ms = None

    def _take_pending(self) -> list[tuple[dict, asyncio.Future]]:
        batch, self._pending = self._pending, []
        return batch

    def _commit_pending(self) -> None:
        self._scheduled = False
        batch = self._take_pending()
        if not batch:
            return
        if self._commit(batch, wait_for_lock=False):
            self._lock_wait_since = None
            return
        # SQLite's write lock is held by another process: keep the batch, retry soon.
        now = time.monotonic()
        self._lock_wait_since = self._lock_wait_since or now
        if now - self._lock_wait_since > LOCK_TIMEOUT_S:
            self._lock_wait_since = None
            _settle(batch, TimeoutError("the database write lock was not free for "
                                        f"{LOCK_TIMEOUT_S:.0f} s"))
            return
        self._pending[:0] = batch
        self._scheduled = True
        self._loop.call_later(LOCK_RETRY_S, self._commit_pending)

    def _connect(self, wait_for_lock: bool) -> Connection:
        if self._connection is None:
            self._connection = self._database.loop_engine.connect()
        timeout_ms = round(SQLITE_BUSY_TIMEOUT_S * 1000) if wait_for_lock else 0
        if self._database.url.startswith("sqlite") and timeout_ms != self._timeout_ms:
            self._connection.connection.dbapi_connection.execute(
                f"PRAGMA busy_timeout = {timeout_ms}")
            self._timeout_ms = timeout_ms
        return self._connection

    def _insert(self, events: list[dict], wait_for_lock: bool) -> None:
        connection = self._connect(wait_for_lock)
        try:
            with connection.begin():
                connection.execute(insert(_EVENTS), events)
        except OperationalError as exc:
            if not lock_busy(exc):
                self._drop_connection()
            raise
        except Exception:
            self._drop_connection()
            raise

    def _drop_connection(self) -> None:
        if self._connection is not None:
            try:
                self._connection.invalidate()
                self._connection.close()
            except Exception:  # already broken: nothing to keep
                pass
            self._connection = self._timeout_ms = None

    def _commit(self, batch: list[tuple[dict, asyncio.Future]], wait_for_lock: bool) -> bool:
        """Commit a batch and settle its futures; return False (futures untouched) when
        the write lock was busy and ``wait_for_lock`` is false."""
        try:
            self._insert([event for event, _ in batch], wait_for_lock)
        except OperationalError as exc:
            if lock_busy(exc) and not wait_for_lock:
                return False
            log.warning("batch of %d audit events failed; writing one by one", len(batch))
        except Exception:
            log.warning("batch of %d audit events failed; writing one by one", len(batch))
        else:
            _settle(batch, None)
            return True
        for item in batch:  # one bad event must not fail the others
            try:
                self._insert([item[0]], wait_for_lock=True)
            except Exception as exc:
                log.exception("could not write an audit event for %s", item[0].get("route"))
                _settle([item], exc)
            else:
                _settle([item], None)
        return True


def _settle(batch: list[tuple[dict, asyncio.Future]], error: Exception | None) -> None:
    for _, done in batch:
        if done.done():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)


class AuditMiddleware:
    """ASGI middleware that records one audit event per API request.

    Routes may set ``request.state.audit_resource_id`` (e.g. the id of a created
    record); otherwise the first path parameter is the resource id. The caller is
    the :class:`~api.security.Principal` that authentication left in
    ``request.state.principal``.

    The response start is held back until the event is committed. When it cannot be,
    the client gets a 500 problem instead of the response and the event goes to the
    service log: nothing is answered without its audit record, and a change already
    committed is said to be so.

    Parameters
    ----------
    app : ASGI application
        The wrapped application.
    writer_of : callable
        Returns the :class:`AuditWriter` to use (looked up per request, because the
        writer starts with the application's lifespan).
    """

    def __init__(self, app, writer_of) -> None:
        self.app = app
        self.writer_of = writer_of

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(AUDITED_PREFIX):
            await self.app(scope, receive, send)
            return
        writer: AuditWriter | None = self.writer_of()
        if writer is None:
            await self.app(scope, receive, send)
            return
        started_at = utc_now()
        progress = {"recorded": False, "failed": False}

        async def audited_send(message) -> None:
            if message["type"] == "http.response.start":
                progress["recorded"] = True
                event = _event(scope, message["status"], started_at)
                try:
                    await writer.write(**event)
                except Exception:
                    progress["failed"] = True
                    await _unrecorded_response(scope, event)(scope, receive, send)
                    return
            elif progress["failed"]:
                return  # the body of the response that was replaced
            await send(message)

        try:
            await self.app(scope, receive, audited_send)
        finally:
            if not progress["recorded"]:  # no response started: an unhandled error
                try:
                    await writer.write(**_event(scope, 500, started_at))
                except Exception:
                    log.exception("audit record of a failed request not written")


def _unrecorded_response(scope, event: dict):
    """The 500 answer to a request whose audit event could not be committed.

    A change the route already committed cannot be taken back here, so the event goes to
    the service log instead (its columns hold no PHI, only ids) and the answer says what
    happened: a client must not retry a change blindly.
    """
    log.exception("audit record not written; answering 500 instead: %s",
                  {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in event.items()})
    if scope["method"] in ("GET", "HEAD", "OPTIONS") or event["status_code"] >= 400:
        detail = ("the request could not be recorded in the audit trail; nothing was returned. "
                  "Retry; tell the administrator if it persists")
    else:
        detail = ("the request was carried out, but it could not be recorded in the audit trail "
                  "(its record is in the service log): check its result before retrying, and tell "
                  "the administrator")
    return problem_response(500, detail)


def _event(scope, status_code: int, started_at) -> dict:
    """Return the audit event columns of a request that answered ``status_code``."""
    state = scope.get("state") or {}
    principal = state.get("principal")
    route = scope.get("route")
    # FastAPI >= 0.16x keeps included routers nested: the route object holds the
    # path without the prefix, the effective context the full template.
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    template = getattr(context, "path", None) or getattr(route, "path", None)
    path_params = scope.get("path_params") or {}
    resource_id = state.get("audit_resource_id")
    if resource_id is None and path_params:
        resource_id = str(next(iter(path_params.values())))
    return dict(
        at=started_at,
        token_name=principal.name if principal else None,
        role=principal.role if principal else None,
        method=_clean(scope["method"], 10),
        route=_clean(template or scope["path"], 200),
        resource_id=_clean(resource_id, 64) if resource_id else None,
        status_code=status_code,
        outcome=outcome_of(status_code),
    )
