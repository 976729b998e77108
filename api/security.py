"""Bearer tokens: creation, hashing, roles."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

#: every role a token may carry
ROLES = ("admin", "clinician", "technician", "navigator", "auditor")

#: prefix of every token, so a leaked one is recognisable in logs and scanners
TOKEN_PREFIX = "nsv_"


@dataclass(frozen=True)
class Principal:
    """The caller behind a valid token.

    Attributes
    ----------
    token_id : str
        Identifier of the token record.
    name : str
        Token name (recorded in the audit trail).
    role : str
        One of :data:`ROLES`.
    blinded : bool
        Whether the caller must not see treatment arms (raters in sham-controlled trials).
    """

    token_id: str
    name: str
    role: str
    blinded: bool = False


def new_token() -> str:
    """Return a new random token (``nsv_`` + 32 random bytes, URL-safe base64)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Return the hex SHA-256 of ``token``, the only form that is stored.

    Tokens carry 256 random bits, so a fast unsalted hash is enough: there is
    nothing to brute-force from a dictionary.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
