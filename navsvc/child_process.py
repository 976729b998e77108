"""A child Python process started ahead of the one request it serves.

The plan starts its helpers early, so that they load their modules on a core the plan
leaves idle (:mod:`navsvc.syn_process`, :mod:`navsvc.report.figure_process`). Each reads
one request line on its stdin and answers on its stdout; a child whose stdin ends before a
request exits without doing anything.
"""

from __future__ import annotations

import subprocess
import sys


class RequestChild:
    """A child running ``python -m module``, its stdin, stdout and stderr piped to this process
    (use as a context manager: leaving the ``with`` block kills a child still running).

    Parameters
    ----------
    module : str
        The child's module, run with ``python -m``.
    env : mapping, optional
        The child's environment (default: this process's).
    text : bool
        Pipes in text (True) or bytes (False).
    """

    def __init__(self, module: str, env=None, text: bool = False) -> None:
        self._text = text
        self._child = subprocess.Popen([sys.executable, "-m", module], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=text, env=env)

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self._child.pid

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        if self._child.poll() is None:
            self._child.kill()
        # communicate() also closes the pipes; after a kill it returns at once
        self._child.communicate()

    def _send(self, line: str) -> bool:
        """Write one request line; False if the child has ended (its pipe is broken)."""
        data = line + "\n"
        try:
            self._child.stdin.write(data if self._text else data.encode())
            self._child.stdin.flush()
        except BrokenPipeError:
            self._child.wait()
            return False
        return True


def last_error_line(errors: str | bytes | None) -> str:
    """The last line a child wrote on its stderr, or ``"no error output"``."""
    text = errors.decode(errors="replace") if isinstance(errors, bytes) else (errors or "")
    lines = text.strip().splitlines()
    return lines[-1] if lines else "no error output"
