"""Database engine and sessions (SQLite with WAL by default, PostgreSQL by URL)."""

from __future__ import annotations

import collections
import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import Dialect, Engine, Select, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from api.writer_queue import WriterQueue
from navsvc.errors import InputError


#: connections a service process may hold at once (pool size + overflow)
POOL_SIZE, POOL_OVERFLOW = 20, 40
POOL_CONNECTIONS = POOL_SIZE + POOL_OVERFLOW

#: connections of the event loop's engine: it holds the audit writer's, the loop reader's and at
#: most one read connection at a time (reads never span an await)
LOOP_POOL_SIZE = 4

#: how long a SQLite connection waits for the write lock before "database is locked", seconds
SQLITE_BUSY_TIMEOUT_S = 10.0


def _sqlite_on_connect(dbapi_connection, _record) -> None:
    # We emit BEGIN ourselves (see _sqlite_on_begin): turn off the driver's own.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets the API read while a job process writes. FULL syncs the WAL at every commit:
    # with NORMAL a commit already answered (a delivered session, a rating, its audit
    # record) may roll back after a power loss or an OS crash (sqlite.org/pragma.html,
    # "synchronous"). FULL cost no measurable throughput in benchmarks/api_load_200.py.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={round(SQLITE_BUSY_TIMEOUT_S * 1000)}")
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


def lock_busy(exc: OperationalError) -> bool:
    """Whether a database error says SQLite's write lock stayed taken (busy timeout)."""
    return "locked" in str(exc.orig) or "busy" in str(exc.orig)


def make_engine(url: str, pool_size: int = POOL_SIZE, max_overflow: int | None = None) -> Engine:
    """Create an engine for ``url`` with the per-backend settings this service needs.

    Parameters
    ----------
    url : str
        SQLAlchemy database URL.
    pool_size, max_overflow : int
        Connections kept, and opened beyond those when needed (default 40 on SQLite,
        20 on PostgreSQL).

    Returns
    -------
    sqlalchemy.Engine
        SQLite connections use WAL, foreign keys and a busy timeout;
        PostgreSQL connections are pre-pinged. Errors never show the statement's
        parameters (they may be a patient's name or birth date, and errors are logged).
    """
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S},
            hide_parameters=True,
            pool_size=pool_size,
            max_overflow=POOL_OVERFLOW if max_overflow is None else max_overflow,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, pool_size=pool_size,
                         max_overflow=20 if max_overflow is None else max_overflow)


def sqlite_file(url: str) -> Path | None:
    """Return the file of a SQLite database URL, or None for any other database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database)


def shown_url(url: str) -> str:
    """Return a database URL as messages show it (without its password)."""
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def reported_database_errors(url: str) -> Iterator[None]:
    """Turn a database that cannot be used (unreachable, refused, locked) into one InputError.

    The message names the database (without its password) and the settings to check;
    the commands print it as one line instead of SQLAlchemy's traceback.

    Parameters
    ----------
    url : str
        SQLAlchemy URL of the database the enclosed code uses.
    """
    try:
        yield
    except OperationalError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        raise InputError(f"cannot use the database {shown_url(url)} ({reason}); check NAVSVC_DATABASE_URL "
                         "(or NAVSVC_DATA_DIR for the default SQLite database) and that the "
                         "database server runs") from None


def require_database(url: str) -> None:
    """Check that the database at ``url`` exists and answers, creating nothing.

    Parameters
    ----------
    url : str
        SQLAlchemy URL of the database.

    Raises
    ------
    InputError
        A SQLite file that does not exist (connecting would create it), or a database
        that cannot be reached (see :func:`reported_database_errors`).
    """
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise InputError(f"no database at {path}; check NAVSVC_DATA_DIR (or NAVSVC_DATABASE_URL)")
    engine = create_engine(url)
    try:
        with reported_database_errors(url), engine.connect():
            pass
    finally:
        engine.dispose()


class _Prepared(NamedTuple):
    sql: str
    positions: tuple[str, ...] | None
    processors: tuple
    row: type


@functools.cache
def _prepared(statement: Select, dialect: Dialect) -> _Prepared:
    compiled = statement.compile(dialect=dialect)
    columns = statement.selected_columns
    return _Prepared(
        str(compiled), tuple(compiled.positiontup) if compiled.positional else None,
        tuple(column.type.dialect_impl(dialect).result_processor(dialect, None)
              for column in columns),
        collections.namedtuple("Row", columns.keys()))


def fetch(engine: Engine, statement: Select, **params) -> list[tuple]:
    """Run a read-only SELECT on a pooled driver connection; return its rows.

    The rows are named tuples whose values went through the columns' types (dates,
    JSON, booleans), as with SQLAlchemy, at a fraction of the cost: the connection,
    transaction and result layers are skipped, and the statement is compiled once per
    dialect. So ``statement`` must be a module-level constant with bound parameters
    (each distinct statement object is cached for ever), and ``params`` plain strings
    and numbers. On SQLite the read takes no write lock (the connections autocommit),
    so it may run in the event loop.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The engine whose pool lends the connection.
    statement : sqlalchemy.Select
        A module-level constant with bound parameters.
    **params
        Value of each bound parameter, by name.

    Returns
    -------
    list of tuple
        The rows: named tuples whose fields are the statement's selected column names.
    """
    connection = engine.raw_connection()
    try:
        return _run(connection, engine.dialect, statement, params)
    finally:
        connection.close()  # back to the pool, which rolls the connection back


def _run(connection, dialect: Dialect, statement: Select, params: dict) -> list[tuple]:
    prepared = _prepared(statement, dialect)
    arguments = (tuple(params[name] for name in prepared.positions)
                 if prepared.positions is not None else params)
    cursor = connection.cursor()
    try:
        cursor.execute(prepared.sql, arguments)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    make, processors = prepared.row._make, prepared.processors
    return [make([value if process is None else process(value)
                  for process, value in zip(processors, row)]) for row in rows]


class LoopReader:
    """:func:`fetch` for the event loop, on one connection it keeps, in autocommit.

    A pooled checkout costs PostgreSQL two round trips besides the query (the pre-ping
    and the rollback on return): 0.69 ms a read against 0.16 ms on a kept autocommit
    connection, measured here; the loop waits for every one of them. A connection that
    the server dropped (a restart) is replaced and the read retried once. Calls from any
    thread other than the first caller's (the loop's) take the pooled path.

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The event loop's engine.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._owner: int | None = None
        self._connection = None

    def fetch(self, statement: Select, **params) -> list[tuple]:
        """Rows of ``statement`` (same contract as :func:`fetch`)."""
        if self._owner is None:
            self._owner = threading.get_ident()
        elif self._owner != threading.get_ident():
            return fetch(self._engine, statement, **params)
        dialect = self._engine.dialect
        connection = self._connect()
        try:
            return _run(connection, dialect, statement, params)
        except dialect.loaded_dbapi.Error as exc:
            if not dialect.is_disconnect(exc, connection.driver_connection, None):
                raise
            self.close()
        return _run(self._connect(), dialect, statement, params)

    def _connect(self):
        if self._connection is None:
            connection = self._engine.raw_connection()
            if hasattr(connection.driver_connection, "autocommit"):  # psycopg; SQLite is already
                connection.driver_connection.autocommit = True
            self._connection = connection
        return self._connection

    def close(self) -> None:
        """Close the kept connection (it is not returned to the pool in autocommit)."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.invalidate()


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
        #: SQLite: the route threads' queue for the write lock (see :mod:`api.writer_queue`),
        #: found by the routes in their session's ``info``; None on PostgreSQL
        self.writer_queue = WriterQueue() if self.engine.dialect.name == "sqlite" else None
        self.sessions = sessionmaker(self.engine, expire_on_commit=False,
                                     info={"writer_queue": self.writer_queue})
        #: the event loop's own small pool (its reads and the audit writer): the loop
        #: must never wait for a connection held by a route thread, which may itself be
        #: waiting for the loop (it did: 100 concurrent writers emptied a shared pool
        #: and the loop, blocked in checkout, could not let them commit)
        self.loop_engine = make_engine(url, pool_size=LOOP_POOL_SIZE, max_overflow=0)
        #: the loop engine for reading only: on SQLite its transactions begin with a
        #: plain BEGIN, read a snapshot and never take (or wait for) the write lock
        self.read_engine = self.loop_engine.execution_options(**{READ_ONLY: True})
        #: the loop's single-row reads (token, resource by id, list pages)
        self.loop_reads = LoopReader(self.loop_engine)

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
        self.loop_reads.close()
        self.engine.dispose()
        self.loop_engine.dispose()
