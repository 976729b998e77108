"""The API's side of the Celery queue: send jobs, check the broker, sweep lost jobs.

Used instead of :class:`api.jobs.embedded.EmbeddedWorker` when ``NAVSVC_BROKER_URL``
is set. It offers the same ``start``/``wake``/``alive``/``stop`` methods, plus
:meth:`CeleryQueue.submit` and :meth:`CeleryQueue.broker_reachable`.
"""

from __future__ import annotations

import logging
import threading

from api.config import Settings
from api.db import Database
from api.jobs.celery_app import PLAN_TASK, make_celery
from api.jobs.claims import (abandoned_jobs, fail_exhausted, mark_sent, queued_jobs,
                             requeue_abandoned, unsent_jobs)

log = logging.getLogger("navsvc.jobs")

#: seconds between sweeps for jobs whose message was lost (with their worker, or not)
SWEEP_INTERVAL_S = 60.0
#: how many times sending a message is tried before the broker counts as down
_SEND_RETRIES = 2


class CeleryQueue:
    """Sends targeting jobs to ``navsvc worker`` processes through the broker.

    Parameters
    ----------
    settings : Settings
        Service settings with ``broker_url`` set.
    database : Database
        The service database.
    """

    def __init__(self, settings: Settings, database: Database) -> None:
        self.settings = settings
        self.database = database
        self.celery = make_celery(settings)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sweep_loop, name="navsvc-queue-sweep",
                                        daemon=True)

    def start(self) -> None:
        """Send every queued job (again) and start the sweeper.

        Sending a job twice is harmless (the database claim runs it once), so jobs
        queued while the broker was down or while the embedded worker was in use are
        picked up after a restart.
        """
        try:
            pending = queued_jobs(self.database)
            for job_id in pending:
                if mark_sent(self.database, job_id):
                    self.submit(job_id)
            if pending:
                log.warning("after restart: %d queued job(s) sent to the broker", len(pending))
        except Exception:
            log.exception("could not send queued jobs to the broker; the sweeper retries")
        self._thread.start()

    def submit(self, job_id: str) -> None:
        """Send job ``job_id`` to the queue.

        Raises
        ------
        Exception
            The broker's error when it cannot be reached (after a short retry).
        """
        self.celery.send_task(PLAN_TASK, args=[job_id], queue=self.settings.queue,
                              retry=True, retry_policy={"max_retries": _SEND_RETRIES,
                                                        "interval_start": 0.2,
                                                        "interval_step": 0.5,
                                                        "interval_max": 1.0})

    def wake(self) -> None:
        """Nothing to wake: workers block on the broker."""

    def alive(self) -> bool:
        """Return whether the sweeper thread runs."""
        return self._thread.is_alive()

    def broker_reachable(self) -> bool:
        """Return whether the broker answers within a few seconds."""
        try:
            with self.celery.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=3)
                connection.default_channel  # opens the transport's client
            return True
        except Exception:
            return False

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the sweeper and close the broker connections."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self.celery.close()

    def waiting_messages(self) -> int:
        """Return how many messages wait in the job queue on the broker."""
        with self.celery.connection_for_read() as connection:
            try:
                return connection.default_channel.queue_declare(
                    queue=self.settings.queue, passive=True).message_count
            except connection.channel_errors:  # Redis drops an empty queue: none waits
                return 0

    def sweep(self) -> int:
        """Send again the jobs whose message was lost.

        Running jobs whose worker died, and queued jobs whose message never reached a
        worker (the broker restarted without persistence, or the task gave up while
        the database was unreachable).

        Returns
        -------
        int
            Number of jobs sent again (jobs out of attempts are failed instead).
        """
        return self._resend_abandoned() + self._resend_unsent()

    def _resend_abandoned(self) -> int:
        # The broker itself returns a dead worker's message after the visibility
        # timeout; a job still without a live claim well after that is sent again.
        overdue = self.settings.broker_visibility_timeout_s + 2 * self.settings.job_lease_s
        sent = 0
        for job_id in abandoned_jobs(self.database, overdue):
            if fail_exhausted(self.database, job_id, overdue):
                log.error("job %s failed: its worker stopped too often", job_id)
            elif requeue_abandoned(self.database, job_id, overdue):
                self.submit(job_id)
                sent += 1
                log.warning("job %s: worker lost and no redelivery; sent again", job_id)
        return sent

    def _resend_unsent(self) -> int:
        # A queued job not sent for a visibility timeout whose message is not waiting
        # in the queue was lost. While messages wait, the job's may be one of them
        # (a long queue): it is left alone until the queue drains. A job is sent at
        # most once a visibility timeout (mark_sent, by one API process of several).
        # Should its first message still arrive (held by a worker, e.g. retrying
        # while the database was down), the duplicate is harmless: claim_job moves a
        # job from queued to running once, and the other delivery finds it busy or
        # finished and runs nothing.
        timeout = self.settings.broker_visibility_timeout_s
        candidates = unsent_jobs(self.database, timeout)
        if not candidates or self.waiting_messages():
            return 0
        sent = 0
        for job_id in candidates:
            if mark_sent(self.database, job_id, timeout):
                self.submit(job_id)
                sent += 1
                log.warning("job %s: queued but its message was lost; sent again", job_id)
        return sent

    def _sweep_loop(self) -> None:
        while not self._stop.wait(SWEEP_INTERVAL_S):
            try:
                self.sweep()
            except Exception:
                log.exception("queue sweep failed; retrying")
