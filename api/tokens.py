"""Token administration (used by ``navsvc admin`` and the tests)."""

from __future__ import annotations

from sqlalchemy import or_, select

from api.db import Database
from api.models import Token, utc_now
from api.security import ROLES, hash_token, new_token
from navsvc.errors import InputError


def create_token(database: Database, name: str, role: str, blinded: bool = False) -> str:
    """Create a token and return its secret (shown once; only its hash is stored).

    Parameters
    ----------
    database : Database
        The service database.
    name : str
        Name of the token, recorded in the audit trail: 1 to 200 characters once surrounding
        blanks are stripped, unique among all tokens (revoked ones too).
    role : str
        One of :data:`api.security.ROLES`.
    blinded : bool
        Whether the holder must not see treatment arms (raters in sham-controlled trials).

    Returns
    -------
    str
        The token's secret (``nsv_`` and 43 URL-safe characters); only its SHA-256 is stored.

    Raises
    ------
    InputError
        Unknown role, empty name, or a name already used (names stay unique, even
        after revocation, so the audit trail names one token).
    """
    name = name.strip()
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}; valid roles: {', '.join(ROLES)}")
    if not name or len(name) > 200:
        raise InputError("the token name must have 1 to 200 characters")
    secret = new_token()
    with database.session() as session:
        if session.scalar(select(Token.id).where(Token.name == name)):
            raise InputError(f"a token named {name!r} exists already; choose another name")
        session.add(Token(name=name, role=role, blinded=blinded,
                          token_sha256=hash_token(secret)))
    return secret


def revoke_token(database: Database, name_or_id: str) -> Token:
    """Revoke the token with this name or id and return it.

    Every request looks its token up, so the token fails at once, in every process.

    Parameters
    ----------
    database : Database
        The service database.
    name_or_id : str
        The token's name or its id.

    Returns
    -------
    Token
        The token record with ``revoked_at`` set (a token revoked before keeps the time of its
        first revocation).

    Raises
    ------
    InputError
        If no such token exists.
    """
    with database.session() as session:
        token = session.scalar(
            select(Token).where(or_(Token.name == name_or_id, Token.id == name_or_id)))
        if token is None:
            raise InputError(f"no token named or with id {name_or_id!r}")
        if token.revoked_at is None:
            token.revoked_at = utc_now()
    return token


def list_tokens(database: Database) -> list[Token]:
    """Return every token (revoked ones too), oldest first."""
    with database.session() as session:
        return list(session.scalars(select(Token).order_by(Token.created_at, Token.name)))
