"""The ``navsvc`` command: one sub-command per module in :mod:`navsvc.commands`.

Each command module defines ``add_parser(subparsers)`` and ``run(args) -> int``.
Exit codes: 0 success, 2 bad input (one line on stderr), 1 internal failure.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from navsvc import __version__
from navsvc.errors import InputError, PipelineError

#: sub-command name -> module implementing it
COMMANDS = {
    "plan": "navsvc.commands.plan",
    "demo": "navsvc.commands.demo",
    "export": "navsvc.commands.export",
    "deviation": "navsvc.commands.deviation",
    "serve": "navsvc.commands.serve",
    "admin": "navsvc.commands.admin",
    "worker": "navsvc.commands.worker",
}


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every available sub-command."""
    parser = argparse.ArgumentParser(prog="navsvc", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"navsvc {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # command not part of this build
            raise
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one ``navsvc`` command; return its exit code (the process goes on).

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: the command line).
    """
    return _run(build_parser().parse_args(argv))


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.run(args) or 0)
    except InputError as exc:
        print(f"navsvc: error: {exc}", file=sys.stderr)
        return 2
    except PipelineError as exc:
        print(f"navsvc: failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("navsvc: interrupted", file=sys.stderr)
        return 130


def console() -> None:
    """Entry point of the ``navsvc`` console script: run the command, end the process.

    A command that sets ``skip_teardown`` (``plan``, ``demo``) ends the process without
    the interpreter's teardown, once its outputs are written and flushed: tearing down the
    modules a plan imports (ANTs, matplotlib, pandas, scipy) took 0.7-0.9 s after every
    plan here, and a plan leaves nothing that needs it (its work folders are
    removed by their context managers, its SyN process reaped).
    """
    args = build_parser().parse_args()
    code = _run(args)
    if getattr(args, "skip_teardown", False):
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except OSError:  # e.g. a reader that closed the pipe: nothing more can reach it
                pass
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    console()
