"""Accuracy against known ground truth: transformed copies of a real head (Colin27).

For each of the twelve cases of :func:`navsvc.testing.cases.accuracy_cases`, the pipeline
plans the transformed head; its points are compared with the ground truth, the plan of
the untransformed head carried by the known point map. Optionally (``--reference``) the
ground truth of the mapped target is instead ANTs' full-resolution
``antsRegistrationSyNQuick[s]`` on the untransformed brain (slower: minutes).

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
        print(f"{'case':48s}{'target mm':>10s}{'cortex mm':>10s}{'entry mm':>10s}"
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
            print(f"{name:48s}{gaps[0]:10.2f}{gaps[1]:10.2f}{gaps[2]:10.2f}{vs_ref:11.2f}"
                  f"{'y' if plan['target']['in_grey_matter'] else 'n':>4s}{plan['target']['hemisphere']:>6s}{seconds:6.1f}",
                  flush=True)
        print(f"mapped target error vs ground truth: median {statistics.median(errors):.2f} mm, "
              f"worst {max(errors):.2f} mm over {len(errors)} cases (goal: median <= 2, worst <= 4)")


if __name__ == "__main__":
    main()
