"""A real ``navsvc serve`` process for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """``python -m navsvc.cli serve`` on a free port with its own data folder.

    Parameters
    ----------
    data_dir : Path
        ``NAVSVC_DATA_DIR`` of the server.
    env : dict
        Extra ``NAVSVC_*`` variables (database URL, plan function, ...).
    serve_args : tuple of str
        Extra ``navsvc serve`` arguments (e.g. ``("--workers", "2")``).
    """

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None,
                 serve_args: tuple[str, ...] = ()) -> None:
        self.serve_args = tuple(serve_args)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(data_dir).parent / "server.log"
        self.env = {**os.environ, "NAVSVC_DATA_DIR": str(data_dir), "NAVSVC_LOG_LEVEL": "INFO",
                    "PYTHONPATH": os.pathsep.join([str(REPO), str(Path(__file__).parent)]),
                    **(env or {})}
        self.process: subprocess.Popen | None = None

    def cli(self, *args: str) -> str:
        """Run ``navsvc ARGS`` with the server's settings and return its stdout."""
        done = subprocess.run([sys.executable, "-m", "navsvc.cli", *args], env=self.env,
                              cwd=REPO, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def start(self) -> ServerProcess:
        """Start the server and wait until ``/readyz`` answers 200."""
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "navsvc.cli", "serve", "--port", str(self.port),
             *self.serve_args],
            env=self.env, cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready: {self.log_path.read_text()}")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 20 s)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def log_text(self) -> str:
        """Everything the server wrote so far."""
        return self.log_path.read_text(errors="replace")
