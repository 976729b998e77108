"""The ``navsvc`` command: one sub-command per module in :mod:`navsvc.commands`.

Each command module defines ``add_parser(subparsers)`` and ``run(args) -> int``.
Exit codes: 0 success, 2 bad input (one line on stderr), 1 internal failure.
"""

from __future__ import annotations

import argparse
import importlib
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
    """Entry point of the ``navsvc`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
