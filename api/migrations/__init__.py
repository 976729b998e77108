"""Alembic migrations of the service database; :func:`upgrade` applies them."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    """Return an Alembic configuration for ``database_url`` without an ini file.

    Parameters
    ----------
    database_url : str
        SQLAlchemy URL of the database to migrate.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser treats '%' as interpolation; URL-encoded passwords contain it.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply the migrations up to ``revision`` (idempotent).

    Parameters
    ----------
    database_url : str
        SQLAlchemy URL of the database to migrate.
    revision : str
        Target revision, ``"head"`` for the newest.
    """
    command.upgrade(alembic_config(database_url), revision)
