"""Helpers shared by the route modules: lookups, paging, error documentation."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Query
from sqlalchemy.orm import Session

from api.problems import ProblemError
from api.schemas import Problem

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=500, description="Page size.")]
# Bounded: an offset beyond a 64-bit integer made the database driver fail (500).
Offset = Annotated[int, Query(ge=0, le=2**31 - 1, description="Records to skip.")]


def get_or_404(db: Session, model: type[T], resource_id: str, what: str) -> T:
    """Return the ``model`` row with primary key ``resource_id`` or raise a 404 problem."""
    # Ids never contain NUL; PostgreSQL would refuse the query rather than find nothing.
    row = None if "\x00" in resource_id else db.get(model, resource_id)
    if row is None:
        raise ProblemError(404, f"no {what} with id '{resource_id}'")
    return row


def problems(*statuses: int) -> dict[int, dict]:
    """OpenAPI ``responses`` entries for the given error statuses (400, 401, 403 and 503
    always: any request may find the database busy)."""
    descriptions = {
        400: "Malformed request: the body could not be parsed.",
        401: "Missing, unknown or revoked bearer token.",
        403: "The token's role may not use this operation.",
        404: "No such resource (or not visible to this role).",
        409: "Conflicts with an existing record.",
        413: "The upload exceeds NAVSVC_MAX_UPLOAD_MB.",
        415: "Wrong content type.",
        422: "Invalid input; `errors` lists the fields.",
        503: "A service this operation needs (e.g. the job queue) is unreachable, or the "
             "database stayed busy (SQLite); nothing was changed: retry after `Retry-After` "
             "seconds.",
    }
    return {
        status: {"model": Problem, "description": descriptions[status],
                 "content": {"application/problem+json": {}}}
        for status in sorted({400, 401, 403, 503, *statuses})
    }
