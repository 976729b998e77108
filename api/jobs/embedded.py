"""The embedded job worker: a thread that runs queued jobs in child processes.

Each job runs in its own ``spawn`` process, so a crash (or a segfault in native
registration code) ends that process only; the thread notices the exit and marks the
job failed. Jobs live in the database, so a restart finds what was running.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import threading
import time
from multiprocessing.process import BaseProcess

from sqlalchemy import select, update

from api.config import Settings
from api.db import Database
from api.jobs.claims import MAX_ATTEMPTS, Holder, claim_next_job, requeue_unstarted
from api.jobs.runner import child_main, discard_job_files, fail_job
from api.models import Job, utc_now

log = logging.getLogger("navsvc.jobs")

#: a worker heartbeat older than this many poll intervals (and at least
#: :data:`HEARTBEAT_MIN_STALE_S`) means the worker is stopped or stuck
HEARTBEAT_STALE_POLLS = 5
HEARTBEAT_MIN_STALE_S = 10.0


def heartbeat_is_fresh(settings: Settings) -> bool:
    """Whether the embedded worker of another process (``settings.worker_heartbeat_file``)
    polled recently.

    Parameters
    ----------
    settings : Settings
        With ``worker_heartbeat_file`` set.

    Returns
    -------
    bool
        ``False`` when the file is missing or older than the stale limit.
    """
    limit_s = max(HEARTBEAT_MIN_STALE_S, HEARTBEAT_STALE_POLLS * settings.job_poll_interval_s)
    try:
        return time.time() - settings.worker_heartbeat_file.stat().st_mtime <= limit_s
    except OSError:
        return False


def recover_interrupted_jobs(database: Database, settings: Settings) -> tuple[int, int]:
    """Re-queue jobs left ``running`` by a stopped service, or fail them.

    A job interrupted on its first attempt goes back to the queue (its next attempt
    writes into a folder of its own); one interrupted again is failed with a reason,
    and its partial outputs are deleted, so no job stays ``running`` forever.

    Parameters
    ----------
    database : Database
        The service database.
    settings : Settings
        Service settings (the data folder).

    Returns
    -------
    tuple of int
        Numbers of re-queued and failed jobs.
    """
    with database.session() as session:
        requeued = session.execute(
            update(Job).where(Job.state == "running", Job.attempts < MAX_ATTEMPTS)
            .values(state="queued", stage=None, started_at=None)
        ).rowcount
        given_up = session.scalars(select(Job.id).where(Job.state == "running")).all()
        session.execute(
            update(Job).where(Job.id.in_(given_up), Job.state == "running").values(
                state="failed", stage=None, finished_at=utc_now(),
                reason=f"interrupted by a service restart {MAX_ATTEMPTS} times; not retried "
                       "again. Submit a new plan request.")
        )
    for job_id in given_up:
        discard_job_files(database, settings, job_id)
    return requeued, len(given_up)


class EmbeddedWorker:
    """Runs up to ``settings.workers`` jobs at once, each in a child process.

    Parameters
    ----------
    settings : Settings
        Service settings (passed to the children).
    database : Database
        The service database.
    """

    def __init__(self, settings: Settings, database: Database) -> None:
        self.settings = settings
        self.database = database
        self._context = multiprocessing.get_context("spawn")
        self._owner = f"embedded@{socket.gethostname()}/{os.getpid()}"
        self._children: dict[Holder, BaseProcess] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="navsvc-worker", daemon=True)

    def start(self) -> None:
        """Recover interrupted jobs and start polling."""
        requeued, failed = recover_interrupted_jobs(self.database, self.settings)
        if requeued or failed:
            log.warning("after restart: %d job(s) re-queued, %d failed", requeued, failed)
        self._thread.start()

    def wake(self) -> None:
        """Ask the worker to look for queued jobs now."""
        self._wake.set()

    def alive(self) -> bool:
        """Return whether the polling thread runs."""
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop polling and end running children; their jobs are recovered at next start."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)
        for child in list(self._children.values()):  # the poller may still be running
            child.terminate()
            child.join(timeout_s)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._reap()
                while len(self._children) < self.settings.workers and not self._stop.is_set():
                    holder = claim_next_job(self.database, self._owner)
                    if holder is None or not self._launch(holder):
                        break  # after a failed launch, try again at the next poll
            except Exception:
                log.exception("job worker iteration failed; retrying")
            self._beat()
            self._wake.wait(self.settings.job_poll_interval_s)
            self._wake.clear()

    def _beat(self) -> None:
        """Touch the heartbeat file, if any (read by the API processes' ``/readyz``)."""
        if self.settings.worker_heartbeat_file is None:
            return
        try:
            self.settings.worker_heartbeat_file.touch()
        except OSError as exc:
            log.warning("could not touch the worker heartbeat file: %s", exc)

    def _launch(self, holder: Holder) -> bool:
        """Start the process of the claimed job; on failure release the job at once."""
        try:
            # Not a daemon: the pipeline may start helper processes of its own.
            child = self._context.Process(target=child_main, args=(holder, self.settings),
                                          name=f"navsvc-job-{holder.job_id}")
            child.start()
        except Exception as exc:
            log.exception("job %s: could not start its process", holder.job_id)
            self._release(holder, exc)
            return False
        self._children[holder] = child
        threading.Thread(target=self._watch, args=(child,), daemon=True).start()
        log.info("job %s started in process %s", holder.job_id, child.pid)
        return True

    def _release(self, holder: Holder, exc: Exception) -> None:
        """Re-queue a job whose process could not start, or fail it after its last attempt."""
        if holder.attempt < MAX_ATTEMPTS and requeue_unstarted(self.database, holder):
            return
        fail_job(self.database, self.settings, holder, stage=None,
                 reason=f"the targeting process could not be started ({type(exc).__name__}: "
                        f"{exc}) on {holder.attempt} attempts; submit the plan request again")

    def _watch(self, child: BaseProcess) -> None:
        child.join()
        self._wake.set()

    def _reap(self) -> None:
        for holder, child in list(self._children.items()):
            if child.is_alive():
                continue
            child.join()
            del self._children[holder]
            if child.exitcode != 0 and not self._stop.is_set():
                # The child died, perhaps without recording an outcome (crash, kill, OOM),
                # perhaps after storing its plan (a crash at exit): fail_job changes
                # nothing then, and keeps the folder the stored plan holds.
                fail_job(self.database, self.settings, holder, stage=None,
                         reason=f"the targeting process ended unexpectedly (exit code "
                                f"{child.exitcode}); the service is unaffected")
                log.error("job %s process exited with code %s", holder.job_id, child.exitcode)
