"""Database engine and sessions (SQLite with WAL by default, PostgreSQL by URL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker


#: connections a service process may hold at once (pool size + overflow)
POOL_SIZE, POOL_OVERFLOW = 20, 40
POOL_CONNECTIONS = POOL_SIZE + POOL_OVERFLOW


def _sqlite_on_connect(dbapi_connection, _record) -> None:
    # We emit BEGIN ourselves (see _sqlite_on_begin): turn off the driver's own.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets the API read while a job process writes; NORMAL sync is safe under WAL
    # (no corruption, only the last commits may be lost on power failure).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


#: execution option of connections that only read (see :attr:`Database.read_engine`)
READ_ONLY = "navsvc_read_only"


def _sqlite_on_begin(connection) -> None:
    # A deferred transaction that reads, then writes, must upgrade its lock; when another
    # writer holds it SQLite answers "database is locked" at once, without waiting for
    # busy_timeout. Taking the write lock at BEGIN makes concurrent writers queue instead.
    # A read-only transaction never upgrades: a plain (deferred) BEGIN reads a WAL
    # snapshot without queueing behind writers.
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` with the per-backend settings this service needs.

    Parameters
    ----------
    url : str
        SQLAlchemy database URL.

    Returns
    -------
    sqlalchemy.Engine
        SQLite connections use WAL, foreign keys and a busy timeout;
        PostgreSQL connections are pre-pinged.
    """
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=20)


class Database:
    """An engine and its session factory.

    Parameters
    ----------
    url : str
        SQLAlchemy database URL.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        #: the same engine for reading only: on SQLite its transactions begin with a
        #: plain BEGIN, read a snapshot and never take (or wait for) the write lock,
        #: so they are short enough to run in the event loop
        self.read_engine = self.engine.execution_options(**{READ_ONLY: True})

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Yield a session that is committed on success and rolled back on error."""
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def ping(self) -> bool:
        """Return whether the database answers a trivial query."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception:  # any driver error means "not ready"
            return False

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
