"""``navsvc worker``: run targeting jobs from the broker queue (Celery worker).

Equivalent Celery command (same settings from the ``NAVSVC_*`` environment)::

    celery -A api.jobs.celery_app worker --queues navsvc-plans --concurrency 1 \\
        --prefetch-multiplier 1 --without-mingle --without-gossip

Start as many workers, on as many machines, as the clinic needs; each needs the same
``NAVSVC_BROKER_URL``, ``NAVSVC_DATABASE_URL`` and a ``NAVSVC_DATA_DIR`` that is the
same shared folder the API writes uploads to.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time

#: seconds to wait for the API (or ``navsvc admin migrate``) to bring the schema up
SCHEMA_WAIT_S = 120.0


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``worker`` sub-command."""
    parser = subparsers.add_parser(
        "worker", help="run targeting jobs from the job queue",
        description="Run a Celery worker for targeting jobs. Needs NAVSVC_BROKER_URL "
                    "(redis://...), NAVSVC_DATABASE_URL (the API's database) and "
                    "NAVSVC_DATA_DIR (the folder the API stores images in, shared). "
                    "Equivalent: celery -A api.jobs.celery_app worker --queues "
                    "navsvc-plans --prefetch-multiplier 1.")
    parser.add_argument("--concurrency", type=int, default=None, metavar="N",
                        help="jobs run at the same time, each in its own process "
                             "(default NAVSVC_WORKERS, 1)")
    parser.add_argument("--name", default=None,
                        help="Celery node name (default navsvc-PID@HOSTNAME)")
    parser.add_argument("--check", action="store_true",
                        help="health check: exit 0 if a worker on this host answers a ping")
    parser.set_defaults(run=run)
    return parser


def _settings():
    from api.config import load_settings
    from navsvc.errors import InputError

    settings = load_settings()
    if not settings.broker_url:
        raise InputError("NAVSVC_BROKER_URL is not set; set it to the broker the API uses "
                         "(e.g. redis://localhost:6379/0)")
    return settings


def check(timeout_s: float = 5.0) -> int:
    """Ping the workers on this host; 0 if one answers, 1 otherwise."""
    from api.jobs.celery_app import app

    host = socket.gethostname()
    replies = app.control.ping(timeout=timeout_s) or []
    ours = [name for reply in replies for name in reply if name.endswith(f"@{host}")]
    print("ok: " + ", ".join(ours) if ours else f"no worker on {host} answered")
    return 0 if ours else 1


def wait_for_schema(database_url: str, timeout_s: float = SCHEMA_WAIT_S) -> None:
    """Wait until the database is reachable and migrated, or raise InputError.

    Parameters
    ----------
    database_url : str
        SQLAlchemy URL of the API's database.
    timeout_s : float
        How long to keep trying, seconds; the database is checked every 2 s.

    Raises
    ------
    InputError
        The schema is still not current when ``timeout_s`` has passed.
    """
    from api.migrations import schema_is_current
    from navsvc.errors import InputError

    deadline = time.monotonic() + timeout_s
    while not schema_is_current(database_url):
        if time.monotonic() > deadline:
            raise InputError("the database is unreachable or not migrated; start the API "
                             "or run 'navsvc admin migrate' first")
        time.sleep(2.0)


def run(args: argparse.Namespace) -> int:
    """Run the worker until stopped (SIGTERM: finish running jobs first)."""
    settings = _settings()
    if args.check:
        return check()
    concurrency = settings.workers if args.concurrency is None else args.concurrency
    if concurrency < 1:
        from navsvc.errors import InputError

        raise InputError("--concurrency must be at least 1")
    import logging

    from api.storage import ensure_private_dir

    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s")
    ensure_private_dir(settings.data_dir)
    from api.jobs.celery_app import app, hold_data_folder_lock

    hold_data_folder_lock(settings)  # before the schema wait: refused during a restore
    wait_for_schema(settings.resolved_database_url)

    name = args.name or f"navsvc-{os.getpid()}@{socket.gethostname()}"
    argv = ["worker", f"--queues={settings.queue}", f"--concurrency={concurrency}",
            "--prefetch-multiplier=1", "--pool=prefork", f"--hostname={name}",
            f"--loglevel={settings.log_level.upper()}", "--without-mingle",
            "--without-gossip"]
    try:
        app.worker_main(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else 1
    sys.stdout.flush()
    return 0
