"""The embedded job worker: a thread that runs queued jobs in child processes.

Each job runs in its own ``spawn`` process, so a crash (or a segfault in native
registration code) ends that process only; the thread notices the exit and marks the
job failed. Jobs live in the database, so a restart finds what was running.

While no job runs, the worker keeps one such process started ahead (the standby,
:func:`~api.jobs.runner.standby_main`), its engine modules loaded: the next job is handed
to it and plans at once. Each standby runs one job, as any job process does.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from sqlalchemy import select, update

from api.config import Settings
from api.db import Database
from api.jobs.claims import JOB_MEMORY, MAX_ATTEMPTS, Holder, claim_next_job, requeue_unstarted
from api.jobs.runner import child_main, discard_job_files, fail_job, standby_main
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
        #: the standby process and this end of its job pipe, while one waits
        self._standby: tuple[BaseProcess, Connection] | None = None
        #: whether to start a standby when idle: once per job launched, so that a standby
        #: that cannot start or dies unused is not replaced in a loop
        self._want_standby = settings.standby_process
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="navsvc-worker", daemon=True)

    def start(self) -> None:
        """Recover interrupted jobs and start polling."""
        requeued, failed = recover_interrupted_jobs(self.database, self.settings)
        if requeued or failed:
            log.warning("after restart: %d job(s) re-queued, %d failed", requeued, failed)
        self._thread.start()

    @property
    def standby(self) -> BaseProcess | None:
        """The standby process waiting for the next job, if one is."""
        return self._standby[0] if self._standby else None

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
        self._end_standby(timeout_s)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._reap()
                while len(self._children) < self.settings.workers and not self._stop.is_set():
                    holder = claim_next_job(self.database, self._owner)
                    if holder is None or not self._launch(holder):
                        break  # after a failed launch, try again at the next poll
                if self._want_standby and not self._children and not self._stop.is_set():
                    self._start_standby()
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
        """Hand the claimed job to the standby process or start a process for it; on
        failure release the job at once."""
        self._want_standby = self.settings.standby_process
        child = self._hand_to_standby(holder)
        if child is None:
            try:
                # Not a daemon: a service ending without stop() waits for the running job
                # (multiprocessing joins such children at exit) instead of killing it.
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

    def _start_standby(self) -> None:
        """Start the standby process (it loads the engine, then waits for a job)."""
        self._want_standby = False
        receiver, sender = self._context.Pipe(duplex=False)
        try:
            # A daemon, unlike a job's own process: it waits on its pipe for ever, and a
            # service ending without stop() would wait for it at exit. (The plan starts its
            # helpers with subprocess, which a daemonic process may do.)
            process = self._context.Process(target=standby_main, args=(receiver, self.settings),
                                            name="navsvc-job-standby", daemon=True)
            process.start()
        except Exception:
            log.exception("could not start the standby job process; the next job starts its own")
            sender.close()
            return
        finally:
            receiver.close()  # the child has its own copy
        self._standby = (process, sender)

    def _hand_to_standby(self, holder: Holder) -> BaseProcess | None:
        """Send the job to the standby process; None if there is none or it has ended."""
        if self._standby is None:
            return None
        (process, sender), self._standby = self._standby, None
        try:
            if process.is_alive():
                sender.send(holder)
                log.debug("job %s handed to the standby process %s", holder.job_id, process.pid)
                return process
        except OSError:  # it ended between the check and the send
            pass
        finally:
            sender.close()
        process.join(1.0)
        if process.is_alive():  # its end of the pipe broke, yet it runs: not ours to use
            process.terminate()
            process.join()
        log.warning("the standby job process had ended (exit code %s); job %s starts its own",
                    process.exitcode, holder.job_id)
        return None

    def _end_standby(self, timeout_s: float) -> None:
        if self._standby is None:
            return
        (process, sender), self._standby = self._standby, None
        sender.close()
        process.terminate()
        process.join(timeout_s)

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
                         reason=f"the targeting process {process_end_words(child.exitcode)}; "
                                "the service is unaffected")
                log.error("job %s process exited with code %s", holder.job_id, child.exitcode)


def process_end_words(exitcode: int) -> str:
    """How a job process that failed ended, in words for the job's reason.

    Parameters
    ----------
    exitcode : int
        ``multiprocessing``'s exit code: negative for a process ended by a signal.

    Returns
    -------
    str
        "ended unexpectedly (exit code N)", or "was killed by SIGNAME (exit code -N)";
        SIGKILL, which the kernel's out-of-memory killer sends, with what a plan needs.
    """
    if exitcode >= 0:
        return f"ended unexpectedly (exit code {exitcode})"
    try:
        name = signal.Signals(-exitcode).name
    except ValueError:
        name = f"signal {-exitcode}"
    words = f"was killed by {name} (exit code {exitcode})"
    if -exitcode == signal.SIGKILL:
        words += f": most often the machine ran out of memory ({JOB_MEMORY})"
    return words
