"""Accuracy against known ground truth: transformed copies of a real head (Colin27).

For each of the twelve cases of :func:`navsvc.testing.cases.accuracy_cases`, the pipeline
plans the transformed head; its points are compared with the ground truth, the plan of
the untransformed head carried by the known point map. Optionally (``--reference``) the
ground truth of the mapped target is instead ANTs' full-resolution
``antsRegistrationSyNQuick[s]`` on the untransformed brain (slower: minutes).

The ``across`` and ``along`` columns split the mapped target's error, carried back into
the untransformed head, into its part along the coil axis of the untransformed plan (the
inward scalp normal, i.e. across the cortex) and its part along the cortex. On the warp
cases the error lies along the cortex: SyN against the ICBM average recovers depth, not
a slide along the surface (see ``benchmarks/warp_amplitude_sweep.py``).

The ``entry`` column is exact ground truth only for rigid moves: the scalp point nearest
a target is not carried along by scaling, shear or warps (the perpendicular changes
direction), so on the oblique and warped copies it also counts that geometric change. On
one mesh a 1 mm target shift moves the entry about 1 mm (``tests/test_scalp.py``).

Usage: ``python benchmarks/accuracy_ground_truth.py [--cases N] [--reference]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np

from navsvc import templates
from navsvc.pipeline import make_plan
from navsvc.testing import heads
from navsvc.testing.cases import accuracy_cases
from plan_speed import run_reference  # benchmarks/ is on the path when run as a script

POINTS = (("target", "native_ras_mm"), ("target", "cortex_ras_mm"), ("entry", "scalp_ras_mm"))


def _get(plan: dict, key: tuple[str, str]) -> np.ndarray:
    return np.asarray(plan[key[0]][key[1]], float)


def reference_target(mni_mm, folder: Path) -> np.ndarray:
    """Full-resolution ANTs SyNQuick[s] mapping of ``mni_mm`` into untransformed Colin27 (brain)."""
    head = nib.load(str(templates.COLIN_HEAD))
    mask = np.asanyarray(nib.load(str(templates.COLIN_BRAIN_MASK)).dataobj) > 0
    brain = folder / "reference_brain.nii.gz"
    nib.save(nib.Nifti1Image(np.where(mask, np.asanyarray(head.dataobj), 0).astype(np.float32), head.affine), str(brain))
    return np.asarray(run_reference(brain, mni_mm)["native_ras_mm"])


def split_error(plan: dict, base: dict, case: heads.TransformedHead) -> tuple[float, float]:
    """The mapped target's error in the untransformed head: (along the base plan's coil
    axis, along the cortex), mm. The coil's z axis is the inward scalp normal above the
    target."""
    carried_back = case.new_to_original(_get(plan, POINTS[0]))[0]
    error = carried_back - _get(base, POINTS[0])
    axis = np.asarray(base["coil"]["matrix"], float)[:3, 2]
    across = float(error @ axis)
    return abs(across), float(np.linalg.norm(error - across * axis))


def main() -> None:
    """Run the cases and print one row per case plus the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=12)
    parser.add_argument("--reference", action="store_true", help="compare the mapped target with full-res ANTs too")
    args = parser.parse_args()
    original = heads.load_colin27()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        nib.save(original, str(tmp / "original.nii.gz"))
        base = make_plan(tmp / "original.nii.gz", tmp / "original")
        ref = reference_target(base["target"]["mni_mm"], tmp) if args.reference else None
        print(f"{'case':48s}{'target mm':>10s}{'across':>8s}{'along':>7s}{'cortex pt mm':>13s}{'entry mm':>10s}"
              f"{'vs ANTs mm':>11s}{'GM':>4s}{'hemi':>6s}{'s':>6s}")
        errors: list[float] = []
        for name, make in accuracy_cases()[: args.cases]:
            case = make(original)
            nib.save(case.image, str(tmp / "case.nii.gz"))
            start = time.perf_counter()
            plan = make_plan(tmp / "case.nii.gz", tmp / "case")
            seconds = time.perf_counter() - start
            gaps = [float(np.linalg.norm(_get(plan, k) - case.original_to_new(_get(base, k))[0])) for k in POINTS]
            vs_ref = (float(np.linalg.norm(_get(plan, POINTS[0]) - case.original_to_new(ref)[0]))
                      if ref is not None else float("nan"))
            errors.append(gaps[0])
            across_mm, along_mm = split_error(plan, base, case)
            print(f"{name:48s}{gaps[0]:10.2f}{across_mm:8.2f}{along_mm:7.2f}{gaps[1]:13.2f}{gaps[2]:10.2f}{vs_ref:11.2f}"
                  f"{'y' if plan['target']['in_grey_matter'] else 'n':>4s}{plan['target']['hemisphere']:>6s}{seconds:6.1f}",
                  flush=True)
        print(f"mapped target error vs ground truth: median {statistics.median(errors):.2f} mm, "
              f"worst {max(errors):.2f} mm over {len(errors)} cases (goal: median <= 2, worst <= 4)")


if __name__ == "__main__":
    main()
