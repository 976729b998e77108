"""The database claim that makes at-least-once delivery run a job exactly once.

No broker needed: claims, leases, take-over, exhaustion and the sweep are exercised
on SQLite directly (the API's queue uses Celery's in-memory transport here). What a
worker does with a claimed job: test_job_runs.py.
"""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from job_helpers import LEASE_S, age_lease, job_row
from sqlalchemy import update

from api.jobs.celery_app import execute_job
from api.jobs.claims import (EXHAUSTED_REASON, Claim, Holder, abandoned_jobs, claim_job,
                             fail_exhausted, mark_sent, renew_claim, requeue_abandoned,
                             unsent_jobs)
from api.jobs.queue import CeleryQueue
from api.models import Job, utc_now


def test_first_claim_runs_a_second_delivery_waits(database, job_id):
    assert claim_job(database, job_id, "w1@a/1", LEASE_S) == \
        (Claim.CLAIMED, Holder(job_id, "w1@a/1", 1))
    job = job_row(database, job_id)
    assert (job.state, job.attempts, job.claimed_by) == ("running", 1, "w1@a/1")
    assert claim_job(database, job_id, "w2@b/2", LEASE_S) == (Claim.BUSY, None)
    assert job_row(database, job_id).attempts == 1


def test_concurrent_deliveries_claim_once(database, job_id):
    outcomes, barrier = [], threading.Barrier(8)

    def deliver(n: int) -> None:
        barrier.wait()
        outcomes.append(claim_job(database, job_id, f"w{n}@host/{n}", LEASE_S)[0])

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(Claim.CLAIMED) == 1
    assert outcomes.count(Claim.BUSY) == 7
    assert job_row(database, job_id).attempts == 1


def test_dead_worker_is_taken_over_once_then_the_job_fails(database, job_id):
    claim, first = claim_job(database, job_id, "w1@a/1", LEASE_S)
    assert claim is Claim.CLAIMED
    assert renew_claim(database, first)
    assert not renew_claim(database, Holder(job_id, "w2@b/2", 1)), "only the claimant renews"
    age_lease(database, job_id, LEASE_S + 1)
    claim, second = claim_job(database, job_id, "w2@b/2", LEASE_S)
    assert claim is Claim.CLAIMED and second == Holder(job_id, "w2@b/2", 2)
    job = job_row(database, job_id)
    assert (job.attempts, job.claimed_by) == (2, "w2@b/2")
    assert not renew_claim(database, first), "the dead worker lost its claim"
    age_lease(database, job_id, LEASE_S + 1)
    assert claim_job(database, job_id, "w3@c/3", LEASE_S)[0] is Claim.EXHAUSTED
    assert fail_exhausted(database, job_id, LEASE_S)
    job = job_row(database, job_id)
    assert (job.state, job.attempts, job.reason) == ("failed", 2, EXHAUSTED_REASON)
    assert job.finished_at is not None
    assert claim_job(database, job_id, "w3@c/3", LEASE_S)[0] is Claim.FINISHED


def test_live_claim_is_not_failed(database, job_id):
    claim_job(database, job_id, "w1@a/1", LEASE_S)
    age_lease(database, job_id, LEASE_S + 1)
    claim_job(database, job_id, "w2@b/2", LEASE_S)
    assert not fail_exhausted(database, job_id, LEASE_S), "w2 still renews its lease"
    assert job_row(database, job_id).state == "running"


def test_missing_job(database):
    assert claim_job(database, "no-such-job", "w1@a/1", LEASE_S) == (Claim.MISSING, None)


def test_sweep_resends_lost_jobs_and_fails_exhausted_ones(database, job_id, settings):
    queue = CeleryQueue(settings, database)
    overdue = settings.broker_visibility_timeout_s + 2 * LEASE_S + 1
    try:
        claim_job(database, job_id, "w1@a/1", LEASE_S)
        age_lease(database, job_id, LEASE_S + 1)
        assert queue.sweep() == 0, "the broker redelivers first (visibility timeout)"
        age_lease(database, job_id, settings.broker_visibility_timeout_s + 1)
        assert queue.sweep() == 0, "a redelivered message's claim gets its lease's time"
        age_lease(database, job_id, overdue)
        assert queue.sweep() == 1
        job = job_row(database, job_id)
        assert (job.state, job.attempts) == ("queued", 1)
        with queue.celery.connection_for_read() as connection:
            message = connection.SimpleQueue(settings.queue).get(timeout=1)
            assert message.payload == [[job_id], {}, {"callbacks": None, "errbacks": None,
                                                       "chain": None, "chord": None}]
        claim_job(database, job_id, "w2@b/2", LEASE_S)
        age_lease(database, job_id, overdue)
        assert queue.sweep() == 0
        job = job_row(database, job_id)
        assert (job.state, job.reason) == ("failed", EXHAUSTED_REASON)
    finally:
        queue.stop()


def test_sweep_resends_a_queued_job_whose_message_was_lost_once(database, job_id, settings):
    """A queued job whose message was lost (the broker restarted without its data) is
    sent again after the visibility timeout, once; not while messages wait in the
    queue, one of which may be its own; two deliveries run it once."""
    settings = settings.model_copy(update={"queue": f"test-{uuid.uuid4().hex[:8]}"})
    queue = CeleryQueue(settings, database)
    timeout = settings.broker_visibility_timeout_s
    try:
        assert queue.sweep() == 0, "sent when it was made"
        with database.session() as session:
            session.execute(update(Job).where(Job.id == job_id)
                            .values(created_at=utc_now() - timedelta(seconds=timeout + 1)))
        assert queue.sweep() == 1
        assert job_row(database, job_id).state == "queued"
        assert queue.sweep() == 0, "sent again once, not at every sweep"
        age_lease(database, job_id, timeout + 1)
        assert queue.waiting_messages() == 1
        assert queue.sweep() == 0, "its message may be the one waiting in the queue"
        with queue.celery.connection_for_read() as connection:
            message = connection.SimpleQueue(settings.queue).get(timeout=1)
            assert message.payload[0] == [job_id]
            message.ack()
        assert queue.waiting_messages() == 0
        assert queue.sweep() == 1, "the queue drained and the job is still queued"
        assert execute_job(job_id, settings, "w1@a/1") is Claim.CLAIMED
        assert execute_job(job_id, settings, "w2@b/2") is Claim.FINISHED, "the duplicate"
        assert job_row(database, job_id).attempts == 1
    finally:
        queue.stop()


def test_requeue_takes_only_a_running_job_without_a_live_claim(database, job_id):
    """The sweep lists abandoned jobs, then re-queues each: a claim renewed in between
    (the worker was slow, not dead) keeps its job."""
    claim_job(database, job_id, "w1@a/1", LEASE_S)
    assert abandoned_jobs(database, LEASE_S) == []
    assert not requeue_abandoned(database, job_id, LEASE_S), "its worker renews it"
    age_lease(database, job_id, LEASE_S + 1)
    assert abandoned_jobs(database, LEASE_S) == [job_id]
    assert requeue_abandoned(database, job_id, LEASE_S)
    job = job_row(database, job_id)
    assert (job.state, job.attempts, job.stage, job.started_at) == ("queued", 1, None, None)
    assert not requeue_abandoned(database, job_id, LEASE_S), "queued, not running"


def test_a_queued_job_is_sent_again_once_a_timeout_after_its_last_sending(database, job_id):
    """unsent_jobs and mark_sent agree: a job sent (or made) within the timeout is neither
    listed nor sent again; once the timeout passed it is both, and the sending is
    recorded so that a second sweep sends nothing."""
    assert unsent_jobs(database, LEASE_S) == []
    assert not mark_sent(database, job_id, LEASE_S), "made just now: its first message is fresh"
    age_lease(database, job_id, LEASE_S + 1)
    assert unsent_jobs(database, LEASE_S) == [job_id]
    assert mark_sent(database, job_id, LEASE_S)
    assert unsent_jobs(database, LEASE_S) == []
    assert not mark_sent(database, job_id, LEASE_S)
    assert mark_sent(database, job_id), "without a timeout, a queued job is always sent"
    claim_job(database, job_id, "w1@a/1", LEASE_S)
    assert not mark_sent(database, job_id), "a running job is not sent"


@pytest.mark.parametrize("attempts,failed", [(1, False), (2, True)])
def test_a_queued_job_out_of_attempts_is_failed_at_once(database, job_id, attempts, failed):
    with database.session() as session:
        session.execute(update(Job).where(Job.id == job_id).values(attempts=attempts))
    assert fail_exhausted(database, job_id, LEASE_S) is failed
    job = job_row(database, job_id)
    assert (job.state, job.reason) == (("failed", EXHAUSTED_REASON) if failed else ("queued", None))


def test_starting_the_queue_sends_the_jobs_queued_before(database, job_id, settings):
    """Jobs queued while the broker was down, or under the embedded worker, are sent when
    the API's queue starts, and the sending is recorded (the sweep does not send them
    again at once); a running job is not sent."""
    settings = settings.model_copy(update={"queue": f"test-{uuid.uuid4().hex[:8]}"})
    timeout = settings.broker_visibility_timeout_s
    queued = job_row(database, job_id)
    with database.session() as session:
        session.add(Job(image_id=queued.image_id, options={}, state="running", attempts=1,
                        created_by="test"))
        session.execute(update(Job).where(Job.id == job_id)
                        .values(created_at=utc_now() - timedelta(seconds=timeout + 1)))
    queue = CeleryQueue(settings, database)
    try:
        queue.start()
        with queue.celery.connection_for_read() as connection:
            message = connection.SimpleQueue(settings.queue).get(timeout=1)
            assert message.payload[0] == [job_id]
            message.ack()
        assert queue.waiting_messages() == 0
        assert unsent_jobs(database, timeout) == []
    finally:
        queue.stop()


def test_a_job_another_api_process_just_sent_is_not_sent_again(database, job_id, settings,
                                                               monkeypatch):
    """Two API processes sweep at once and both read the job as unsent; the one that
    records the sending first sends it, the other sends nothing."""
    settings = settings.model_copy(update={"queue": f"test-{uuid.uuid4().hex[:8]}"})
    timeout = settings.broker_visibility_timeout_s
    age_lease(database, job_id, timeout + 1)
    listed = unsent_jobs(database, timeout)
    assert listed == [job_id]
    assert mark_sent(database, job_id, timeout), "the other process's sweep"
    monkeypatch.setattr("api.jobs.queue.unsent_jobs", lambda *_: listed)  # read before it
    queue = CeleryQueue(settings, database)
    try:
        assert queue.sweep() == 0
        assert queue.waiting_messages() == 0
    finally:
        queue.stop()
