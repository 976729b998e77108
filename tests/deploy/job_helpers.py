"""Helpers of the claim and run tests: a job's row, an aged lease, a stalled first worker."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from api.config import Settings
from api.db import Database
from api.jobs.celery_app import execute_job
from api.models import Job, utc_now
import deploy_fakes

#: lease of the tests' workers, seconds
LEASE_S = 30.0


def job_row(database: Database, job_id: str) -> Job:
    """The job's row as stored now."""
    with database.session() as session:
        return session.get(Job, job_id)


def age_lease(database: Database, job_id: str, seconds: float) -> None:
    """Pretend the claimant's last renewal (or the last sending of a queued job) was
    ``seconds`` ago."""
    with database.session() as session:
        session.execute(update(Job).where(Job.id == job_id)
                        .values(heartbeat_at=utc_now() - timedelta(seconds=seconds)))


def folder_files(folder: Path) -> dict[str, bytes]:
    """The files of ``folder`` and their bytes."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


@contextmanager
def first_worker_stalled(job_id: str, settings: Settings, plan_function: str) -> Iterator[None]:
    """Run the job as worker ``w1@a/1`` in a thread with ``plan_function`` (a gated plan of
    :mod:`deploy_fakes`) until it waits at the gate; on leaving, open the gate and wait
    for worker 1 to end. Its lease is an hour: it renews nothing during the test."""
    for event in (deploy_fakes.GATE, deploy_fakes.AT_GATE, deploy_fakes.PAST_GATE):
        event.clear()
    stalled = settings.model_copy(update={"plan_function": plan_function, "job_lease_s": 3600.0})
    first = threading.Thread(target=execute_job, args=(job_id, stalled, "w1@a/1"))
    first.start()
    try:
        assert deploy_fakes.AT_GATE.wait(60), "worker 1 never started the job"
        yield
    finally:
        deploy_fakes.GATE.set()
        first.join()
