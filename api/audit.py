"""The append-only audit trail: an ASGI middleware records every API request.

Each request under ``/api/v1`` yields one :class:`~api.models.AuditEvent` with the
token name, the route template, the resource id, the time and the outcome. Events
are written by one background thread in batches, so fifty concurrent readers do not
queue for the database's single writer; :meth:`AuditWriter.flush` waits for them.
"""

from __future__ import annotations

import logging
import queue
import threading

from api.db import Database
from api.models import AuditEvent, utc_now

log = logging.getLogger("navsvc.api.audit")

#: requests below this path are audited
AUDITED_PREFIX = "/api/v1"


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
    """Background writer of audit events.

    Parameters
    ----------
    database : Database
        Where the events go.
    """

    def __init__(self, database: Database) -> None:
        self._database = database
        self._queue: queue.Queue[dict | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="navsvc-audit", daemon=True)
        self._thread.start()

    def record(self, **event) -> None:
        """Queue one event (the keyword arguments are :class:`AuditEvent` columns)."""
        event.setdefault("at", utc_now())
        self._queue.put(event)

    def flush(self) -> None:
        """Block until every queued event is in the database."""
        self._queue.join()

    def close(self) -> None:
        """Write what is queued and stop the thread."""
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _write(self, events: list[dict]) -> None:
        if not events:
            return
        try:
            with self._database.session() as session:
                session.add_all(AuditEvent(**event) for event in events)
            return
        except Exception:
            log.warning("batch of %d audit events failed; writing one by one", len(events))
        for event in events:  # one bad event must not lose the others
            try:
                with self._database.session() as session:
                    session.add(AuditEvent(**event))
            except Exception:
                log.exception("could not write an audit event for %s", event.get("route"))

    def _loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            events = [event for event in batch if event is not None]
            try:
                self._write(events)
            finally:
                for _ in batch:
                    self._queue.task_done()
            if len(events) < len(batch):
                return


class AuditMiddleware:
    """ASGI middleware that records one audit event per API request.

    Routes may set ``request.state.audit_resource_id`` (e.g. the id of a created
    record); otherwise the first path parameter is the resource id. The caller is
    the :class:`~api.security.Principal` that authentication left in
    ``request.state.principal``.

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
        status = {"code": 500}
        started_at = utc_now()

        async def send_wrapper(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self._record(scope, status["code"], started_at)

    def _record(self, scope, status_code: int, started_at) -> None:
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
        writer = self.writer_of()
        if writer is None:
            return
        writer.record(
            at=started_at,
            token_name=principal.name if principal else None,
            role=principal.role if principal else None,
            method=scope["method"],
            route=_clean(template or scope["path"], 200),
            resource_id=_clean(resource_id, 64) if resource_id else None,
            status_code=status_code,
            outcome=outcome_of(status_code),
        )

