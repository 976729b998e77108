"""Targeting jobs through the embedded worker (real child processes, fake plan functions)."""

from __future__ import annotations

import errno
import logging
import multiprocessing
import os
import signal
import time
import uuid

import pytest
from api_test_helpers import another_patients_image
from fastapi.testclient import TestClient

from api.app import create_app
from api.db import make_engine
from api.jobs.embedded import HEARTBEAT_MIN_STALE_S, process_end_words, recover_interrupted_jobs
from api.models import Job, utc_now
from api.storage import Storage

POLL_TIMEOUT_S = 60


def wait_for_job(client, headers, job_id: str, states=("succeeded", "failed")) -> dict:
    """Poll a job until it reaches one of ``states``."""
    deadline = time.monotonic() + POLL_TIMEOUT_S
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
        if job["state"] in states:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} stuck in {job['state']}")


@pytest.fixture
def worker_client(settings):
    """Build a started client whose embedded worker uses ``plan_function``."""
    started = []

    def start(plan_function: str = "api_test_fakes:fake_make_plan", **updates):
        app = create_app(settings.model_copy(update={"embedded_worker": True,
                                                     "plan_function": plan_function, **updates}))
        client = TestClient(app)
        client.__enter__()
        started.append(client)
        return app, client

    yield start
    for client in started:
        client.__exit__(None, None, None)


def submit(client, headers, image_id: str, body=None) -> dict:
    response = client.post(f"/api/v1/images/{image_id}/plans", headers=headers,
                           json=body if body is not None else {"strategy": "fox2012"})
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"/api/v1/jobs/{job['id']}"
    return job


def test_job_succeeds_and_links_plan(image, auth, worker_client):
    _, client = worker_client()
    job = submit(client, auth["technician"], image["id"], {"mni_mm": [-40, 40, 30]})
    assert job["state"] == "queued" and job["plan_id"] is None
    done = wait_for_job(client, auth["technician"], job["id"])
    assert done["state"] == "succeeded", done
    assert done["attempts"] == 1 and done["started_at"] and done["finished_at"]
    assert done["links"]["plan"] == f"/api/v1/plans/{done['plan_id']}"
    plan = client.get(done["links"]["plan"], headers=auth["clinician"]).json()
    assert plan["plan"]["options"]["mni_mm"] == [-40.0, 40.0, 30.0]
    assert plan["job_id"] == job["id"] and plan["approval"] is None


@pytest.mark.parametrize("function,reason", [
    ("api_test_fakes:fake_input_error", "does not contain a whole head"),
    ("api_test_fakes:fake_bug", "internal error (ZeroDivisionError)"),
    ("api_test_fakes:fake_crash", "ended unexpectedly (exit code 3)"),
    ("api_test_fakes:fake_killed", "was killed by SIGKILL (exit code -9): most often the machine ran out of memory"),
])
def test_failed_jobs_carry_a_reason_and_leave_no_files(image, auth, worker_client, function, reason):
    app, client = worker_client(function)
    job = submit(client, auth["clinician"], image["id"])
    done = wait_for_job(client, auth["clinician"], job["id"])
    assert done["state"] == "failed" and reason in done["reason"], done
    assert done["plan_id"] is None
    # the partial outputs (the patient's transforms) went with the failed job
    deadline = time.monotonic() + POLL_TIMEOUT_S  # a crash is cleaned up by the worker thread
    storage = Storage(app.state.settings.data_dir)
    while (folders := storage.job_dirs(job["id"])) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not folders
    assert client.get("/readyz").json()["checks"] == {"database": "ok", "worker": "ok"}


@pytest.mark.parametrize("exitcode,words", [
    (3, "ended unexpectedly (exit code 3)"),
    (-signal.SIGSEGV, "was killed by SIGSEGV (exit code -11)"),
    (-200, "was killed by signal 200 (exit code -200)"),
])
def test_a_process_ended_by_a_signal_other_than_sigkill_is_named_without_the_memory_advice(exitcode, words):
    assert process_end_words(exitcode) == words


def test_a_killed_process_points_at_memory():
    words = process_end_words(-signal.SIGKILL)
    assert words.startswith("was killed by SIGKILL (exit code -9): most often the machine ran out of memory")
    assert "docs/deployment.md" in words


def wait_for_log(caplog, text: str) -> None:
    """Poll the captured log records until one contains ``text``."""
    deadline = time.monotonic() + POLL_TIMEOUT_S
    while not any(text in record.getMessage() for record in caplog.records):
        assert time.monotonic() < deadline, f"never logged: {text}"
        time.sleep(0.05)


def test_crash_after_the_plan_was_stored_keeps_its_files(image, auth, worker_client, caplog):
    """The job process dies after its plan was committed: the job stays succeeded and
    the plan keeps its report, so it can be reviewed and approved."""
    app, client = worker_client("api_test_fakes:fake_crash_at_exit")
    job = submit(client, auth["clinician"], image["id"])
    done = wait_for_job(client, auth["clinician"], job["id"])
    assert done["state"] == "succeeded", done
    wait_for_log(caplog, f"job {job['id']} process exited with code")  # reaped
    done = client.get(f"/api/v1/jobs/{job['id']}", headers=auth["clinician"]).json()
    assert done["state"] == "succeeded" and done["reason"] is None
    plan_url = f"/api/v1/plans/{done['plan_id']}"
    assert client.get(f"{plan_url}/report", headers=auth["clinician"]).status_code == 200
    approved = client.post(f"{plan_url}/approval", headers=auth["clinician"], json={})
    assert approved.status_code == 201, approved.text


class _UnstartableContext:
    """A ``spawn`` context whose first ``failures`` processes cannot be made (as when
    the machine is out of memory or process slots)."""

    def __init__(self, failures: int) -> None:
        self.failures = failures

    def Process(self, **kwargs):
        if self.failures:
            self.failures -= 1
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
        return multiprocessing.get_context("spawn").Process(**kwargs)


@pytest.mark.parametrize("failures,state", [(1, "succeeded"), (2, "failed")])
def test_job_whose_process_cannot_start_is_requeued_at_once(image, auth, worker_client,
                                                             failures, state):
    """A claimed job whose process fails to start goes back to the queue (no restart
    needed); after its last attempt it fails with the reason."""
    app, client = worker_client(standby_process=False)  # a standby would take the job
    app.state.worker._context = _UnstartableContext(failures)
    job = submit(client, auth["technician"], image["id"])
    done = wait_for_job(client, auth["technician"], job["id"])
    assert (done["state"], done["attempts"]) == (state, 2), done
    if state == "failed":
        assert "could not be started (BlockingIOError" in done["reason"] and done["plan_id"] is None
    assert client.get("/readyz").json()["checks"] == {"database": "ok", "worker": "ok"}


def _waiting_standby(app, timeout_s: float = POLL_TIMEOUT_S):
    """The worker's standby process, once it has one."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        standby = app.state.worker.standby
        if standby is not None:
            return standby
        time.sleep(0.05)
    raise AssertionError("the idle worker started no standby process")


def test_idle_worker_hands_the_next_job_to_its_standby_process(image, auth, worker_client, caplog):
    """The job runs in the process the idle worker started ahead; once idle again, the
    worker starts a new one (each process runs one job)."""
    caplog.set_level(logging.INFO, logger="navsvc.jobs")
    app, client = worker_client()
    standby = _waiting_standby(app)
    job = submit(client, auth["technician"], image["id"])
    done = wait_for_job(client, auth["technician"], job["id"])
    assert (done["state"], done["attempts"]) == ("succeeded", 1), done
    wait_for_log(caplog, f"job {job['id']} started in process {standby.pid}")
    assert _waiting_standby(app).pid != standby.pid
    standby.join(POLL_TIMEOUT_S)
    assert standby.exitcode == 0


def test_a_standby_that_died_unused_leaves_the_job_its_own_process(image, auth, worker_client, caplog):
    app, client = worker_client()
    standby = _waiting_standby(app)
    os.kill(standby.pid, signal.SIGKILL)
    standby.join(POLL_TIMEOUT_S)
    job = submit(client, auth["technician"], image["id"])
    done = wait_for_job(client, auth["technician"], job["id"])
    assert (done["state"], done["attempts"]) == ("succeeded", 1), done
    wait_for_log(caplog, f"the standby job process had ended (exit code -9); job {job['id']} starts its own")


def test_stopping_the_service_ends_the_standby_process(settings):
    app = create_app(settings.model_copy(update={"embedded_worker": True}))
    with TestClient(app):
        standby = _waiting_standby(app)
        assert standby.is_alive()
    assert not standby.is_alive()


def _let_the_worker_poll(app, polls: int = 5) -> None:
    """Wake the embedded worker ``polls`` times, a poll's time apart, and let it act."""
    for _ in range(polls):
        app.state.worker.wake()
        time.sleep(2 * app.state.settings.job_poll_interval_s)


def test_an_idle_worker_keeps_one_standby_process(worker_client):
    """The standby is started once while idle, not at every poll (each would be another
    process holding the engine's modules in memory)."""
    app, _ = worker_client()
    standby = _waiting_standby(app)
    _let_the_worker_poll(app)
    assert app.state.worker.standby is standby and standby.is_alive()
    standbys = [child for child in multiprocessing.active_children()
                if child.name == "navsvc-job-standby"]
    assert standbys == [standby]


def test_a_one_job_worker_runs_one_job_and_no_standby_while_it_runs(image, auth, worker_client):
    """With ``workers=1`` a second job waits queued while the first runs, and no standby
    process is started beside the running job: a plan needs up to 4 GiB, so the worker
    never holds more job processes than it was told."""
    app, client = worker_client("api_test_fakes:fake_slow", workers=1)
    first = submit(client, auth["technician"], image["id"])
    second = submit(client, auth["technician"], image["id"])
    wait_for_job(client, auth["technician"], first["id"], states=("running",))
    _let_the_worker_poll(app)
    waiting = client.get(f"/api/v1/jobs/{second['id']}", headers=auth["technician"]).json()
    assert (waiting["state"], waiting["attempts"]) == ("queued", 0)
    assert app.state.worker.standby is None


def test_without_standby_the_idle_worker_starts_no_process(image, auth, worker_client):
    app, client = worker_client(standby_process=False)
    job = submit(client, auth["technician"], image["id"])
    assert wait_for_job(client, auth["technician"], job["id"])["state"] == "succeeded"
    _let_the_worker_poll(app)  # polls that would have started one
    assert app.state.worker.standby is None


def test_running_jobs_are_requeued_once_then_failed(app, client, image):
    ids = [str(uuid.uuid4()) for _ in range(2)]
    with app.state.db.session() as session:
        for job_id, attempts in zip(ids, (1, 2)):
            session.add(Job(id=job_id, image_id=image["id"], options={}, state="running",
                            stage="register", attempts=attempts, created_by="t",
                            started_at=utc_now()))
    for job_id, attempts in zip(ids, (1, 2)):  # each interrupted attempt left partial outputs
        (app.state.storage.run_dir(job_id, attempts) / "transforms").mkdir()
    assert recover_interrupted_jobs(app.state.db, app.state.settings) == (1, 1)
    # the given-up job's files are gone; the re-queued one's go when it ends
    assert not app.state.storage.job_dirs(ids[1])
    with app.state.db.session() as session:
        first, second = (session.get(Job, job_id) for job_id in ids)
        assert (first.state, first.stage, first.attempts) == ("queued", None, 1)
        assert second.state == "failed" and "restart" in second.reason


def test_restart_resumes_interrupted_job(image, auth, worker_client):
    app, client = worker_client("api_test_fakes:fake_slow")
    job = submit(client, auth["technician"], image["id"])
    running = wait_for_job(client, auth["technician"], job["id"], states=("running",))
    assert running["attempts"] == 1
    deadline = time.monotonic() + POLL_TIMEOUT_S
    while running["stage"] != "register" and time.monotonic() < deadline:
        running = client.get(f"/api/v1/jobs/{job['id']}", headers=auth["technician"]).json()
    assert running["stage"] == "register"
    client.__exit__(None, None, None)  # service stops with the job running
    # the stopped job ran its clean-up: nothing of its scratch folder is left
    assert not list(Storage(app.state.settings.data_dir).run_path(job["id"], 1).glob("scratch-*"))
    _, restarted = worker_client("api_test_fakes:fake_make_plan")
    done = wait_for_job(restarted, auth["technician"], job["id"])
    assert done["state"] == "succeeded" and done["attempts"] == 2


@pytest.mark.parametrize("body", [{"mni_mm": [1, 2, 3], "native_ras_mm": [1, 2, 3]},
                                  {"mni_mm": [1, 2]}, {"coil_distance_mm": -1},
                                  {"handle_angle_deg": "north"}, {"unknown": 1},
                                  {"strategy": "occipital"}, {"coil_distance_mm": 31},
                                  {"mni_mm": [-38, 44, 200]},
                                  # Python's JSON reader takes these non-standard literals
                                  '{"native_ras_mm": [NaN, 0, 0]}', '{"handle_angle_deg": Infinity}'])
def test_invalid_plan_request_is_422(client, auth, image, body):
    if isinstance(body, str):
        response = client.post(f"/api/v1/images/{image['id']}/plans", content=body,
                               headers={**auth["technician"], "content-type": "application/json"})
    else:
        response = client.post(f"/api/v1/images/{image['id']}/plans", headers=auth["technician"], json=body)
    assert response.status_code == 422, response.text


# small_head: 64 voxels of 2.5 mm from -80 mm, so its field of view spans -81.25 to 78.75 mm
@pytest.mark.parametrize("native_ras_mm", [[0, 0, 500], [1e300, 0, 0], [79.0, 0, 0], [0, -81.5, 0]])
def test_native_target_outside_the_stored_image_is_422_and_queues_nothing(app, client, auth, image, native_ras_mm):
    """The engine's field-of-view check runs when the plan is requested, on the geometry
    recorded at upload: the clinic hears at once, and no job is queued to fail."""
    response = client.post(f"/api/v1/images/{image['id']}/plans", headers=auth["technician"],
                           json={"native_ras_mm": native_ras_mm})
    assert response.status_code == 422, response.text
    assert "lies outside the image" in response.json()["detail"]
    with app.state.db.session() as session:
        assert session.query(Job).count() == 0


@pytest.mark.parametrize("native_ras_mm", [[78.5, 0, 0], [0, -81.0, 0], [-40, 42, 30]])
def test_native_target_inside_the_stored_image_is_queued(client, auth, image, native_ras_mm):
    submit(client, auth["technician"], image["id"], {"native_ras_mm": native_ras_mm})


def test_upload_records_the_geometry_the_job_loads(app, image):
    """The affine checked at the request is the stored image's, as the job will load it."""
    from api.models import Image
    from navsvc.io import load_t1

    with app.state.db.session() as session:
        stored = session.get(Image, image["id"])
        info, path = dict(stored.info), app.state.storage.absolute(stored.stored_path)
    assert info["affine"] == load_t1(path).affine.tolist()


def test_image_stored_without_its_affine_leaves_the_check_to_the_job(app, client, auth, image):
    """Images uploaded before the affine was recorded: the request is queued, and the job
    refuses the target with the engine's message (tests/test_pipeline_refusals.py)."""
    from api.models import Image

    with app.state.db.session() as session:
        stored = session.get(Image, image["id"])
        stored.info = {key: value for key, value in stored.info.items() if key != "affine"}
    submit(client, auth["technician"], image["id"], {"native_ras_mm": [0, 0, 500]})


def test_plan_for_missing_image_is_404(client, auth):
    response = client.post("/api/v1/images/nope/plans", headers=auth["technician"], json={})
    assert response.status_code == 404


def test_list_jobs_filters(app, client, auth, image, small_head):
    def ids(**params):
        return [j["id"] for j in client.get("/api/v1/jobs", headers=auth["auditor"], params=params).json()["items"]]

    job = submit(client, auth["technician"], image["id"])
    other_image = another_patients_image(client, auth, small_head, "MRN-JOBS-2")
    other_job = submit(client, auth["technician"], other_image["id"])
    with app.state.db.session() as session:
        session.get(Job, other_job["id"]).state = "failed"
    assert ids(state="queued", image_id=image["id"]) == [job["id"]]
    assert ids(image_id=image["id"]) == [job["id"]] and ids(image_id=other_image["id"]) == [other_job["id"]]
    assert ids(state="queued") == [job["id"]] and ids(state="failed") == [other_job["id"]]
    assert client.get("/api/v1/jobs", headers=auth["auditor"],
                      params={"state": "bogus"}).status_code == 422


def test_readyz_names_an_unreachable_database(client, tmp_path):
    """A database that stops answering makes /readyz answer 503 and name it, so that a
    load balancer stops sending clinics to this process."""
    assert client.get("/readyz").status_code == 200
    database = client.app.state.db
    engine = database.engine
    database.engine = make_engine(f"sqlite:///{tmp_path / 'unmounted' / 'navsvc.db'}")
    try:
        answer = client.get("/readyz")
    finally:
        database.engine = engine
    assert answer.status_code == 503
    assert answer.json() == {"status": "unavailable", "checks": {"database": "unreachable"}}
    assert client.get("/readyz").status_code == 200


def test_readyz_reads_another_process_worker_heartbeat(settings, tmp_path):
    """An API process of `navsvc serve --workers N` runs no worker; its /readyz says the
    supervising process's worker is stopped when the heartbeat file is stale or gone."""
    heartbeat = tmp_path / "worker.heartbeat"
    app = create_app(settings.model_copy(update={"embedded_worker": False,
                                                 "worker_heartbeat_file": heartbeat}))
    with TestClient(app) as client:
        heartbeat.touch()
        assert client.get("/readyz").json()["checks"] == {"database": "ok", "worker": "ok"}
        stale = time.time() - HEARTBEAT_MIN_STALE_S - 1
        recent = time.time() - HEARTBEAT_MIN_STALE_S + 2  # many polls ago, within the limit
        os.utime(heartbeat, (recent, recent))
        assert client.get("/readyz").json()["checks"] == {"database": "ok", "worker": "ok"}
        os.utime(heartbeat, (stale, stale))
        answer = client.get("/readyz")
        assert answer.status_code == 503 and answer.json()["checks"]["worker"] == "stopped"
        heartbeat.unlink()
        assert client.get("/readyz").status_code == 503
