"""The API with ``NAVSVC_BROKER_URL`` set: jobs go to the broker, ``/readyz`` checks it.

Celery's in-memory transport stands for a reachable broker and a closed local port
for an unreachable one, so these need no Redis.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import Settings
from api.jobs.celery_app import PLAN_TASK
from api.tokens import create_token
from deploy_helpers import REPO, free_port
from navsvc.cli import main


def _client(tmp_path, broker_url: str) -> TestClient:
    settings = Settings(data_dir=tmp_path / "data", broker_url=broker_url,
                        queue="navsvc-test-api", embedded_worker=True)
    return TestClient(create_app(settings))


def _submit(client: TestClient) -> tuple:
    token = create_token(client.app.state.db, "tech", "technician")
    headers = {"Authorization": f"Bearer {token}"}
    patient = client.post("/api/v1/patients", headers=headers, json={"external_id": "MRN-Q"})
    with open(REPO / "atlases" / "colin27_head.nii.gz", "rb") as handle:
        image = client.post(f"/api/v1/patients/{patient.json()['id']}/images", headers=headers,
                            files={"file": ("head.nii.gz", handle, "application/gzip")})
    assert image.status_code == 201, image.text
    response = client.post(f"/api/v1/images/{image.json()['id']}/plans", headers=headers,
                           json={"strategy": "fox2012"})
    return response, headers


def test_jobs_go_to_the_broker_not_the_embedded_worker(tmp_path):
    with _client(tmp_path, "memory://") as client:
        assert client.app.state.worker is None, "no in-process worker with a broker"
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
        response, headers = _submit(client)
        assert response.status_code == 202, response.text
        job = response.json()
        with client.app.state.queue.celery.connection_for_read() as connection:
            message = connection.SimpleQueue("navsvc-test-api").get(timeout=2)
            assert message.headers["task"] == PLAN_TASK
            assert message.payload[0] == [job["id"]]
            message.ack()
        assert client.get(f"/api/v1/jobs/{job['id']}", headers=headers).json()["state"] \
            == "queued"


def test_readyz_with_a_broker_ignores_a_worker_heartbeat_file(tmp_path):
    """The workers of a queue deployment are Celery workers, not the supervising process
    of `navsvc serve --workers N`: a heartbeat file left in the environment (here one
    that does not exist) must not report a worker as stopped."""
    settings = Settings(data_dir=tmp_path / "data", broker_url="memory://",
                        queue="navsvc-test-api", embedded_worker=False,
                        worker_heartbeat_file=tmp_path / "no-such.heartbeat")
    with TestClient(create_app(settings)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_unreachable_broker_is_reported_and_the_job_refused(tmp_path):
    with _client(tmp_path, f"redis://127.0.0.1:{free_port()}/0") as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"database": "ok", "broker": "unreachable"}
        response, headers = _submit(client)
        assert response.status_code == 503, response.text
        assert "queue could not be reached" in response.json()["detail"]
        jobs = client.get("/api/v1/jobs", headers=headers).json()["items"]
        assert [(job["state"], job["reason"][:34]) for job in jobs] == \
            [("failed", "the job queue could not be reached")]


def test_worker_needs_a_broker(monkeypatch, capsys):
    monkeypatch.delenv("NAVSVC_BROKER_URL", raising=False)
    assert main(["worker"]) == 2
    assert "NAVSVC_BROKER_URL is not set" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["worker", "--concurrency", "0"]])
def test_worker_refuses_a_bad_concurrency(monkeypatch, capsys, argv):
    monkeypatch.setenv("NAVSVC_BROKER_URL", "memory://")
    assert main(argv) == 2
    assert "--concurrency must be at least 1" in capsys.readouterr().err
