"""``navsvc demo``: the whole plan on the bundled example head (Colin27, scanner-like pose)."""

from __future__ import annotations

import argparse
from pathlib import Path

from navsvc.commands.plan import StderrProgress, add_target_arguments, options_from_args, print_summary
from navsvc.examples import write_example_head


def add_parser(subparsers) -> None:
    """Register ``navsvc demo``."""
    parser = subparsers.add_parser("demo", help="plan the bundled example head (offline)")
    parser.add_argument("--out", type=Path, default=Path("navsvc-demo"), help="output folder (default ./navsvc-demo)")
    add_target_arguments(parser)
    parser.set_defaults(run=run, skip_teardown=True)  # see navsvc.cli.console


def run(args: argparse.Namespace) -> int:
    """Write the example head, plan it, print the summary."""
    from navsvc.pipeline import make_plan
    from navsvc.process_memory import reuse_freed_memory
    from navsvc.scratch import output_folder

    reuse_freed_memory()  # this process runs one plan and ends
    options = options_from_args(args)  # refuse bad options before writing anything
    head = write_example_head(output_folder(args.out) / "example_head_colin27.nii.gz")
    print(f"example head    {head} (Colin27 in an oblique LIA scanner orientation)")
    plan = make_plan(head, args.out, options, progress=StderrProgress())
    print_summary(plan, args.out)
    return 0
