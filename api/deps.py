"""FastAPI dependencies: database session, current principal, role checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

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


DbSession = Annotated[Session, Depends(get_db)]


def get_principal(
    request: Request,
    db: DbSession,
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
    token = db.scalar(
        select(Token).where(Token.token_sha256 == hash_token(credentials.credentials))
    )
    if token is None or token.revoked_at is not None:
        raise ProblemError(401, "the bearer token is unknown or revoked", _CHALLENGE)
    principal = Principal(token.id, token.name, token.role, token.blinded)
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

    def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.role not in roles:
            raise ProblemError(403, f"role '{principal.role}' may not use this operation")
        return principal

    dependency.allowed_roles = roles  # read by the role-matrix test and the docs
    return dependency


def set_audit_resource(request: Request, resource_id: str) -> None:
    """Name the resource a request created, for the audit trail."""
    request.state.audit_resource_id = resource_id
