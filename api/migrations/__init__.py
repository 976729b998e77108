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


def known_revisions() -> set[str]:
    """Return the ids of every migration this version ships (a schema revision outside
    them was made by another, usually newer, version)."""
    from alembic.script import ScriptDirectory

    return {script.revision for script in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions()}


def schema_is_current(database_url: str) -> bool:
    """Return whether the database is at the newest migration (False if unreachable).

    Parameters
    ----------
    database_url : str
        SQLAlchemy URL of the database to check.
    """
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    heads = set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
        return current == heads
    except Exception:  # unreachable or not yet created: not current
        return False
    finally:
        engine.dispose()
