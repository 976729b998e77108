"""Database claims that keep queue workers from running one job twice.

A broker delivers a message *at least* once: a worker that dies before acknowledging
leaves its message to be delivered again, and a message may reach a second worker
while the first still runs it. The database therefore decides who runs a job:

* :func:`claim_job` moves a job to ``running`` with one conditional ``UPDATE``, only
  from ``queued`` or from a ``running`` claim whose lease ran out (its worker died),
  and counts the attempt;
* the claimant renews its lease (:func:`renew_claim`) while the job runs;
* a job whose worker died :data:`MAX_ATTEMPTS` times is failed with the reason
  (:func:`fail_exhausted`) instead of being started again.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from api.db import Database
from api.jobs.embedded import MAX_ATTEMPTS
from api.models import Job, utc_now

#: reason recorded on a job whose worker stopped :data:`MAX_ATTEMPTS` times
EXHAUSTED_REASON = (f"the worker running this job stopped before finishing {MAX_ATTEMPTS} "
                    "times (crash, kill or lost machine); not retried again. Submit a new "
                    "plan request.")


class Claim(enum.Enum):
    """Outcome of :func:`claim_job`."""

    #: this caller now runs the job
    CLAIMED = "claimed"
    #: the job already succeeded or failed: nothing to do
    FINISHED = "finished"
    #: another worker holds a live claim: look again later
    BUSY = "busy"
    #: the job's worker died too often: fail it (:func:`fail_exhausted`)
    EXHAUSTED = "exhausted"
    #: no such job (e.g. a message from another database)
    MISSING = "missing"


def _abandoned(cutoff: datetime):
    """SQL condition: a running job whose claim was last renewed before ``cutoff``."""
    return and_(Job.state == "running",
                or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < cutoff))


def claim_job(database: Database, job_id: str, owner: str, lease_s: float,
              max_attempts: int = MAX_ATTEMPTS) -> Claim:
    """Try to take job ``job_id`` for ``owner``.

    Parameters
    ----------
    database : Database
        The service database.
    job_id : str
        The job named by the queue message.
    owner : str
        Who claims (worker node name and process id), stored in ``jobs.claimed_by``.
    lease_s : float
        A ``running`` claim not renewed for this long is taken over.
    max_attempts : int
        Starts allowed per job.

    Returns
    -------
    Claim
        :attr:`Claim.CLAIMED` when this caller must run the job now.
    """
    now = utc_now()
    cutoff = now - timedelta(seconds=lease_s)
    with database.session() as session:
        claimed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.attempts < max_attempts,
                   or_(Job.state == "queued", _abandoned(cutoff)))
            .values(state="running", attempts=Job.attempts + 1, started_at=now,
                    stage=None, reason=None, claimed_by=owner[:200], heartbeat_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed:
            return Claim.CLAIMED
        row = session.execute(
            select(Job.state, Job.heartbeat_at).where(Job.id == job_id)).one_or_none()
    if row is None:
        return Claim.MISSING
    state, heartbeat_at = row
    if state in ("succeeded", "failed"):
        return Claim.FINISHED
    if state == "running" and heartbeat_at is not None and heartbeat_at >= cutoff:
        return Claim.BUSY
    return Claim.EXHAUSTED


def renew_claim(database: Database, job_id: str, owner: str) -> bool:
    """Renew ``owner``'s lease on a running job; False when the claim was lost."""
    with database.session() as session:
        return bool(session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == "running", Job.claimed_by == owner[:200])
            .values(heartbeat_at=utc_now())
            .execution_options(synchronize_session=False)
        ).rowcount)


def fail_exhausted(database: Database, job_id: str, lease_s: float,
                   max_attempts: int = MAX_ATTEMPTS) -> bool:
    """Fail a job that used up its attempts and has no live claim.

    Returns
    -------
    bool
        Whether this call failed the job (False if it finished or is being run).
    """
    cutoff = utc_now() - timedelta(seconds=lease_s)
    with database.session() as session:
        return bool(session.execute(
            update(Job)
            .where(Job.id == job_id, Job.attempts >= max_attempts,
                   or_(Job.state == "queued", _abandoned(cutoff)))
            .values(state="failed", stage=None, finished_at=utc_now(),
                    reason=EXHAUSTED_REASON)
            .execution_options(synchronize_session=False)
        ).rowcount)


def abandoned_jobs(database: Database, older_than_s: float) -> list[str]:
    """Ids of running jobs whose claim was not renewed for ``older_than_s`` seconds."""
    cutoff = utc_now() - timedelta(seconds=older_than_s)
    with database.session() as session:
        return list(session.scalars(select(Job.id).where(_abandoned(cutoff))).all())


def requeue_abandoned(database: Database, job_id: str, older_than_s: float) -> bool:
    """Put a running job without a live claim back to ``queued`` (attempts kept).

    Returns
    -------
    bool
        Whether this call re-queued it (False if a worker renewed or finished it).
    """
    cutoff = utc_now() - timedelta(seconds=older_than_s)
    with database.session() as session:
        return bool(session.execute(
            update(Job)
            .where(Job.id == job_id, _abandoned(cutoff))
            .values(state="queued", stage=None, started_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount)


def queued_jobs(database: Database) -> list[str]:
    """Ids of every queued job, oldest first."""
    with database.session() as session:
        return list(session.scalars(
            select(Job.id).where(Job.state == "queued").order_by(Job.created_at)).all())
