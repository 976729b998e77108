"""``navsvc plan T1 --out DIR``: make a treatment plan for one T1."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from navsvc.options import (COIL_DISTANCE_RANGE_MM, DEFAULT_COIL_DISTANCE_MM, DEFAULT_HANDLE_ANGLE_DEG,
                             HANDLE_ANGLE_RANGE_DEG, PlanOptions)
from navsvc.target.strategies import DEFAULT_STRATEGY, STRATEGIES


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``plan`` and ``demo``: target choice and coil placement."""
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--strategy", default=DEFAULT_STRATEGY, choices=sorted(STRATEGIES),
                        help=f"named MNI target (default {DEFAULT_STRATEGY})")
    choice.add_argument("--mni", nargs=3, type=float, metavar=("X", "Y", "Z"),
                        help="target in ICBM 2009a MNI coordinates, mm")
    choice.add_argument("--native", nargs=3, type=float, metavar=("X", "Y", "Z"),
                        help="target in the patient's scanner (NIfTI RAS) coordinates, mm")
    parser.add_argument("--coil-distance", type=float, default=DEFAULT_COIL_DISTANCE_MM, metavar="MM",
                        help="coil centre distance outside the scalp, mm, {:g} to {:g} (default {:g} for hair)".format(
                            *COIL_DISTANCE_RANGE_MM, DEFAULT_COIL_DISTANCE_MM))
    parser.add_argument("--handle-angle", type=float, default=DEFAULT_HANDLE_ANGLE_DEG, metavar="DEG",
                        help="handle angle in the coil plane from the midsagittal direction, degrees, {:g} to {:g}: "
                             "0 points the handle posterior, positive angles turn it away from the midline "
                             "(default {:g}: posterior and lateral; 90: lateral)".format(
                                 *HANDLE_ANGLE_RANGE_DEG, DEFAULT_HANDLE_ANGLE_DEG))


def options_from_args(args: argparse.Namespace) -> PlanOptions:
    """Build :class:`PlanOptions` from parsed arguments."""
    return PlanOptions(
        strategy=args.strategy,
        mni_mm=tuple(args.mni) if args.mni else None,
        native_ras_mm=tuple(args.native) if args.native else None,
        coil_distance_mm=args.coil_distance,
        handle_angle_deg=args.handle_angle,
    )


def add_parser(subparsers) -> None:
    """Register ``navsvc plan``."""
    parser = subparsers.add_parser("plan", help="plan the coil for one T1 (NIfTI or DICOM)",
                                   description="T1 -> MNI -> left-DLPFC target -> scalp entry -> coil pose.")
    parser.add_argument("t1", type=Path, help="T1 NIfTI (.nii/.nii.gz), DICOM folder or DICOM .zip")
    parser.add_argument("--out", type=Path, required=True, help="output folder (plan.json, transforms, report)")
    parser.add_argument("--series", help="DICOM series number or UID when the input holds several")
    add_target_arguments(parser)
    parser.set_defaults(run=run, skip_teardown=True)  # see navsvc.cli.console


class StderrProgress:
    """Prints each pipeline stage with the elapsed time on stderr.

    The first stage (loading, under a second) is not announced, so that a bad input
    leaves exactly one line on stderr: the error.
    """

    def __init__(self):
        self._start = time.perf_counter()
        self._stages = 0

    def __call__(self, stage: str) -> None:
        self._stages += 1
        if self._stages > 1:
            print(f"[{time.perf_counter() - self._start:6.1f} s] {stage} ...", file=sys.stderr, flush=True)


def print_summary(plan: dict, out: Path) -> None:
    """Print the short human summary of a plan.

    Parameters
    ----------
    plan : dict
        The plan document, as :func:`navsvc.pipeline.make_plan` returns it.
    out : Path
        The plan's output folder; the summary's last line names its ``plan.json``.
    """
    from navsvc.anatomy.field_of_view import scalp_not_in_image_text
    from navsvc.coil import handle_direction_words
    from navsvc.report.values import intensity_words, plan_cautions

    t, e, c = plan["target"], plan["entry"], plan["coil"]
    d = plan["landmarks"]["distances_mm"]

    def fmt(v):
        return "(" + ", ".join(f"{x:7.1f}" for x in v) + ")"

    print(f"strategy        {t['strategy']}  MNI {fmt(t['mni_mm'])} mm")
    print(f"target (cortex) {fmt(t['cortex_ras_mm'])} mm RAS, {t['hemisphere']} hemisphere, "
          f"grey matter p={t['grey_matter_probability']:.2f}")
    print(f"scalp entry     {fmt(e['scalp_ras_mm'])} mm RAS, scalp-to-cortex {e['scalp_to_cortex_mm']:.1f} mm, "
          f"target {e['scalp_to_target_mm']:.1f} mm deep")
    print(f"coil centre     {fmt(c['centre_ras_mm'])} mm RAS, {c['distance_to_scalp_mm']:.1f} mm off scalp, "
          f"handle {c['handle_angle_deg']:.0f} deg ({handle_direction_words(c['handle_angle_deg'])})")
    print(f"entry to        F3 {d['f3']:.1f} mm, Beam F3 {d['beam_f3']:.1f} mm, 5-cm site {d['five_cm']:.1f} mm")
    offset = plan["dose"]["mt_offset_pct_mso"]
    if offset is None:
        print(f"dose            no depth adjustment: {plan['dose']['unavailable_reason']}")
    else:
        print(f"dose            MT offset {offset:+.1f} %MSO (Stokes)")
    cut = sorted(name for name, p in plan["landmarks"]["points"].items() if not p["scalp_in_image"])
    if cut:
        why = scalp_not_in_image_text(plan["input"].get("field_of_view_cuts_scalp", True),
                                      plan["input"].get("scalp_removed", False))
        print(f"warning         {why}: not reliable here: {', '.join(cut)}")
    for text in plan_cautions(plan):
        print(f"warning         {text}")
    not_measured = "not measured (too little air in the image)"
    noise = plan["input"].get("noise_pct_of_brain")
    print(f"image noise     {not_measured if noise is None else f'{noise:.1f} % of brain signal'}")
    ghosting = plan["input"].get("ghosting_pct_of_brain")
    ghosting_text = (not_measured if ghosting is None
                     else f"{ghosting:.1f} % of brain signal (copies of the head in the air, as motion leaves)")
    print(f"image ghosting  {ghosting_text}")
    print(f"registration    quality {plan['registration']['quality']['value']:.3f}, total {plan['timing_s']['total']:.1f} s")
    intensity = intensity_words(plan)
    if intensity:
        print(f"intensity       {intensity}")
    print(f"written         {out / 'plan.json'}")


def run(args: argparse.Namespace) -> int:
    """Run the pipeline and print the summary."""
    from navsvc.pipeline import make_plan
    from navsvc.process_memory import reuse_freed_memory

    reuse_freed_memory()  # this process runs one plan and ends
    plan = make_plan(args.t1, args.out, options_from_args(args), progress=StderrProgress(), series=args.series)
    print_summary(plan, args.out)
    return 0
