"""The audit trail, for administrators and auditors."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select

from api.audit import AuditOutcome
from api.deps import DbSession, SessionRoute, require_roles
from api.models import AuditEvent
from api.routes.common import Limit, Offset, problems
from api.schemas import AuditEventOut, AuditList, RecordDateTime
from api.security import Principal

router = APIRouter(tags=["audit"], route_class=SessionRoute)


@router.get("/audit", response_model=AuditList, summary="Search the audit trail",
            responses=problems(422))
def list_audit_events(
    request: Request, db: DbSession,
    _: Annotated[Principal, Depends(require_roles("admin", "auditor"))],
    limit: Limit = 100, offset: Offset = 0,
    token_name: Annotated[str | None, Query(description="Who: the token name.")] = None,
    resource_id: Annotated[str | None, Query(description="Which record.")] = None,
    route: Annotated[str | None, Query(
        description="Route template, e.g. `/api/v1/plans/{plan_id}`.")] = None,
    method: Annotated[str | None, Query(
        # an HTTP method is a token (RFC 9110 §5.6.2); the record keeps its first 10 characters
        pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,10}$",
        description="HTTP method, e.g. GET (the record keeps a method's first 10 characters).")] = None,
    outcome: Annotated[AuditOutcome | None, Query(
        description="success, unauthenticated, denied, not_found, rejected or error.")] = None,
    since: Annotated[RecordDateTime | None, Query(
        description="At or after (ISO 8601 with its zone, e.g. 2025-03-01T00:00:00Z).")] = None,
    until: Annotated[RecordDateTime | None, Query(
        description="Before (ISO 8601 with its zone).")] = None,
) -> AuditList:
    """Audit records, newest first (admin, auditor): every request to the API with
    the token name, route, resource id, time and outcome. Patient names and birth
    dates are never recorded."""
    request.app.state.audit.flush()
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    filters = ((AuditEvent.token_name, token_name), (AuditEvent.resource_id, resource_id),
               (AuditEvent.route, route), (AuditEvent.outcome, outcome),
               (AuditEvent.method, method.upper() if method else None))
    for column, value in filters:
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    rows = db.scalars(query.limit(limit).offset(offset)).all()
    return AuditList(items=[AuditEventOut.model_validate(row, from_attributes=True)
                            for row in rows], limit=limit, offset=offset)
