"""Database claims that keep queue workers from running one job twice.

A broker delivers a message *at least* once: a worker that dies before acknowledging
leaves its message to be delivered again, and a message may reach a second worker
while the first still runs it. The database therefore decides who runs a job:

* :func:`claim_job` moves a job to ``running`` with one conditional ``UPDATE``, only
  from ``queued`` or from a ``running`` claim whose lease ran out (its worker died),
  and counts the attempt;
* the claimant renews its lease (:func:`renew_claim`) while the job runs;
* every step that changes the job's outcome is conditional on the claim still being
  held (:meth:`Holder.holds`): a claimant that stalled and lost its lease to another
  worker stores nothing;
* a job whose worker died :data:`MAX_ATTEMPTS` times is failed with the reason
  (:func:`fail_exhausted`) instead of being started again.

The embedded worker claims through :func:`claim_next_job`, so its runs are held the
same way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from api.db import Database
from api.models import Job, utc_now

#: a job is started at most this many times (e.g. the first run plus one after a restart
#: or a lost worker)
MAX_ATTEMPTS = 2

#: what a job's process needs, said where one may have run out of memory
JOB_MEMORY = ("a plan takes about 1-1.5 GiB, and up to 4 GiB for images near the largest "
              "accepted; see docs/deployment.md, 'Memory and time per job'")
#: reason recorded on a job whose worker stopped :data:`MAX_ATTEMPTS` times
EXHAUSTED_REASON = (f"the worker running this job stopped before finishing {MAX_ATTEMPTS} "
                    f"times (a crash, a kill, a lost machine, or the machine out of memory: "
                    f"{JOB_MEMORY}); not retried again. Submit a new plan request.")


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


@dataclass(frozen=True)
class Holder:
    """One claim on a job: who took it and which attempt (start) of the job it is.

    Every claim counts an attempt, so ``(owner, attempt)`` names one run even when the
    same worker process claims the job again later.
    """

    job_id: str
    owner: str
    attempt: int

    def holds(self):
        """SQL condition: the job is running under this very claim."""
        return and_(Job.id == self.job_id, Job.state == "running",
                    Job.claimed_by == self.owner, Job.attempts == self.attempt)


def _abandoned(cutoff: datetime):
    """SQL condition: a running job whose claim was last renewed before ``cutoff``."""
    return and_(Job.state == "running",
                or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < cutoff))


def _take(session: Session, job_id: str, owner: str, condition) -> Holder | None:
    """Move job ``job_id`` to ``running`` for ``owner`` if ``condition`` holds.

    The attempt is read back in the same transaction, which holds the row (SQLite: the
    write lock taken at BEGIN), so it is this claim's.
    """
    now = utc_now()
    owner = owner[:200]
    claimed = session.execute(
        update(Job)
        .where(Job.id == job_id, condition)
        .values(state="running", attempts=Job.attempts + 1, started_at=now,
                stage=None, reason=None, claimed_by=owner, heartbeat_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        return None
    attempt = session.scalar(select(Job.attempts).where(Job.id == job_id))
    return Holder(job_id, owner, attempt)


def claim_job(database: Database, job_id: str, owner: str, lease_s: float,
              max_attempts: int = MAX_ATTEMPTS) -> tuple[Claim, Holder | None]:
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
    tuple of (Claim, Holder or None)
        :attr:`Claim.CLAIMED` and the claim when this caller must run the job now,
        otherwise why not and ``None``.
    """
    cutoff = utc_now() - timedelta(seconds=lease_s)
    with database.session() as session:
        holder = _take(session, job_id, owner, and_(
            Job.attempts < max_attempts, or_(Job.state == "queued", _abandoned(cutoff))))
        if holder is not None:
            return Claim.CLAIMED, holder
        row = session.execute(
            select(Job.state, Job.heartbeat_at).where(Job.id == job_id)).one_or_none()
    return _why_not_claimed(row, cutoff), None


def _why_not_claimed(row, cutoff: datetime) -> Claim:
    """Classify a job that could not be claimed from its ``(state, heartbeat_at)``."""
    if row is None:
        return Claim.MISSING
    state, heartbeat_at = row
    if state in ("succeeded", "failed"):
        return Claim.FINISHED
    if state == "running" and heartbeat_at is not None and heartbeat_at >= cutoff:
        return Claim.BUSY
    return Claim.EXHAUSTED


def claim_next_job(database: Database, owner: str) -> Holder | None:
    """Claim the oldest queued job for ``owner`` (the embedded worker).

    Parameters
    ----------
    database : Database
        The service database.
    owner : str
        Who claims, stored in ``jobs.claimed_by``.

    Returns
    -------
    Holder or None
        The claim, or ``None`` when no job is queued.
    """
    with database.session() as session:
        candidates = session.scalars(
            select(Job.id).where(Job.state == "queued").order_by(Job.created_at).limit(5)
        ).all()
        for job_id in candidates:
            holder = _take(session, job_id, owner, Job.state == "queued")
            if holder is not None:
                return holder
    return None


def renew_claim(database: Database, holder: Holder) -> bool:
    """Renew the lease of ``holder``'s claim; False when the claim was lost.

    Parameters
    ----------
    database : Database
        The service database.
    holder : Holder
        The claim whose lease is renewed.

    Returns
    -------
    bool
        True when the lease was renewed (``holder`` still holds the job).
    """
    with database.session() as session:
        return bool(session.execute(
            update(Job).where(holder.holds()).values(heartbeat_at=utc_now())
            .execution_options(synchronize_session=False)
        ).rowcount)


def requeue_unstarted(database: Database, holder: Holder) -> bool:
    """Put a claimed job whose run could not be started back to ``queued``.

    The attempt stays counted, so a job that cannot be started is not tried forever.

    Parameters
    ----------
    database : Database
        The service database.
    holder : Holder
        The claim whose run could not be started.

    Returns
    -------
    bool
        Whether ``holder`` still held the job (and it is queued again).
    """
    with database.session() as session:
        return bool(session.execute(
            update(Job).where(holder.holds())
            .values(state="queued", stage=None, started_at=None, claimed_by=None)
            .execution_options(synchronize_session=False)
        ).rowcount)


def fail_exhausted(database: Database, job_id: str, lease_s: float,
                   max_attempts: int = MAX_ATTEMPTS) -> bool:
    """Fail a job that used up its attempts and has no live claim.

    Parameters
    ----------
    database : Database
        The service database.
    job_id : str
        The job.
    lease_s : float
        A ``running`` claim not renewed for this many seconds counts as abandoned (a
        ``queued`` job is failed without waiting).
    max_attempts : int
        Starts allowed per job; the job is failed only once it has had this many.

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
    """Ids of running jobs whose claim was not renewed for ``older_than_s`` seconds.

    Parameters
    ----------
    database : Database
        The service database.
    older_than_s : float
        A running job's claim not renewed for this many seconds counts as abandoned.

    Returns
    -------
    list of str
        Job ids.
    """
    cutoff = utc_now() - timedelta(seconds=older_than_s)
    with database.session() as session:
        return list(session.scalars(select(Job.id).where(_abandoned(cutoff))).all())


def requeue_abandoned(database: Database, job_id: str, older_than_s: float) -> bool:
    """Put a running job without a live claim back to ``queued`` (attempts kept).

    The caller sends it right away, so the time is recorded as its last sending
    (see :func:`mark_sent`).

    Parameters
    ----------
    database : Database
        The service database.
    job_id : str
        The running job.
    older_than_s : float
        Only if its claim was not renewed for this many seconds.

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
            .values(state="queued", stage=None, started_at=None, heartbeat_at=utc_now())
            .execution_options(synchronize_session=False)
        ).rowcount)


def queued_jobs(database: Database) -> list[str]:
    """Ids of every queued job, oldest first."""
    with database.session() as session:
        return list(session.scalars(
            select(Job.id).where(Job.state == "queued").order_by(Job.created_at)).all())


def _unsent_since(cutoff: datetime):
    """SQL condition: a queued job whose message was last sent before ``cutoff``.

    A queued job's ``heartbeat_at`` is when its message was last sent again (by the
    sweep or a re-queue); until then the job's creation, when the API sent it first.
    """
    return and_(Job.state == "queued",
                func.coalesce(Job.heartbeat_at, Job.created_at) < cutoff)


def unsent_jobs(database: Database, older_than_s: float) -> list[str]:
    """Ids of queued jobs whose message was last sent over ``older_than_s`` seconds ago.

    Parameters
    ----------
    database : Database
        The service database.
    older_than_s : float
        Age of the last sending, seconds (for a job not sent again, its creation counts).

    Returns
    -------
    list of str
        Oldest job first.
    """
    cutoff = utc_now() - timedelta(seconds=older_than_s)
    with database.session() as session:
        return list(session.scalars(
            select(Job.id).where(_unsent_since(cutoff)).order_by(Job.created_at)).all())


def mark_sent(database: Database, job_id: str, older_than_s: float | None = None) -> bool:
    """Record that the message of queued job ``job_id`` is sent again now.

    Parameters
    ----------
    database : Database
        The service database.
    job_id : str
        The queued job.
    older_than_s : float, optional
        Only if its message was last sent over this many seconds ago; of several API
        processes sweeping at once, one sends it.

    Returns
    -------
    bool
        Whether the caller should send the job (it is queued and was not sent recently).
    """
    condition = Job.state == "queued"
    if older_than_s is not None:
        condition = _unsent_since(utc_now() - timedelta(seconds=older_than_s))
    with database.session() as session:
        return bool(session.execute(
            update(Job).where(Job.id == job_id, condition).values(heartbeat_at=utc_now())
            .execution_options(synchronize_session=False)
        ).rowcount)
