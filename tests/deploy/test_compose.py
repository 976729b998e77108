"""``docker-compose.yml``, ``Dockerfile`` and ``.env.example`` agree with the code.

There is no container engine here, so the compose file is parsed and each service's
command, environment, volumes and health check is checked against what ``navsvc``
expects.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from api.config import Settings
from deploy_helpers import REPO, REQUIRED_ENV, interpolate, load_compose
from navsvc.cli import build_parser
from navsvc.config import EngineSettings

NAVSVC_SERVICES = ("api", "worker", "migrate")


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_compose()


def _env(compose: dict, name: str) -> dict[str, str]:
    return {key: interpolate(value, REQUIRED_ENV)
            for key, value in compose["services"][name]["environment"].items()}


def _mounts(compose: dict, name: str) -> dict[str, str]:
    """Container path -> named volume of a service."""
    mounts = {}
    for entry in compose["services"][name].get("volumes", []):
        source, target = entry.split(":")[:2]
        mounts[target] = source
    return mounts


def _known_variables() -> set[str]:
    fields = set(Settings.model_fields) | set(EngineSettings.model_fields)
    return {f"NAVSVC_{field.upper()}" for field in fields}


def test_services_exist(compose):
    assert {"api", "worker", "postgres", "redis"} <= set(compose["services"])


def test_commands_parse_as_navsvc_commands(compose):
    parser = build_parser()
    commands = {name: compose["services"][name]["command"] for name in NAVSVC_SERVICES}
    for name, command in commands.items():
        assert command[0] == "navsvc", name
        parser.parse_args(command[1:])  # exits (fails the test) on an unknown option
    assert commands["worker"][:2] == ["navsvc", "worker"]
    assert commands["migrate"] == ["navsvc", "admin", "migrate"]
    api = commands["api"]
    assert api[:2] == ["navsvc", "serve"]
    assert api[api.index("--host") + 1] == "0.0.0.0"


def test_api_port_health_check_and_published_port_agree(compose):
    api = compose["services"]["api"]
    port = api["command"][api["command"].index("--port") + 1]
    published = [interpolate(entry, {}) for entry in api["ports"]]
    assert any(entry.endswith(f":{port}") for entry in published), published
    assert f"127.0.0.1:{port}/readyz" in " ".join(api["healthcheck"]["test"])


def test_environment_names_are_settings(compose):
    known = _known_variables()
    for name in NAVSVC_SERVICES:
        unknown = set(_env(compose, name)) - known
        assert not unknown, f"{name}: {unknown} are not navsvc settings"


def test_environment_values_are_valid_settings(compose, monkeypatch):
    for key, value in _env(compose, "worker").items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.broker_url and settings.database_url
    assert settings.broker_visibility_timeout_s > 3 * 60, "must exceed the longest job"
    assert settings.job_lease_s < settings.broker_visibility_timeout_s


def test_api_and_workers_share_settings_database_broker_and_data(compose):
    api, worker = _env(compose, "api"), _env(compose, "worker")
    assert api == worker == _env(compose, "migrate")
    data_dir = api["NAVSVC_DATA_DIR"]
    mounts = {name: _mounts(compose, name) for name in NAVSVC_SERVICES}
    volume = mounts["api"][data_dir]
    assert volume in compose["volumes"], "the data folder must be a named volume"
    assert mounts["worker"][data_dir] == volume == mounts["migrate"][data_dir]


def test_database_and_broker_point_at_their_services(compose):
    env = _env(compose, "api")
    database = urlsplit(env["NAVSVC_DATABASE_URL"])
    assert database.scheme == "postgresql+psycopg"
    assert database.hostname == "postgres" and database.port == 5432
    postgres = compose["services"]["postgres"]["environment"]
    assert database.path.lstrip("/") == interpolate(postgres["POSTGRES_DB"], {})
    assert database.username == interpolate(postgres["POSTGRES_USER"], {})
    broker = urlsplit(env["NAVSVC_BROKER_URL"])
    assert broker.scheme == "redis" and broker.hostname == "redis" and broker.port == 6379


def test_postgres_and_redis_keep_data_in_volumes(compose):
    assert _mounts(compose, "postgres")["/var/lib/postgresql/data"] in compose["volumes"]
    assert _mounts(compose, "redis")["/data"] in compose["volumes"]
    assert "--appendonly" in compose["services"]["redis"]["command"]


def test_health_checks_and_start_order(compose):
    services = compose["services"]
    for name in ("api", "worker", "postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name
    assert services["worker"]["healthcheck"]["test"][1:] == ["navsvc", "worker", "--check"]
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_worker_is_scalable(compose):
    worker = compose["services"]["worker"]
    assert "container_name" not in worker and "ports" not in worker
    assert "hostname" not in worker  # every replica needs its own node name
    assert worker["stop_grace_period"]


def test_env_example_covers_the_compose_variables(compose):
    text = (REPO / "docker-compose.yml").read_text()
    used = {match for match in re.findall(r"\$\{(\w+)", text)}
    example = dict(line.split("=", 1) for line in (REPO / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert used <= set(example), used - set(example)
    assert {key for key in example if key.startswith("NAVSVC_") and key != "NAVSVC_PORT"} \
        <= _known_variables()


def test_dockerfile_installs_the_project_with_its_data(compose):
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.M)
    assert re.search(r'pip install .*"?\.\[postgres\]"?', dockerfile)
    assert "COPY atlases" in dockerfile, "the pipeline's shipped atlases"
    assert compose["services"]["api"]["build"] == "."
    assert len({compose["services"][name]["image"] for name in NAVSVC_SERVICES}) == 1


def test_the_dockerfiles_python_steps_run_and_build_the_template_cache(tmp_path):
    # the step called a function renamed since and fell back on an echo: every container
    # built the template cache at its first job, in its own writable layer
    import os
    import subprocess
    import sys

    steps = re.findall(r'^RUN python -c "([^"]+)"\s*$', (REPO / "Dockerfile").read_text(), re.M)
    assert steps, "no python step found in the Dockerfile"
    for code in steps:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=os.environ | {"NAVSVC_CACHE_DIR": str(tmp_path)})
        assert done.returncode == 0, done.stderr
    built = [p.name for p in tmp_path.glob("fixed-*/*.nii.gz")]
    assert sorted(built) == ["colin27_head.nii.gz", "icbm_mask.nii.gz", "icbm_t1.nii.gz"]
    assert [p.name for p in tmp_path.glob("colin27-head-distance-*/*")] == ["arrays.npz"]
