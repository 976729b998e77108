"""The database claim that makes at-least-once delivery run a job exactly once.

No broker needed: claims, leases, take-over, exhaustion and the sweep are exercised
on SQLite directly (the API's queue uses Celery's in-memory transport here).
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from api.config import Settings
from api.db import Database
from api.jobs.celery_app import execute_job
from api.jobs.claims import (EXHAUSTED_REASON, Claim, Holder, abandoned_jobs, claim_job,
                             fail_exhausted, mark_sent, renew_claim, requeue_abandoned,
                             unsent_jobs)
from api.jobs.queue import CeleryQueue
from api.jobs.runner import discard_run_files
from api.migrations import upgrade
from api.models import Image, Job, Patient, Plan, utc_now
from api.storage import Storage
import deploy_fakes

LEASE_S = 30.0


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", broker_url="memory://",
                    plan_function="deploy_fakes:quick_plan", job_lease_s=LEASE_S,
                    broker_visibility_timeout_s=60)


@pytest.fixture
def database(settings):
    settings.data_dir.mkdir(parents=True)
    upgrade(settings.resolved_database_url)
    database = Database(settings.resolved_database_url)
    yield database
    database.dispose()


@pytest.fixture
def job_id(database, settings) -> str:
    head = settings.data_dir / "images" / "head.nii.gz"
    head.parent.mkdir(parents=True)
    head.write_bytes(b"not read by the fake plan function")
    with database.session() as session:
        patient = Patient(external_id="MRN-1", created_by="test")
        session.add(patient)
        session.flush()
        image = Image(patient_id=patient.id, stored_path="images/head.nii.gz",
                      upload_sha256="0" * 64, sha256="0" * 64, size_bytes=1,
                      format="nifti", info={}, created_by="test")
        session.add(image)
        session.flush()
        job = Job(image_id=image.id, options={"strategy": "fox2012"}, state="queued",
                  attempts=0, created_by="test")
        session.add(job)
        session.flush()
        return job.id


def _job(database, job_id) -> Job:
    with database.session() as session:
        return session.get(Job, job_id)


def _age_lease(database, job_id, seconds: float) -> None:
    """Pretend the claimant's last renewal (or the last sending of a queued job) was
    ``seconds`` ago."""
    with database.session() as session:
        session.execute(update(Job).where(Job.id == job_id)
                        .values(heartbeat_at=utc_now() - timedelta(seconds=seconds)))


def _files(folder: Path) -> dict[str, bytes]:
    """The files of ``folder`` and their bytes."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_first_claim_runs_a_second_delivery_waits(database, job_id):
    assert claim_job(database, job_id, "w1@a/1", LEASE_S) == \
        (Claim.CLAIMED, Holder(job_id, "w1@a/1", 1))
    job = _job(database, job_id)
    assert (job.state, job.attempts, job.claimed_by) == ("running", 1, "w1@a/1")
    assert claim_job(database, job_id, "w2@b/2", LEASE_S) == (Claim.BUSY, None)
    assert _job(database, job_id).attempts == 1


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
    assert _job(database, job_id).attempts == 1


def test_dead_worker_is_taken_over_once_then_the_job_fails(database, job_id):
    claim, first = claim_job(database, job_id, "w1@a/1", LEASE_S)
    assert claim is Claim.CLAIMED
    assert renew_claim(database, first)
    assert not renew_claim(database, Holder(job_id, "w2@b/2", 1)), "only the claimant renews"
    _age_lease(database, job_id, LEASE_S + 1)
    claim, second = claim_job(database, job_id, "w2@b/2", LEASE_S)
    assert claim is Claim.CLAIMED and second == Holder(job_id, "w2@b/2", 2)
    job = _job(database, job_id)
    assert (job.attempts, job.claimed_by) == (2, "w2@b/2")
    assert not renew_claim(database, first), "the dead worker lost its claim"
    _age_lease(database, job_id, LEASE_S + 1)
    assert claim_job(database, job_id, "w3@c/3", LEASE_S)[0] is Claim.EXHAUSTED
    assert fail_exhausted(database, job_id, LEASE_S)
    job = _job(database, job_id)
    assert (job.state, job.attempts, job.reason) == ("failed", 2, EXHAUSTED_REASON)
    assert job.finished_at is not None
    assert claim_job(database, job_id, "w3@c/3", LEASE_S)[0] is Claim.FINISHED


def test_live_claim_is_not_failed(database, job_id):
    claim_job(database, job_id, "w1@a/1", LEASE_S)
    _age_lease(database, job_id, LEASE_S + 1)
    claim_job(database, job_id, "w2@b/2", LEASE_S)
    assert not fail_exhausted(database, job_id, LEASE_S), "w2 still renews its lease"
    assert _job(database, job_id).state == "running"


def test_missing_job(database):
    assert claim_job(database, "no-such-job", "w1@a/1", LEASE_S) == (Claim.MISSING, None)


def test_execute_runs_the_job_function_once(database, job_id, settings):
    assert execute_job(job_id, settings, "w1@a/1") is Claim.CLAIMED
    job = _job(database, job_id)
    assert (job.state, job.attempts, job.stage) == ("succeeded", 1, None)
    assert execute_job(job_id, settings, "w2@b/2") is Claim.FINISHED, "a redelivery"
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Plan)) == 1
        assert session.get(Plan, job.plan_id).job_id == job_id


def test_a_delivery_of_a_job_whose_workers_died_too_often_fails_it(database, job_id, settings):
    """The second worker to take the job died too (its lease ran out): the next delivery
    runs nothing, fails the job with the reason and deletes both attempts' files."""
    for attempt, owner in ((1, "w1@a/1"), (2, "w2@b/2")):
        assert claim_job(database, job_id, owner, LEASE_S)[0] is Claim.CLAIMED
        (Storage(settings.data_dir).run_dir(job_id, attempt) / "transforms.h5").write_bytes(b"x")
        _age_lease(database, job_id, LEASE_S + 1)
    assert execute_job(job_id, settings, "w3@c/3") is Claim.EXHAUSTED
    job = _job(database, job_id)
    assert (job.state, job.attempts, job.reason) == ("failed", 2, EXHAUSTED_REASON)
    assert Storage(settings.data_dir).job_dirs(job_id) == []


@pytest.mark.parametrize("function", ["deploy_fakes:failing_plan",
                                      "deploy_fakes:no_such_function"])
def test_execute_records_a_failure_with_its_reason(database, job_id, settings, function):
    bad = settings.model_copy(update={"plan_function": function})
    assert execute_job(job_id, bad, "w1@a/1") is Claim.CLAIMED
    job = _job(database, job_id)
    assert job.state == "failed" and job.reason.startswith("internal error (")
    assert execute_job(job_id, bad, "w2@b/2") is Claim.FINISHED, "not run again"


def test_sweep_resends_lost_jobs_and_fails_exhausted_ones(database, job_id, settings):
    queue = CeleryQueue(settings, database)
    overdue = settings.broker_visibility_timeout_s + 2 * LEASE_S + 1
    try:
        claim_job(database, job_id, "w1@a/1", LEASE_S)
        _age_lease(database, job_id, LEASE_S + 1)
        assert queue.sweep() == 0, "the broker redelivers first (visibility timeout)"
        _age_lease(database, job_id, settings.broker_visibility_timeout_s + 1)
        assert queue.sweep() == 0, "a redelivered message's claim gets its lease's time"
        _age_lease(database, job_id, overdue)
        assert queue.sweep() == 1
        job = _job(database, job_id)
        assert (job.state, job.attempts) == ("queued", 1)
        with queue.celery.connection_for_read() as connection:
            message = connection.SimpleQueue(settings.queue).get(timeout=1)
            assert message.payload == [[job_id], {}, {"callbacks": None, "errbacks": None,
                                                       "chain": None, "chord": None}]
        claim_job(database, job_id, "w2@b/2", LEASE_S)
        _age_lease(database, job_id, overdue)
        assert queue.sweep() == 0
        job = _job(database, job_id)
        assert (job.state, job.reason) == ("failed", EXHAUSTED_REASON)
    finally:
        queue.stop()


def test_lease_is_renewed_while_the_job_holds_the_gil(database, job_id, settings):
    quick_lease = settings.model_copy(update={"plan_function": "deploy_fakes:gil_holding_plan",
                                              "job_lease_s": 1.5})
    assert execute_job(job_id, quick_lease, "w1@a/1") is Claim.CLAIMED
    job = _job(database, job_id)
    assert job.state == "succeeded"
    assert (job.heartbeat_at - job.started_at).total_seconds() >= 2.0, \
        "renewed during the 3 s the job held the GIL"


def test_run_that_lost_its_claim_changes_nothing(database, job_id, settings):
    """Worker 1 stalls mid-job; its lease runs out and worker 2 takes the job over and
    stores its plan. When worker 1 resumes, it stops at its next stage (it computed on to
    the end before), stores nothing, the stored plan's files stay worker 2's, and worker
    1 leaves no files behind."""
    deploy_fakes.GATE.clear()
    deploy_fakes.AT_GATE.clear()
    deploy_fakes.PAST_GATE.clear()
    stalled = settings.model_copy(update={"plan_function": "deploy_fakes:gated_plan",
                                          "job_lease_s": 3600.0})  # no renewal during the test
    first = threading.Thread(target=execute_job, args=(job_id, stalled, "w1@a/1"))
    first.start()
    try:
        assert deploy_fakes.AT_GATE.wait(60), "worker 1 never started the job"
        _age_lease(database, job_id, LEASE_S + 1)  # its renewals stopped arriving
        assert execute_job(job_id, settings, "w2@b/2") is Claim.CLAIMED
        job = _job(database, job_id)
        assert (job.state, job.attempts, job.claimed_by) == ("succeeded", 2, "w2@b/2")
        with database.session() as session:
            folder = Storage(settings.data_dir).absolute(session.get(Plan, job.plan_id).result_dir)
        stored = _files(folder)
        assert json.loads(stored["plan.json"])["plan_id"] == job.plan_id
    finally:
        deploy_fakes.GATE.set()
        first.join()
    assert not deploy_fakes.PAST_GATE.is_set(), "worker 1 went on computing without its claim"
    assert _files(folder) == stored, "worker 1 changed the stored plan's files"
    after = _job(database, job_id)
    assert (after.state, after.plan_id, after.finished_at) == ("succeeded", job.plan_id,
                                                               job.finished_at)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Plan)) == 1
    assert Storage(settings.data_dir).job_dirs(job_id) == [folder], "worker 1's files are left"


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
        assert _job(database, job_id).state == "queued"
        assert queue.sweep() == 0, "sent again once, not at every sweep"
        _age_lease(database, job_id, timeout + 1)
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
        assert _job(database, job_id).attempts == 1
    finally:
        queue.stop()


@pytest.mark.parametrize("function", ["deploy_fakes:gated_to_the_end_plan",
                                      "deploy_fakes:gated_then_failing_plan"])
def test_run_that_lost_its_claim_in_its_last_stage_changes_nothing(database, job_id, settings,
                                                                   function):
    """Worker 1 loses its claim while in its last stage (no stage check follows) and then
    returns a plan, or fails: worker 2's stored plan and outcome stand, worker 1 stores
    no second plan, and its own folder, written after worker 2 finished, goes."""
    deploy_fakes.GATE.clear()
    deploy_fakes.AT_GATE.clear()
    deploy_fakes.PAST_GATE.clear()
    stalled = settings.model_copy(update={"plan_function": function, "job_lease_s": 3600.0})
    first = threading.Thread(target=execute_job, args=(job_id, stalled, "w1@a/1"))
    first.start()
    try:
        assert deploy_fakes.AT_GATE.wait(60), "worker 1 never started the job"
        _age_lease(database, job_id, LEASE_S + 1)
        assert execute_job(job_id, settings, "w2@b/2") is Claim.CLAIMED
        job = _job(database, job_id)
        assert (job.state, job.attempts, job.claimed_by) == ("succeeded", 2, "w2@b/2")
    finally:
        deploy_fakes.GATE.set()
        first.join()
    assert deploy_fakes.PAST_GATE.is_set(), "worker 1 ran to its end"
    after = _job(database, job_id)
    assert (after.state, after.plan_id, after.reason, after.finished_at) == \
        ("succeeded", job.plan_id, None, job.finished_at)
    with database.session() as session:
        assert session.scalars(select(Plan.id)).all() == [job.plan_id]
        kept = Storage(settings.data_dir).absolute(session.get(Plan, job.plan_id).result_dir)
    assert Storage(settings.data_dir).job_dirs(job_id) == [kept], "worker 1's folder is left"


@pytest.mark.parametrize("function,state,left", [("deploy_fakes:quick_plan", "succeeded", 1),
                                                 ("deploy_fakes:failing_plan", "failed", 0)])
def test_an_ended_job_leaves_no_folder_of_a_killed_attempt(database, job_id, settings,
                                                           function, state, left):
    """A worker killed mid-job (no clean-up ran) left its attempt's files; once the job
    ends on the next attempt, whether it succeeded or failed, they are gone, and only a
    stored plan's folder stays."""
    claim_job(database, job_id, "w1@a/1", LEASE_S)
    killed = Storage(settings.data_dir).run_dir(job_id, 1)
    (killed / "transforms.h5").write_bytes(b"the patient's partial transform")
    _age_lease(database, job_id, LEASE_S + 1)
    run = settings.model_copy(update={"plan_function": function})
    assert execute_job(job_id, run, "w2@b/2") is Claim.CLAIMED
    job = _job(database, job_id)
    assert (job.state, job.attempts) == (state, 2)
    folders = Storage(settings.data_dir).job_dirs(job_id)
    assert len(folders) == left and killed not in folders
    if left:
        with database.session() as session:
            assert folders == [Storage(settings.data_dir).absolute(
                session.get(Plan, job.plan_id).result_dir)]


def test_files_are_kept_when_the_database_cannot_say_whether_a_plan_holds_them(settings):
    """Before deleting a run's folder the runner asks whether a stored plan holds it; a
    database that cannot answer keeps the files rather than risk a stored plan's."""
    folder = Storage(settings.data_dir).run_dir("job-1", 1)
    (folder / "plan.json").write_text("{}")
    unreachable = Database(f"sqlite:///{settings.data_dir / 'no-such-folder' / 'navsvc.db'}")
    try:
        discard_run_files(unreachable, settings, Holder("job-1", "w1@a/1", 1))
    finally:
        unreachable.dispose()
    assert (folder / "plan.json").read_text() == "{}"


def test_requeue_takes_only_a_running_job_without_a_live_claim(database, job_id):
    """The sweep lists abandoned jobs, then re-queues each: a claim renewed in between
    (the worker was slow, not dead) keeps its job."""
    claim_job(database, job_id, "w1@a/1", LEASE_S)
    assert abandoned_jobs(database, LEASE_S) == []
    assert not requeue_abandoned(database, job_id, LEASE_S), "its worker renews it"
    _age_lease(database, job_id, LEASE_S + 1)
    assert abandoned_jobs(database, LEASE_S) == [job_id]
    assert requeue_abandoned(database, job_id, LEASE_S)
    job = _job(database, job_id)
    assert (job.state, job.attempts, job.stage, job.started_at) == ("queued", 1, None, None)
    assert not requeue_abandoned(database, job_id, LEASE_S), "queued, not running"


def test_a_queued_job_is_sent_again_once_a_timeout_after_its_last_sending(database, job_id):
    """unsent_jobs and mark_sent agree: a job sent (or made) within the timeout is neither
    listed nor sent again; once the timeout passed it is both, and the sending is
    recorded so that a second sweep sends nothing."""
    assert unsent_jobs(database, LEASE_S) == []
    assert not mark_sent(database, job_id, LEASE_S), "made just now: its first message is fresh"
    _age_lease(database, job_id, LEASE_S + 1)
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
    job = _job(database, job_id)
    assert (job.state, job.reason) == (("failed", EXHAUSTED_REASON) if failed else ("queued", None))


def test_starting_the_queue_sends_the_jobs_queued_before(database, job_id, settings):
    """Jobs queued while the broker was down, or under the embedded worker, are sent when
    the API's queue starts, and the sending is recorded (the sweep does not send them
    again at once); a running job is not sent."""
    settings = settings.model_copy(update={"queue": f"test-{uuid.uuid4().hex[:8]}"})
    timeout = settings.broker_visibility_timeout_s
    queued = _job(database, job_id)
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
    _age_lease(database, job_id, timeout + 1)
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
