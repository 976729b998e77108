"""The append-only audit trail: an ASGI middleware records every API request.

Each request under ``/api/v1`` yields one :class:`~api.models.AuditEvent` with the
token name, the route template, the resource id, the time and the outcome. The event
is committed before the response starts: a client never receives data whose reading
is not on record, and a crash cannot lose the record of an answered request. One
background thread commits the events of concurrent requests together (group
commit), so fifty concurrent readers share one transaction instead of queueing for
the database's single writer one by one.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from concurrent.futures import Future

from sqlalchemy import insert

from api.db import Database
from api.models import AuditEvent, utc_now
from api.problems import problem_response

log = logging.getLogger("navsvc.api.audit")

#: requests below this path are audited
AUDITED_PREFIX = "/api/v1"

_EVENTS = AuditEvent.__table__

#: the most events committed in one transaction
MAX_BATCH = 500


def outcome_of(status_code: int) -> str:
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
    """Background writer of audit events with group commit.

    Parameters
    ----------
    database : Database
        Where the events go.
    """

    def __init__(self, database: Database) -> None:
        self._database = database
        # items: (event or None for a flush barrier, waiter); None stops the thread
        self._queue: queue.SimpleQueue[tuple[dict | None, _Waiter] | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="navsvc-audit", daemon=True)
        self._thread.start()

    def record(self, **event) -> Future:
        """Queue one event (the keyword arguments are :class:`AuditEvent` columns).

        Returns
        -------
        concurrent.futures.Future
            Done when the event is committed; holds the exception if it could not be.
        """
        done: Future = Future()
        self._put(event, done)
        return done

    async def write(self, **event) -> None:
        """Record one event and wait, without blocking the event loop, until it is
        committed.

        Raises
        ------
        Exception
            Whatever kept the event out of the database.
        """
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self._put(event, (loop, done))
        await done

    def flush(self) -> None:
        """Block until every event queued so far is in the database (or failed)."""
        if self._closed:
            return
        barrier: Future = Future()
        self._queue.put((None, barrier))
        barrier.result()

    def close(self) -> None:
        """Write what is queued and stop the thread."""
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _put(self, event: dict, waiter: _Waiter) -> None:
        event.setdefault("at", utc_now())
        if self._closed:
            _settle([(waiter, RuntimeError("the audit writer is closed"))])
        else:
            self._queue.put((event, waiter))

    def _insert(self, events: list[dict]) -> None:
        with self._database.engine.begin() as connection:
            connection.execute(insert(_EVENTS), events)

    def _write(self, items: list[tuple[dict, _Waiter]]) -> list[tuple[_Waiter, Exception | None]]:
        """Commit the events in one transaction (one by one if that fails); return
        each waiter with its outcome."""
        if not items:
            return []
        try:
            self._insert([event for event, _ in items])
            return [(waiter, None) for _, waiter in items]
        except Exception:
            log.warning("batch of %d audit events failed; writing one by one", len(items))
        outcomes = []
        for event, waiter in items:  # one bad event must not fail the others
            try:
                self._insert([event])
                outcomes.append((waiter, None))
            except Exception as exc:
                log.exception("could not write an audit event for %s", event.get("route"))
                outcomes.append((waiter, exc))
        return outcomes

    def _loop(self) -> None:
        stop = False
        while not stop:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = None in batch
            items = [item for item in batch if item is not None]
            outcomes = self._write([item for item in items if item[0] is not None])
            outcomes += [(waiter, None) for event, waiter in items if event is None]
            _settle(outcomes)
        while True:  # anything queued while closing is refused, not left waiting
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                _settle([(item[1], RuntimeError("the audit writer is closed"))])


#: who waits for an event: a thread (a Future) or a coroutine (its loop and future)
_Waiter = Future | tuple[asyncio.AbstractEventLoop, asyncio.Future]


def _settle(outcomes: list[tuple[_Waiter, Exception | None]]) -> None:
    """Complete each waiter with its outcome, waking each event loop once."""
    by_loop: dict[asyncio.AbstractEventLoop, list] = {}
    for waiter, error in outcomes:
        if isinstance(waiter, Future):
            if error is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(error)
        else:
            by_loop.setdefault(waiter[0], []).append((waiter[1], error))
    for loop, pending in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle_in_loop, pending)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass


def _settle_in_loop(pending: list[tuple[asyncio.Future, Exception | None]]) -> None:
    for done, error in pending:
        if done.cancelled():
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
    the client gets a 500 problem instead of the response (the failure is logged):
    nothing is answered without its audit record.

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
                try:
                    await writer.write(**_event(scope, message["status"], started_at))
                except Exception:
                    log.exception("audit record not written; answering 500 instead")
                    progress["failed"] = True
                    response = problem_response(
                        500, "the request could not be recorded in the audit trail; "
                             "nothing was returned. Retry; tell the administrator if it "
                             "persists")
                    await response(scope, receive, send)
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
        method=scope["method"],
        route=_clean(template or scope["path"], 200),
        resource_id=_clean(resource_id, 64) if resource_id else None,
        status_code=status_code,
        outcome=outcome_of(status_code),
    )
