"""Test support: a throw-away PostgreSQL schema (used by the API, reliability and deploy tests)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def postgres_schema(base_url: str, prefix: str = "t") -> Iterator[str]:
    """Create a fresh schema in the database at ``base_url``; yield a URL whose search path is
    that schema; drop it (with everything in it) afterwards.

    Parameters
    ----------
    base_url : str
        SQLAlchemy URL of a PostgreSQL database (``postgresql+psycopg://…``).
    prefix : str
        Start of the schema name (the rest is random).
    """
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in base_url else "?"
        yield f"{base_url}{separator}options=-csearch_path%3D{schema}"
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()
