"""``navsvc export``: write a plan's coil poses in a navigator's file format."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from navsvc.errors import InputError
from navsvc.export import EXPORT_FORMATS, SPACES, default_space, export_plan
from navsvc.files import write_atomically
from navsvc.plan_files import PLAN_FILENAME


def load_plan(path: str | Path) -> dict:
    """Load ``plan.json`` from a plan output directory or a JSON file path.

    Parameters
    ----------
    path : str or pathlib.Path
        A directory holding ``plan.json``, or the JSON file itself.

    Returns
    -------
    dict
        The plan.
    """
    path = Path(path)
    if path.is_dir():
        path = path / PLAN_FILENAME
    if not path.is_file():
        raise InputError(f"no plan file at {str(path)!r}")
    try:
        plan = json.loads(read_file_bytes(path).decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # ValueError: UTF-8, JSON, 4300-digit integers
        raise InputError(f"{str(path)!r} is not a JSON plan ({exc})") from None
    if not isinstance(plan, dict):
        raise InputError(f"{str(path)!r} does not hold a JSON object")
    return plan


def read_file_bytes(path: Path) -> bytes:
    """Read a file the user named, an unreadable one being bad input (exit 2).

    Parameters
    ----------
    path : pathlib.Path
        The file.

    Returns
    -------
    bytes
    """
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {str(path)!r} ({exc.strerror or exc})") from None


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Create the ``export`` sub-command parser."""
    parser = subparsers.add_parser(
        "export", help="write a plan's coil pose for a neuronavigation system",
        description="Write the planned coil pose (and the along-normal alternative) in a "
                    "navigator's format. See docs/navigators.md.")
    parser.add_argument("plan", metavar="PLAN_DIR_OR_JSON",
                        help=f"plan output directory (holding {PLAN_FILENAME}) or plan JSON file")
    parser.add_argument("--format", required=True, choices=EXPORT_FORMATS, dest="fmt",
                        help="file format")
    parser.add_argument("--space", choices=SPACES,
                        help="world space: ras (navigator project built on the NIfTI file) or "
                             "lps (built on the DICOM series); default: lps for a plan made "
                             "from DICOM, ras otherwise; simnibs is always ras")
    parser.add_argument("--out", required=True, metavar="FILE",
                        help="output file, or an existing directory to write the default "
                             "file name into")
    parser.set_defaults(run=run)
    return parser


#: what each space is for, as the command tells the user
SPACE_USE = {"ras": "RAS, for a navigator project built on the NIfTI file",
             "lps": "LPS (DICOM patient space), for a navigator project built on the DICOM series"}


def run(args: argparse.Namespace) -> int:
    """Write the export file, print its path, and say on stderr which space it is in."""
    plan = load_plan(args.plan)
    space = args.space or default_space(plan, args.fmt)
    exported = export_plan(plan, args.fmt, space)
    out = Path(args.out)
    if out.is_dir():
        out = out / exported.filename
    if not out.parent.is_dir():
        raise InputError(f"output directory {str(out.parent)!r} does not exist")
    try:
        write_atomically(out, exported.content)
    except OSError as exc:
        raise InputError(f"cannot write {str(out)!r} ({exc.strerror or exc}); choose another "
                         "--out") from None
    print(out)
    print(f"navsvc: coordinates in {SPACE_USE[space]}" + ("" if args.space else " (--space to choose)"),
          file=sys.stderr)
    return 0
