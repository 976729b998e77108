"""A job run by a queue worker (``execute_job``): run once, failed with its reason, its
lease renewed, and a run that lost its claim storing nothing and leaving no files.

No broker needed: the worker's function is called directly on SQLite, with the fake plan
functions of :mod:`deploy_fakes` (the claims themselves: test_job_claims.py).
"""

from __future__ import annotations

import json

import pytest
from job_helpers import LEASE_S, age_lease, first_worker_stalled, folder_files, job_row
from sqlalchemy import func, select

from api.db import Database
from api.jobs.celery_app import execute_job
from api.jobs.claims import EXHAUSTED_REASON, Claim, Holder, claim_job
from api.jobs.runner import discard_run_files
from api.models import Plan
from api.storage import Storage
import deploy_fakes


def test_execute_runs_the_job_function_once(database, job_id, settings):
    assert execute_job(job_id, settings, "w1@a/1") is Claim.CLAIMED
    job = job_row(database, job_id)
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
        age_lease(database, job_id, LEASE_S + 1)
    assert execute_job(job_id, settings, "w3@c/3") is Claim.EXHAUSTED
    job = job_row(database, job_id)
    assert (job.state, job.attempts, job.reason) == ("failed", 2, EXHAUSTED_REASON)
    assert Storage(settings.data_dir).job_dirs(job_id) == []


@pytest.mark.parametrize("function", ["deploy_fakes:failing_plan",
                                      "deploy_fakes:no_such_function"])
def test_execute_records_a_failure_with_its_reason(database, job_id, settings, function):
    bad = settings.model_copy(update={"plan_function": function})
    assert execute_job(job_id, bad, "w1@a/1") is Claim.CLAIMED
    job = job_row(database, job_id)
    assert job.state == "failed" and job.reason.startswith("internal error (")
    assert execute_job(job_id, bad, "w2@b/2") is Claim.FINISHED, "not run again"


def test_lease_is_renewed_while_the_job_holds_the_gil(database, job_id, settings):
    quick_lease = settings.model_copy(update={"plan_function": "deploy_fakes:gil_holding_plan",
                                              "job_lease_s": 1.5})
    assert execute_job(job_id, quick_lease, "w1@a/1") is Claim.CLAIMED
    job = job_row(database, job_id)
    assert job.state == "succeeded"
    assert (job.heartbeat_at - job.started_at).total_seconds() >= 2.0, \
        "renewed during the 3 s the job held the GIL"


def test_run_that_lost_its_claim_changes_nothing(database, job_id, settings):
    """Worker 1 stalls mid-job; its lease runs out and worker 2 takes the job over and
    stores its plan. When worker 1 resumes, it stops at its next stage (it computed on to
    the end before), stores nothing, the stored plan's files stay worker 2's, and worker
    1 leaves no files behind."""
    with first_worker_stalled(job_id, settings, "deploy_fakes:gated_plan"):
        age_lease(database, job_id, LEASE_S + 1)  # its renewals stopped arriving
        assert execute_job(job_id, settings, "w2@b/2") is Claim.CLAIMED
        job = job_row(database, job_id)
        assert (job.state, job.attempts, job.claimed_by) == ("succeeded", 2, "w2@b/2")
        with database.session() as session:
            folder = Storage(settings.data_dir).absolute(session.get(Plan, job.plan_id).result_dir)
        stored = folder_files(folder)
        assert json.loads(stored["plan.json"])["plan_id"] == job.plan_id
    assert not deploy_fakes.PAST_GATE.is_set(), "worker 1 went on computing without its claim"
    assert folder_files(folder) == stored, "worker 1 changed the stored plan's files"
    after = job_row(database, job_id)
    assert (after.state, after.plan_id, after.finished_at) == ("succeeded", job.plan_id,
                                                               job.finished_at)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Plan)) == 1
    assert Storage(settings.data_dir).job_dirs(job_id) == [folder], "worker 1's files are left"


@pytest.mark.parametrize("function", ["deploy_fakes:gated_to_the_end_plan",
                                      "deploy_fakes:gated_then_failing_plan"])
def test_run_that_lost_its_claim_in_its_last_stage_changes_nothing(database, job_id, settings,
                                                                   function):
    """Worker 1 loses its claim while in its last stage (no stage check follows) and then
    returns a plan, or fails: worker 2's stored plan and outcome stand, worker 1 stores
    no second plan, and its own folder, written after worker 2 finished, goes."""
    with first_worker_stalled(job_id, settings, function):
        age_lease(database, job_id, LEASE_S + 1)
        assert execute_job(job_id, settings, "w2@b/2") is Claim.CLAIMED
        job = job_row(database, job_id)
        assert (job.state, job.attempts, job.claimed_by) == ("succeeded", 2, "w2@b/2")
    assert deploy_fakes.PAST_GATE.is_set(), "worker 1 ran to its end"
    after = job_row(database, job_id)
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
    age_lease(database, job_id, LEASE_S + 1)
    run = settings.model_copy(update={"plan_function": function})
    assert execute_job(job_id, run, "w2@b/2") is Claim.CLAIMED
    job = job_row(database, job_id)
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
