"""``navsvc deviation``: how far delivered coil poses are from the plan."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from navsvc.commands.export import load_plan, read_file_bytes
from navsvc.deviation import deviation_report
from navsvc.errors import InputError
from navsvc.export import read_poses
from navsvc.export.poses import MAX_POSE_FILE_BYTES


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Create the ``deviation`` sub-command parser."""
    parser = subparsers.add_parser(
        "deviation", help="compare navigator-recorded coil poses with the plan",
        description="Read a Localite, Brainsight, SimNIBS or navsvc JSON pose file and report "
                    "each pose's centre distance, target-to-axis distance, tilt and twist "
                    "from the planned coil pose, with per-session mean and worst.")
    parser.add_argument("plan", metavar="PLAN", help="plan output directory or plan JSON file")
    parser.add_argument("file", metavar="FILE", help="pose file from the navigation system")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(run=run)
    return parser


def _number(value, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{round(value, 1) + 0.0:>{width}.1f}"


def _text(report: dict) -> str:
    compared = ("delivered pose(s)" if report["compared"] == "delivered"
                else "planned pose(s) (the file has no delivered pose)")
    lines = [f"plan {report['plan_id']}: {len(report['rows'])} {compared} compared with the "
             f"plan's coil pose, {report['n_left_out']} left out"]
    lines += [f"  left out: {group['n_poses']} {group['reason']}" for group in report["left_out"]]
    lines.append(f"{'pose':<28}{'session':<26}{'centre mm':>10}{'axis mm':>9}"
                 f"{'tilt deg':>9}{'twist deg':>10}")
    for row in report["rows"]:
        lines.append(f"{str(row['name'])[:27]:<28}{str(row['session'] or '-')[:25]:<26}"
                     f"{_number(row['centre_distance_mm'], 10)}"
                     f"{_number(row['axis_to_target_mm'], 9)}{_number(row['tilt_deg'], 9)}"
                     f"{_number(row['twist_deg'], 10)}")
    lines.append("")
    lines.append("twist: " + report["twist_sign"] + "; summaries use |twist|")
    groups = report["sessions"] + [{"session": "ALL", **report["overall"]}]
    for group in groups:
        for label in ("mean", "worst"):
            values = group[label]
            lines.append(f"{(str(group['session'])[:20] + ' ' + label):<28}"
                         f"{'n=' + str(group['n_poses']):<26}"
                         f"{_number(values['centre_distance_mm'], 10)}"
                         f"{_number(values['axis_to_target_mm'], 9)}"
                         f"{_number(values['tilt_deg'], 9)}{_number(values['twist_abs_deg'], 10)}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the deviation report as a table, or as JSON with ``--json``."""
    plan = load_plan(args.plan)
    path = Path(args.file)
    if not path.is_file():
        raise InputError(f"no pose file at {str(path)!r}")
    if path.stat().st_size > MAX_POSE_FILE_BYTES:
        raise InputError(f"{str(path)!r} exceeds the {MAX_POSE_FILE_BYTES} byte limit")
    report = deviation_report(plan, read_poses(read_file_bytes(path)))
    print(json.dumps(report, indent=2) if args.json else _text(report))
    return 0
