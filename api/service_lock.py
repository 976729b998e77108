"""The lock that keeps a restore and a running service apart (one data folder).

Every process that serves or runs jobs on a data folder holds a shared ``flock`` on
:data:`LOCK_FILE_NAME` in it for as long as it runs: ``navsvc serve`` (and each of its
API processes), an application started by another ASGI server, ``navsvc worker`` (and
``celery -A api.jobs.celery_app worker``). ``navsvc admin restore`` takes the lock
exclusively, without waiting: while anything holds it shared, the restore refuses
before it reads or writes the target. While a restore holds it, a service process
that starts refuses to start instead of waiting. The kernel drops a process's lock
when it exits, also when it is killed, so a stale lock cannot outlive its process.

The docker-compose deployment shares the data volume between the API and every worker
container, so they and a restore run in any of those containers see one lock; a data
folder shared between machines must support ``flock`` (local disks, Docker volumes,
NFSv4 do). With PostgreSQL, the same processes also hold a shared advisory lock on the
database and a restore takes it exclusively (:mod:`api.database_lock`), so that a restore
run with another data folder cannot fill the database a service uses. Backups take no
lock: they are made while the service runs.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from api.config import Settings
from api.database_lock import DatabaseLock, hold_database_lock, needs_database_lock
from api.db import shown_url
from api.storage import ensure_private_dir
from navsvc.errors import InputError

#: file in the data folder that the service processes and a restore lock
LOCK_FILE_NAME = ".navsvc.lock"


class ServiceLock:
    """A lock held on a data folder's lock file; :meth:`release` (or exit) drops it.

    Parameters
    ----------
    fd : int
        The open, locked lock file.
    path : Path
        Its path.
    created : bool
        Whether this process created the file (a restore removes what it created).
    """

    def __init__(self, fd: int, path: Path, created: bool) -> None:
        self.fd, self.path, self.created = fd, path, created
        #: the PostgreSQL advisory lock held with it (:mod:`api.database_lock`), if any
        self.database: DatabaseLock | None = None

    def release(self) -> None:
        """Drop the lock (closing the file) and its database lock; a second call does
        nothing."""
        if self.database is not None:
            self.database.release()
            self.database = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _open_lock_file(path: Path) -> tuple[int, bool]:
    """Open ``path`` (created, mode 0600, when missing); return the descriptor and
    whether this call created the file."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600), True
    except FileExistsError:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o600), False


def _is_current(fd: int, path: Path) -> bool:
    """Whether ``fd`` is still the file at ``path`` (a restore removes a lock file it
    created; a lock taken on the removed file would guard nothing)."""
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def _try_lock(data_dir: Path, operation: int) -> ServiceLock | None:
    """Take ``operation`` (LOCK_SH or LOCK_EX) on the lock file of ``data_dir`` without
    waiting; return the lock, or None when another process holds a conflicting one."""
    path = data_dir / LOCK_FILE_NAME
    while True:
        fd, created = _open_lock_file(path)
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        if _is_current(fd, path):
            return ServiceLock(fd, path, created)
        os.close(fd)  # removed while we locked it: lock the file that is there now


def _lock(data_dir: Path, operation: int) -> ServiceLock | None:
    """:func:`_try_lock` with file system errors as one line for the administrator."""
    try:
        return _try_lock(data_dir, operation)
    except OSError as exc:
        if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP):
            raise InputError(f"{data_dir} does not support file locks ({exc.strerror}); put "
                             "NAVSVC_DATA_DIR on a local disk, a Docker volume or NFSv4") from None
        raise InputError(f"cannot open the lock file {data_dir / LOCK_FILE_NAME} "
                         f"({exc.strerror}); check NAVSVC_DATA_DIR") from None


def _create_data_dir(data_dir: Path) -> None:
    try:
        ensure_private_dir(data_dir)
    except OSError as exc:
        raise InputError(f"cannot create the data folder {data_dir} ({exc.strerror}); check "
                         "NAVSVC_DATA_DIR") from None


def _with_database_lock(lock: ServiceLock, url: str, shared: bool) -> bool:
    """Add navsvc's advisory lock on the database at ``url`` to ``lock`` when the
    database needs one (PostgreSQL); False when another process holds a conflicting one."""
    if not needs_database_lock(url):
        return True
    lock.database = hold_database_lock(url, shared)
    return lock.database is not None


def hold_service_lock(settings: Settings, command: str) -> ServiceLock:
    """Hold the shared lock of a process that serves or runs jobs on the instance.

    Parameters
    ----------
    settings : Settings
        The instance: its data folder (created, private, when missing) and, with
        PostgreSQL, its database.
    command : str
        What is starting, for the error message (``navsvc serve``).

    Returns
    -------
    ServiceLock
        Held until released or until the process exits.

    Raises
    ------
    InputError
        A restore into the data folder or the database is running, the lock file cannot
        be opened, or the database cannot be reached.
    """
    data_dir = Path(settings.data_dir).resolve()
    _create_data_dir(data_dir)
    lock = _lock(data_dir, fcntl.LOCK_SH)
    if lock is None:
        raise InputError(f"a restore into {data_dir} is running; start {command} again when "
                         "'navsvc admin restore' has finished")
    url = settings.resolved_database_url
    try:
        if not _with_database_lock(lock, url, shared=True):
            raise InputError(f"a restore into the database {shown_url(url)} is running; start "
                             f"{command} again when 'navsvc admin restore' has finished")
    except BaseException:
        lock.release()
        raise
    return lock


def _remove_created(lock: ServiceLock | None, data_dir: Path, created_dir: bool) -> None:
    """Remove the lock file (while still locked) and the data folder if this restore
    created them and the folder holds nothing else."""
    if lock is not None:
        if lock.created:
            lock.path.unlink(missing_ok=True)
        lock.release()
    if created_dir and data_dir.is_dir() and not any(data_dir.iterdir()):
        data_dir.rmdir()


@contextmanager
def restore_lock(data_dir: Path, url: str) -> Iterator[None]:
    """Hold the exclusive lock of a restore into ``data_dir`` and the database at
    ``url`` for the body.

    The data folder and the lock file are created when missing and removed again at
    the end when the restore created them and the folder holds nothing else, so a
    refused or failed restore leaves the target as it was.

    Parameters
    ----------
    data_dir : Path
        The data folder that is restored into.
    url : str
        SQLAlchemy URL of the database that is restored into.

    Raises
    ------
    InputError
        ``navsvc serve``, a job worker or another restore runs on ``data_dir`` or (with
        PostgreSQL) on the database (nothing is changed then), the lock file cannot be
        opened, or the database cannot be reached.
    """
    data_dir = Path(data_dir).resolve()
    created_dir = not data_dir.exists()
    lock = None
    try:
        _create_data_dir(data_dir)
        lock = _lock(data_dir, fcntl.LOCK_EX)
        if lock is None:
            raise InputError(f"navsvc serve or a job worker is running on {data_dir} (or "
                             "another restore is); stop navsvc serve and every worker, then "
                             "run the restore again")
        if not _with_database_lock(lock, url, shared=False):
            raise InputError(f"navsvc serve or a job worker is running on the database "
                             f"{shown_url(url)} (or another restore is); stop navsvc serve "
                             "and every worker, then run the restore again")
        yield
    finally:
        _remove_created(lock, data_dir, created_dir)
