"""Alembic environment: runs migrations online against ``sqlalchemy.url``."""

from __future__ import annotations

from alembic import context

from api.db import make_engine
from api.models import Base

config = context.config
target_metadata = Base.metadata


def _sqlite_foreign_keys(connection, on: bool) -> None:
    # A PRAGMA that SQLite ignores inside a transaction: sent on the driver's connection,
    # outside the BEGIN that the engine emits (api.db).
    connection.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _require_foreign_keys_hold(connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        tables = sorted({row[0] for row in broken})
        raise RuntimeError(f"the migration left rows whose parent is missing in {', '.join(tables)}; "
                           "nothing was changed")


def run_migrations_online() -> None:
    """Run every pending migration in one transaction.

    SQLite alters a table by building a new one and dropping the old (batch mode). With
    foreign keys enforced, dropping a parent table fails on its children's rows (or
    deletes them, with ON DELETE CASCADE), so they are off while the migrations run and
    checked before the commit, as SQLite's documented procedure does
    (https://www.sqlite.org/lang_altertable.html#otheralter).
    """
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        # Alembic commits each revision on its own on SQLite, which it takes for a database
        # without transactional DDL; SQLite's DDL is transactional, and the engine emits
        # BEGIN itself (api.db), so one transaction holds every revision.
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=sqlite, transactional_ddl=True)
        if sqlite:
            _sqlite_foreign_keys(connection, on=False)
        try:
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    _require_foreign_keys_hold(connection)
        finally:
            if sqlite:
                _sqlite_foreign_keys(connection, on=True)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("navsvc migrations run online only: navsvc admin migrate")
run_migrations_online()
