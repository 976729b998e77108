"""The PostgreSQL side of the lock that keeps a restore and a running service apart.

The data-folder ``flock`` of :mod:`api.service_lock` keeps a restore out of a folder a
service runs on. A restore run with another data folder against the database the
service uses (a second machine, a mistyped ``NAVSVC_DATA_DIR``) passes that lock. So
every service process also holds a shared PostgreSQL advisory lock, on a connection of
its own, for as long as it runs, and a restore takes the same lock exclusively, without
waiting. The lock is keyed on the database and the schema the URL's search path selects
(advisory locks are per database), so instances in other schemas do not see each other.

A PostgreSQL restart ends every session and with it the lock: a keeper thread checks
the connection every :data:`KEEPER_INTERVAL_S` seconds and takes the lock again on a new
one. SQLite needs none of this: its file lies in the data folder, which the ``flock``
guards.
"""

from __future__ import annotations

import logging
import threading

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from api.db import reported_database_errors

log = logging.getLogger("navsvc.lock")

#: first key of navsvc's advisory locks ('navs' as a 32-bit integer); the second is the schema's
LOCK_CLASS = 0x6E617673
#: seconds between the keeper thread's checks of the lock's connection
KEEPER_INTERVAL_S = 30.0

_KEY = f"{LOCK_CLASS}, hashtext(coalesce(current_schema(), ''))"


def _take(engine: Engine, function: str) -> Connection | None:
    """Open a connection and call ``function`` (an advisory-lock function) on the key;
    return the connection holding the lock, or None when the lock is held elsewhere."""
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        granted = connection.execute(sa.text(f"SELECT {function}({_KEY})")).scalar_one()
    except BaseException:
        connection.close()
        raise
    if granted:
        return connection
    connection.close()
    return None


class DatabaseLock:
    """A navsvc advisory lock held on a PostgreSQL connection; :meth:`release` drops it.

    Parameters
    ----------
    engine : Engine
        The engine of the lock's connection (disposed on release).
    connection : Connection
        The connection that holds the lock.
    shared : bool
        A service's shared lock (kept by a thread across database restarts) or a
        restore's exclusive one.
    """

    def __init__(self, engine: Engine, connection: Connection, shared: bool) -> None:
        self.engine, self.connection = engine, connection
        self._stop = threading.Event()
        self._guard = threading.Lock()
        self._keeper = None
        if shared:
            self._keeper = threading.Thread(target=self._keep, name="navsvc-database-lock",
                                            daemon=True)
            self._keeper.start()

    def _keep(self) -> None:
        """Check the connection; after it was lost, take the shared lock again. The thread
        outlives any one failed round: if it ended, the service would run on unlocked."""
        while not self._stop.wait(KEEPER_INTERVAL_S):
            with self._guard:
                if self._stop.is_set():
                    return
                try:
                    if not self._alive():
                        self._take_again()
                except Exception:  # noqa: BLE001 - logged; the next round tries again
                    log.exception("the service's database lock could not be checked or taken again; "
                                  "trying again in %g s", KEEPER_INTERVAL_S)

    def _alive(self) -> bool:
        """Whether the lock's connection still answers; one that does not is dropped."""
        if self.connection is None:
            return False
        try:
            self.connection.execute(sa.text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - a lost server (DBAPIError) or a closed Connection alike
            connection, self.connection = self.connection, None
            try:
                connection.invalidate()
                connection.close()
            except Exception:  # noqa: BLE001 - it is being dropped: nothing of it is used again
                log.debug("closing the lost database-lock connection failed", exc_info=True)
            return False

    def _take_again(self) -> None:
        try:
            self.connection = _take(self.engine, "pg_try_advisory_lock_shared")
        except sa.exc.DBAPIError as exc:
            log.warning("the service's database lock is lost and cannot be taken again yet "
                        "(%s)", str(exc.orig or exc).strip().splitlines()[0])
            return
        if self.connection is None:
            log.error("the service's database lock is lost and a restore holds it; stop this "
                      "process: the restore replaces the database under it")
        else:
            log.info("the service's database lock was lost (database restart?) and is held again")

    def release(self) -> None:
        """Drop the lock (closing its connection); a second call does nothing."""
        self._stop.set()
        with self._guard:
            if self.connection is not None:
                self.connection.close()
                self.connection = None
            self.engine.dispose()


def hold_database_lock(url: str, shared: bool) -> DatabaseLock | None:
    """Take navsvc's advisory lock on the PostgreSQL database at ``url``, without waiting
    (only PostgreSQL needs it: :func:`needs_database_lock`).

    Parameters
    ----------
    url : str
        SQLAlchemy URL of the database.
    shared : bool
        True for a service process (any number hold it at once), False for a restore
        (alone).

    Returns
    -------
    DatabaseLock or None
        The lock; None when another process holds a conflicting one.

    Raises
    ------
    InputError
        The database cannot be reached.
    """
    engine = sa.create_engine(url, poolclass=NullPool, hide_parameters=True)
    try:
        with reported_database_errors(url):
            connection = _take(engine, "pg_try_advisory_lock_shared" if shared
                               else "pg_try_advisory_lock")
    except BaseException:
        engine.dispose()
        raise
    if connection is None:
        engine.dispose()
        return None
    return DatabaseLock(engine, connection, shared)


def needs_database_lock(url: str) -> bool:
    """Whether the database at ``url`` is one a data-folder lock does not guard
    (PostgreSQL)."""
    return sa.engine.make_url(url).get_backend_name() == "postgresql"
