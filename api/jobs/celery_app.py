"""The Celery application: targeting jobs on ``navsvc worker`` processes.

Start a worker with ``navsvc worker`` or, equivalently::

    celery -A api.jobs.celery_app worker --queues navsvc-plans --concurrency 1 \\
        --prefetch-multiplier 1 --without-mingle --without-gossip

The broker is ``NAVSVC_BROKER_URL`` (e.g. ``redis://redis:6379/0``). A message
carries only the job id; the job itself (options, state, attempts, result) lives in
the database, which stays the one source of truth, so no result backend is used.
The task runs :func:`api.jobs.runner.run_plan_job`, the function the embedded
worker runs.

Delivery is *at least once*: messages are acknowledged after the job ends
(``task_acks_late``), also when the process running it dies
(``task_reject_on_worker_lost`` puts the message back), and a worker that dies as a
whole leaves its message to the broker, which hands it to another worker after the
visibility timeout. :mod:`api.jobs.claims` makes that *exactly once* in effect.
"""

from __future__ import annotations

import logging
import os
import signal
import time

from celery import Celery, signals
from sqlalchemy.exc import OperationalError

from api.config import Settings, load_settings
from api.db import Database
from api.jobs.claims import Claim, Holder, claim_job, fail_exhausted, renew_claim
from api.jobs.runner import discard_job_files, fail_job, run_plan_job
from api.service_lock import ServiceLock, hold_service_lock
from api.storage import make_files_private
from navsvc.errors import InputError

log = logging.getLogger("navsvc.jobs")

#: name of the one task; the API sends it by name
PLAN_TASK = "navsvc.run_plan_job"
#: seconds between looks at a job another worker holds
_BUSY_RECHECK_MAX_S = 30.0
#: seconds between attempts while the database is unreachable, and how many
_DB_RETRY_S, _DB_RETRIES = 10.0, 60


def make_celery(settings: Settings) -> Celery:
    """Build a Celery application for ``settings``.

    Parameters
    ----------
    settings : Settings
        ``broker_url`` (required), ``queue`` and ``broker_visibility_timeout_s``
        are used.

    Returns
    -------
    celery.Celery
        The application; the task is registered on :data:`app` only, and this
        factory's applications send it by name (:data:`PLAN_TASK`).
    """
    if not settings.broker_url:
        raise ValueError("NAVSVC_BROKER_URL is not set")
    celery = Celery("navsvc", broker=settings.broker_url, set_as_current=False)
    celery.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        result_backend=None,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=settings.queue,
        task_create_missing_queues=True,
        broker_transport_options={
            "visibility_timeout": settings.broker_visibility_timeout_s,
            "socket_connect_timeout": 5,
            "socket_timeout": 30,
        },
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=5,
        # Keep jobs running through a broker reconnection; the claims stop duplicates.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        enable_utc=True,
    )
    return celery


def _renew_until_parent_exits(database_url: str, holder: Holder, interval_s: float,
                              parent_pid: int) -> None:
    """Body of the lease process: renew the claim while the job's process lives."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the pool process may have changed it
    database = Database(database_url)
    next_renewal = time.monotonic() + interval_s
    try:
        while os.getppid() == parent_pid:
            time.sleep(min(1.0, interval_s))
            if time.monotonic() < next_renewal:
                continue
            next_renewal = time.monotonic() + interval_s
            try:
                if not renew_claim(database, holder):
                    log.warning("job %s: claim lost; another worker may run it", holder.job_id)
                    return
            except Exception:  # a database hiccup: try again at the next renewal
                log.warning("job %s: lease renewal failed", holder.job_id, exc_info=True)
    finally:
        database.dispose()


class _Lease:
    """Renews a job's claim every third of the lease, from a small forked process.

    A thread would not do: the registration code holds the GIL for many seconds. The
    process ends with the job, or within a second of the job's process dying, so a
    dead worker's lease runs out and another worker may take the job over. (Plain
    ``os.fork``: Celery's pool processes are daemonic, and ``multiprocessing`` refuses
    children to those.)
    """

    def __init__(self, settings: Settings, holder: Holder) -> None:
        self._args = (settings.resolved_database_url, holder,
                      max(settings.job_lease_s / 3.0, 0.5), os.getpid())
        self._pid = 0

    def __enter__(self) -> _Lease:
        self._pid = os.fork()
        if self._pid == 0:  # the lease process
            try:
                _renew_until_parent_exits(*self._args)
            finally:
                os._exit(0)
        return self

    def __exit__(self, *_exc) -> None:
        os.kill(self._pid, signal.SIGTERM)
        deadline = time.monotonic() + 5.0
        while os.waitpid(self._pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.kill(self._pid, signal.SIGKILL)
                os.waitpid(self._pid, 0)
                return
            time.sleep(0.01)


def execute_job(job_id: str, settings: Settings, owner: str) -> Claim:
    """Claim job ``job_id`` and, if this caller got it, run it with a renewed lease.

    Parameters
    ----------
    job_id : str
        Job named by the message.
    settings : Settings
        Service settings of the worker.
    owner : str
        Worker node and process, recorded as the claimant.

    Returns
    -------
    Claim
        :attr:`Claim.CLAIMED` when the job ran here (its outcome is in the
        database), :attr:`Claim.BUSY` when another worker holds it (the caller looks
        again later), otherwise why nothing ran.
    """
    database = Database(settings.resolved_database_url)
    try:
        claim, holder = claim_job(database, job_id, owner, settings.job_lease_s)
        if claim is Claim.EXHAUSTED and fail_exhausted(database, job_id, settings.job_lease_s):
            log.error("job %s failed: its worker stopped too often", job_id)
            discard_job_files(database, settings, job_id)
        if claim is not Claim.CLAIMED:
            log.info("job %s not run here: %s", job_id, claim.value)
            return claim
        log.info("job %s started by %s (attempt %d)", job_id, owner, holder.attempt)
        with _Lease(settings, holder):
            try:
                run_plan_job(holder, settings)
            except Exception as exc:  # e.g. the plan function cannot be imported
                log.exception("job %s failed outside the plan function", job_id)
                fail_job(database, settings, holder, stage=None,
                         reason=f"internal error ({type(exc).__name__}); see the worker log")
        return claim
    finally:
        database.dispose()


#: the application ``celery -A api.jobs.celery_app worker`` and ``navsvc worker`` run
app = make_celery(load_settings(broker_url=os.environ.get("NAVSVC_BROKER_URL") or "memory://"))


#: this worker process's shared lock on its data folder (:mod:`api.service_lock`)
_data_folder_lock: ServiceLock | None = None


def hold_data_folder_lock(settings: Settings) -> None:
    """Hold the shared service lock on ``settings.data_dir`` until this process exits
    (taken once per process; the pool processes inherit it), so that
    ``navsvc admin restore`` refuses to run while this worker runs.

    Raises
    ------
    InputError
        A restore into the data folder is running.
    """
    global _data_folder_lock
    if _data_folder_lock is None:
        _data_folder_lock = hold_service_lock(settings, "navsvc worker")


@signals.celeryd_init.connect
def _private_files(**_kwargs) -> None:
    # The worker's main process, before its pool starts: `navsvc worker` and
    # `celery -A api.jobs.celery_app worker` alike; job processes inherit the umask
    # and the lock. SystemExit, as Celery logs and ignores a handler's exceptions.
    make_files_private()
    try:
        hold_data_folder_lock(load_settings())
    except InputError as exc:
        raise SystemExit(f"navsvc worker: error: {exc}") from None


@app.task(name=PLAN_TASK, bind=True, max_retries=None)
def run_plan(self, job_id: str) -> str:
    """Run targeting job ``job_id`` (Celery task; the message holds only the id)."""
    settings = load_settings()
    owner = f"{self.request.hostname or 'celery'}/{os.getpid()}"
    try:
        claim = execute_job(job_id, settings, owner)
    except OperationalError as exc:  # database unreachable: the job waits in the queue
        if self.request.retries >= _DB_RETRIES:
            raise
        log.warning("job %s: database unreachable, retrying in %.0f s", job_id, _DB_RETRY_S)
        raise self.retry(exc=exc, countdown=_DB_RETRY_S)
    if claim is Claim.BUSY:
        # Delivered twice while another worker runs it: come back when that worker
        # has finished or its lease has run out (then this delivery takes over).
        raise self.retry(countdown=min(settings.job_lease_s, _BUSY_RECHECK_MAX_S))
    return claim.value
