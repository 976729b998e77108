"""Full pipeline under all 48 voxel orders of a real head: worst world-space disagreement.

Each of the 48 axis permutations and flips of Colin27's voxel array (affine updated, so
the head is the same in world space) is planned; every reported point is compared with
the plan of the original voxel order, and so are its scalar measurements (scalp-to-cortex
and scalp-to-target distances, the M1 distance and the dose suggestion). Prints the worst
distance per point and per orientation, the worst difference per measurement, and checks
the target is always in the left hemisphere.

Measured 2026-12-03 (SyN 40x12 at 8 and 4 mm, brain affine 100x20): every point and
every measurement of all 48 orientations equal to the original's (0.000 mm), the
landmarks' in-image flags the same in all, the target in the left hemisphere in all
(MNI x -40.2); 11.1-15.1 s per plan in this process, 10 min 51 s in all.

Usage: ``python benchmarks/orientation_equivariance.py [--limit N]`` (48 plans: ~11 min)
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np

from navsvc.pipeline import make_plan
from navsvc.testing import heads


def world_points(plan: dict) -> dict[str, np.ndarray]:
    """Every point the plan reports in native RAS mm (coil axes as points 10 mm along them)."""
    pts = {"target.native": plan["target"]["native_ras_mm"], "target.cortex": plan["target"]["cortex_ras_mm"],
           "entry": plan["entry"]["scalp_ras_mm"], "entry.along_normal": plan["entry"]["along_normal"]["scalp_ras_mm"]}
    coil = np.asarray(plan["coil"]["matrix"])
    pts.update({"coil.centre": coil[:3, 3], **{f"coil.{a}+10mm": coil[:3, 3] + 10 * coil[:3, i]
                                             for i, a in enumerate("xyz")}})
    pts.update({f"landmark.{k}": v["ras_mm"] for k, v in plan["landmarks"]["points"].items()})
    return {k: np.asarray(v, float) for k, v in pts.items()}


def measurements(plan: dict) -> dict[str, float]:
    """The plan's scalar measurements that must not depend on the voxel order either."""
    dose = plan["dose"]
    return {"scalp_to_cortex_mm": plan["entry"]["scalp_to_cortex_mm"],
            "scalp_to_target_mm": plan["entry"]["scalp_to_target_mm"],
            "scalp_to_cortex_m1_mm": dose["scalp_to_cortex_m1_mm"],
            "mt_offset_pct_mso": dose["mt_offset_pct_mso"]}


def main() -> None:
    """Plan all orientations and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=48)
    args = parser.parse_args()
    original = heads.load_colin27()
    worst_by_point: dict[str, float] = {}
    worst_by_measure: dict[str, float] = {}
    flags_differ = 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base = base_flags = base_values = None
        for n, (perm, flips) in enumerate(list(heads.all_orientations())[: args.limit]):
            case = heads.reorient(original, perm, flips)
            nib.save(case.image, str(tmp / "t1.nii.gz"))
            plan = make_plan(tmp / "t1.nii.gz", tmp / "out")
            pts = world_points(plan)
            flags = {k: v["scalp_in_image"] for k, v in plan["landmarks"]["points"].items()}
            values = measurements(plan)
            if base is None:
                base, base_flags, base_values = pts, flags, values
            for k, v in values.items():
                worst_by_measure[k] = max(worst_by_measure.get(k, 0.0), abs(v - base_values[k]))
            flags_differ += flags != base_flags
            gaps = {k: float(np.linalg.norm(pts[k] - base[k])) for k in base}
            for k, g in gaps.items():
                worst_by_point[k] = max(worst_by_point.get(k, 0.0), g)
            worst = max(gaps, key=gaps.get)
            print(f"{n + 1:2d} {''.join(plan['input']['orientation'])} {heads.orientation_label(perm, flips):24s} "
                  f"worst {gaps[worst]:.3f} mm ({worst}); target {plan['target']['hemisphere']}, "
                  f"MNI x {plan['target']['cortex_mni_mm'][0]:.1f}; {plan['timing_s']['total']:.1f} s", flush=True)
    print(f"landmarks' scalp_in_image flags differ from the first orientation's in {flags_differ} plans "
          f"(not in image: {sorted(k for k, v in base_flags.items() if not v)})")
    print("worst over all orientations, per point (mm):")
    for k, g in sorted(worst_by_point.items(), key=lambda kv: -kv[1]):
        print(f"  {k:28s}{g:8.3f}")
    print("worst over all orientations, per measurement (mm; %MSO for the offset), first orientation's value:")
    for k, g in worst_by_measure.items():
        print(f"  {k:28s}{g:8.3f}  ({base_values[k]:.2f})")


if __name__ == "__main__":
    main()
