"""Helpers of the deployment tests: the compose file, and its services run locally.

:func:`service_command` and :func:`service_environment` turn a compose service into
the command line and environment of a local subprocess, so the tests start the API and
the workers exactly the way ``docker compose`` would, with local addresses.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
FAKES_DIR = Path(__file__).resolve().parent
START_TIMEOUT_S = 90
#: the variables docker-compose.yml requires from .env (the rest have defaults)
REQUIRED_ENV = {"POSTGRES_PASSWORD": "unused", "NAVSVC_CLINIC_TIMEZONE": "Europe/Berlin"}

_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?::(?P<op>[-?])(?P<arg>[^}]*))?\}")


def load_compose() -> dict:
    """The parsed ``docker-compose.yml`` (YAML anchors and merge keys resolved)."""
    return yaml.safe_load(COMPOSE_FILE.read_text())


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Resolve compose ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}``.

    Raises
    ------
    KeyError
        For a required variable (``:?``) missing from ``variables``.
    """
    def replace(match: re.Match) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if variables.get(name):
            return variables[name]
        if op == "-":
            return arg
        if op == "?":
            raise KeyError(f"{name}: {arg}")
        return ""

    return _VARIABLE.sub(replace, str(value).replace("$$", "\0")).replace("\0", "$")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_command(compose: dict, name: str, port: int | None = None) -> list[str]:
    """The service's ``navsvc ...`` command as a local command line.

    ``navsvc`` becomes ``python -m navsvc.cli``; ``--host`` is set to 127.0.0.1 and
    ``--port`` to ``port`` when the command has them.
    """
    command = list(compose["services"][name]["command"])
    assert command[0] == "navsvc", command
    args = command[1:]
    for flag, value in (("--host", "127.0.0.1"), ("--port", str(port))):
        if flag in args:
            args[args.index(flag) + 1] = value
    return [sys.executable, "-m", "navsvc.cli", *args]


def service_environment(compose: dict, name: str, local: dict[str, str]) -> dict[str, str]:
    """The service's environment with local values.

    Parameters
    ----------
    compose : dict
        The parsed compose file.
    name : str
        Service name.
    local : dict
        Values for this machine: every variable naming a container path or host
        (data folder, database, broker) and any override; the others keep the compose
        file's defaults.
    """
    environment = {key: interpolate(value, REQUIRED_ENV)
                   for key, value in compose["services"][name]["environment"].items()}
    environment.update(local)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(FAKES_DIR)]),
            **environment}


class Process:
    """A service subprocess in its own process group, with its output in a log file.

    Parameters
    ----------
    command : list of str
        Command line.
    env : dict
        Environment.
    log_path : Path
        Where stdout and stderr go.
    """

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.popen = subprocess.Popen(command, env=env, cwd=REPO, stdout=self._log,
                                      stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        """Process id (also the process group id)."""
        return self.popen.pid

    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.popen.poll() is None

    def log_text(self) -> str:
        """Everything the process wrote so far."""
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout_s: float = START_TIMEOUT_S) -> None:
        """Wait until ``text`` appears in the log; raise if the process exits first."""
        deadline = time.monotonic() + timeout_s
        while text not in self.log_text():
            if not self.alive():
                raise RuntimeError(f"{self.log_path.name} exited:\n{self.log_text()[-4000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.log_path.name}: no '{text}':\n"
                                   f"{self.log_text()[-4000:]}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL the whole process group, as ``docker kill`` ends a container."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait(10)

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM, then SIGKILL of the group after ``timeout_s``."""
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(timeout_s)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        self._log.close()


def wait_ready(base_url: str, process: Process, timeout_s: float = START_TIMEOUT_S) -> None:
    """Wait until the API at ``base_url`` answers ``/readyz`` with 200."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"API exited:\n{process.log_text()[-4000:]}")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"API not ready:\n{process.log_text()[-4000:]}")


def cli(env: dict[str, str], *args: str) -> str:
    """Run ``navsvc ARGS`` with ``env`` (like ``docker compose exec api navsvc ...``)."""
    done = subprocess.run([sys.executable, "-m", "navsvc.cli", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout
