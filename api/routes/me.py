"""The caller's own token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import SessionRoute, require_roles
from api.routes.common import problems
from api.schemas import Me
from api.security import ROLES, Principal

router = APIRouter(tags=["tokens"], route_class=SessionRoute)


@router.get("/me", response_model=Me, summary="Who am I", responses=problems())
def whoami(principal: Annotated[Principal, Depends(require_roles(*ROLES))]) -> Me:
    """The name, role and blinding of the bearer token (any role). Useful to check a
    token after `navsvc admin create-token`."""
    return Me(name=principal.name, role=principal.role, blinded=principal.blinded)
