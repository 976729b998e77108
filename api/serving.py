"""Run the service under uvicorn: one process, or several sharing one port.

With several API processes only the supervising parent runs the embedded job worker
(one job runner per data folder: each would otherwise re-queue the others' running
jobs at start-up) and applies the migrations once before the processes start.

Each API process listens on its own ``SO_REUSEPORT`` socket, so the kernel spreads
new connections evenly. With one shared socket (uvicorn's ``--workers``) the first
process to wake accepts a whole burst: 50 keep-alive clients split 38/12 here, and the
busier process set the latency of everyone.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
import time

import uvicorn

from api.app import create_app
from api.config import Settings
from api.db import Database
from api.jobs.embedded import EmbeddedWorker
from api.migrations import upgrade
from api.service_lock import hold_service_lock
from api.storage import Storage, make_files_private

log = logging.getLogger("navsvc.api")

#: the application factory the API processes import
APP_FACTORY = "api.app:create_app"

#: pending connections per API process (uvicorn's default)
BACKLOG = 2048

#: an API process that exits sooner than this after its start stops the service
#: (a start-up failure would otherwise be restarted for ever)
MIN_UPTIME_S = 10.0

#: how long stopping API processes may take to finish their requests
SHUTDOWN_TIMEOUT_S = 30.0

#: file in the data folder that the supervising process's job worker touches on every
#: poll; the API processes' /readyz reads its age
HEARTBEAT_FILE_NAME = "worker.heartbeat"


def configure_logging(level: str) -> None:
    """Log ``level`` and above to stderr with times (the service's log format)."""
    logging.basicConfig(level=level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")


def serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    """Serve HTTP on ``host:port`` until interrupted.

    Parameters
    ----------
    settings : Settings
        Service settings (the API processes read the same ``NAVSVC_*`` environment).
    host, port : str, int
        Where to listen.
    workers : int
        API processes. Above 1, the parent runs the embedded job worker (unless
        disabled or a broker is set) and the API processes do not; they do not wake
        it, so a new job starts within ``NAVSVC_JOB_POLL_INTERVAL_S``. An API process
        that dies is replaced.

    Everything the service writes is private to its OS user (umask 077, inherited by
    the API and job processes). The shared lock of :mod:`api.service_lock` is held on
    the data folder until the service stops, so that ``navsvc admin restore`` refuses
    to run meanwhile.

    Raises
    ------
    InputError
        A restore into the data folder is running (the service does not start).
    """
    make_files_private()
    lock = hold_service_lock(settings, "navsvc serve")
    try:
        _serve(settings, host, port, workers)
    finally:
        lock.release()


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    options = dict(log_level=settings.log_level.lower(),
                   access_log=settings.log_level.upper() == "DEBUG")
    if workers <= 1:
        uvicorn.run(create_app(settings), host=host, port=port, **options)
        return
    _check_port_free(host, port)
    Storage(settings.data_dir).ensure()
    upgrade(settings.resolved_database_url)
    worker = database = None
    if settings.embedded_worker and not settings.broker_url:
        database = Database(settings.resolved_database_url)
        settings = settings.model_copy(update={
            "worker_heartbeat_file": (settings.data_dir / HEARTBEAT_FILE_NAME).resolve()})
        worker = EmbeddedWorker(settings, database)
        worker.start()
        # Inherited by the API processes: their /readyz reads the worker's heartbeat.
        os.environ["NAVSVC_WORKER_HEARTBEAT_FILE"] = str(settings.worker_heartbeat_file)
        log.info("embedded job worker runs in the supervising process %d", os.getpid())
    # Inherited by the API processes, which therefore run no job worker of their own.
    os.environ["NAVSVC_EMBEDDED_WORKER"] = "false"
    try:
        _supervise(workers, host, port, options)
    finally:
        if worker is not None:
            worker.stop()
            settings.worker_heartbeat_file.unlink(missing_ok=True)
        if database is not None:
            database.dispose()


def _address(host: str, port: int) -> tuple[int, tuple]:
    family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    return family, address


def _check_port_free(host: str, port: int) -> None:
    # SO_REUSEPORT would let a second server join this port silently; a plain bind
    # fails while anything listens there.
    family, address = _address(host, port)
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise SystemExit(f"navsvc serve: cannot listen on {host}:{port}: {exc.strerror}")


def _api_process(host: str, port: int, options: dict) -> None:
    """Body of one API process: its own SO_REUSEPORT socket, one uvicorn server."""
    configure_logging(options["log_level"])
    family, address = _address(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.listen(BACKLOG)
    config = uvicorn.Config(APP_FACTORY, factory=True, host=host, port=port, **options)
    uvicorn.Server(config).run(sockets=[sock])


def _supervise(workers: int, host: str, port: int, options: dict) -> None:
    """Run ``workers`` API processes until SIGINT/SIGTERM; replace any that dies."""
    context = multiprocessing.get_context("spawn")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    def start() -> multiprocessing.process.BaseProcess:
        process = context.Process(target=_api_process, args=(host, port, options),
                                  name="navsvc-api")
        process.start()
        process.started_at = time.monotonic()
        return process

    processes = [start() for _ in range(workers)]
    log.info("navsvc API on http://%s:%d in %d processes", host, port, workers)
    failed_at_start = False
    while not stop.wait(0.5):
        for index, process in enumerate(processes):
            if process.is_alive():
                continue
            if time.monotonic() - process.started_at < MIN_UPTIME_S:
                log.error("API process %d exited at start-up (code %s); stopping",
                          process.pid, process.exitcode)
                failed_at_start = True
                stop.set()
                break
            log.error("API process %d exited (code %s); starting another",
                      process.pid, process.exitcode)
            processes[index] = start()
    for process in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
    for process in processes:
        process.join(SHUTDOWN_TIMEOUT_S)
        if process.is_alive():
            process.kill()
            process.join()
    if failed_at_start:
        raise SystemExit("navsvc serve: an API process failed to start (see the log above)")
