"""How the ``navsvc`` console script ends its process (navsvc.cli.console)."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

# the command's module gets a stand-in ``run`` that prints a long summary line by line (on a
# pipe, stdout is block-buffered: its last lines wait in the buffer) and returns the given code
SCRIPT = """
import atexit, sys
atexit.register(lambda: print("teardown ran"))
from navsvc import cli
from navsvc.commands import {module}

def stand_in(args):
    for _ in range(2000):
        print("summary line")
    sys.stderr.write("progress line\\n")
    return {code}

{module}.run = stand_in
sys.argv = ["navsvc", *{argv!r}]
cli.console()
"""


def _console(module: str, argv: list[str], code: int) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # buffered, as in most shells
    return subprocess.run([sys.executable, "-c", SCRIPT.format(module=module, argv=argv, code=code)],
                          capture_output=True, text=True, env=env)


@pytest.mark.parametrize("module, argv", [("plan", ["plan", "t1.nii.gz", "--out", "o"]),
                                          ("demo", ["demo"])])
@pytest.mark.parametrize("code", [0, 2])
def test_planning_commands_end_without_teardown_after_flushing_everything(module, argv, code):
    done = _console(module, argv, code)
    assert done.returncode == code
    assert done.stdout == "summary line\n" * 2000  # every line, and no teardown
    assert done.stderr == "progress line\n"


def test_other_commands_end_with_the_interpreters_teardown():
    done = _console("deviation", ["deviation", "plan.json", "pose.json"], 2)
    assert done.returncode == 2
    assert done.stdout == "summary line\n" * 2000 + "teardown ran\n"


def test_the_console_script_is_the_console_entry_point():
    (script,) = entry_points(group="console_scripts", name="navsvc")
    assert script.value == "navsvc.cli:console"
