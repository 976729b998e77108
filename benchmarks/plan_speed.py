"""Speed, memory and agreement of `navsvc plan` on a 256³ 1 mm head, next to ANTs' reference.

Prints, side by side, for the same input in the same run:
- navsvc: wall time per plan (median of --runs), peak resident memory of the plan's
  processes summed (the plan and its SyN stage's process);
- reference: ``antsRegistrationSyNQuick[s]`` at full resolution (1 mm, ICBM 2009a brain
  template, patient brain as moving), wall time;
- the distance between the target each maps from the same MNI coordinate (mm).

Usage: ``python benchmarks/plan_speed.py [--runs 3] [--skip-reference]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np

from navsvc import templates
from navsvc.examples import example_head_affine_change
from navsvc.testing import heads


def make_256_head(folder: Path) -> tuple[Path, Path]:
    """Colin27 zero-padded to 256³ (1 mm), voxels in LIA order, head tilted as in a scanner.

    Returns the head and its brain (Colin27 brain mask applied) with the same header.
    """
    src = nib.load(str(templates.COLIN_HEAD))
    mask = heads.load_colin27_brain_mask()
    data = np.asanyarray(src.dataobj).astype(np.int16)
    padded = [heads.widen_field_of_view(nib.Nifti1Image(vol, src.affine), (256, 256, 256)).image
              for vol in (data, np.where(mask, data, 0))]
    head, brain = (np.asanyarray(img.dataobj) for img in padded)
    affine = example_head_affine_change() @ padded[0].affine
    ornt = nib.orientations.ornt_transform(nib.orientations.io_orientation(affine),
                                           nib.orientations.axcodes2ornt(("L", "I", "A")))
    paths = []
    for name, vol in (("head256.nii.gz", head), ("brain256.nii.gz", brain)):
        img = nib.Nifti1Image(vol, affine).as_reoriented(ornt)
        nib.save(img, str(folder / name))
        paths.append(folder / name)
    return paths[0], paths[1]


def resident_bytes_of_tree(pid: int) -> int:
    """Resident memory of a process and all its descendants (Linux ``/proc``), bytes."""
    total, pids = 0, [pid]
    while pids:
        current = pids.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:"))
            for task in Path(f"/proc/{current}/task").iterdir():
                pids += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, StopIteration):  # ended meanwhile, or a zombie (no VmRSS)
            continue
    return total


def run_plan(head: Path, out: Path) -> tuple[float, float, dict]:
    """Run `navsvc plan` in a child process; return wall seconds, peak resident memory (GiB)
    and the plan.

    The memory is the plan process and its SyN process summed, sampled every 20 ms (the
    kernel's peak figure, ``ru_maxrss``, is the larger of the two, not their sum).
    """
    start = time.perf_counter()
    plan = subprocess.Popen([sys.executable, "-m", "navsvc.cli", "plan", str(head), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak_bytes = 0
    while plan.poll() is None:
        peak_bytes = max(peak_bytes, resident_bytes_of_tree(plan.pid))
        time.sleep(0.02)
    wall = time.perf_counter() - start
    if plan.returncode != 0:
        raise RuntimeError(f"navsvc plan failed with exit code {plan.returncode}")
    return wall, peak_bytes / 2**30, json.loads((out / "plan.json").read_text())


REFERENCE_SCRIPT = r"""
import json, os, sys, time
os.environ["ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS"] = str(os.cpu_count())
import ants, numpy as np, pandas as pd
fixed = ants.image_read(sys.argv[1]); moving = ants.image_read(sys.argv[2]); mni = json.loads(sys.argv[3])
start = time.perf_counter()
reg = ants.registration(fixed=fixed, moving=moving, type_of_transform="antsRegistrationSyNQuick[s]", random_seed=1)
seconds = time.perf_counter() - start
pts = pd.DataFrame({"x": [-mni[0]], "y": [-mni[1]], "z": [mni[2]]})
out = ants.apply_transforms_to_points(3, pts, reg["fwdtransforms"])
print(json.dumps({"seconds": seconds, "native_ras_mm": [-float(out["x"][0]), -float(out["y"][0]), float(out["z"][0])]}))
"""


def run_reference(brain: Path, mni_mm: list[float]) -> dict:
    """ANTs antsRegistrationSyNQuick[s] at 1 mm, patient brain -> ICBM brain; maps ``mni_mm``.

    ANTs' transform files go to the folder that holds ``brain`` (antspyx names them with
    ``tempfile.mktemp`` and never deletes them).
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run([sys.executable, "-c", REFERENCE_SCRIPT, str(templates.ICBM_T1), str(brain),
                           json.dumps([float(v) for v in mni_mm])], capture_output=True, text=True,
                          env={**os.environ, "TMPDIR": str(brain.parent)})
    if done.returncode != 0:
        raise RuntimeError(f"reference registration failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["peak_gib"] = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 2**20
    return result


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-reference", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        head, brain = make_256_head(folder)
        runs = [run_plan(head, folder / f"plan{i}") for i in range(args.runs)]
        walls = [r[0] for r in runs]
        plan = runs[-1][2]
        print(f"input: {nib.load(str(head)).shape} voxels, 1 mm, orientation "
              f"{''.join(plan['input']['orientation'])}; machine: {os.cpu_count()} cores")
        print(f"navsvc wall time per run (s): {', '.join(f'{w:.1f}' for w in walls)}", flush=True)
        ref = None if args.skip_reference else run_reference(brain, plan["target"]["mni_mm"])
        print(f"{'':34s}{'navsvc plan':>16s}{'ANTs SyNQuick[s] 1 mm':>24s}")
        print(f"{'wall time, median of runs (s)':34s}{statistics.median(walls):16.1f}"
              f"{(ref['seconds'] if ref else float('nan')):24.1f}")
        print(f"{'wall time per run (s)':34s}{', '.join(f'{w:.1f}' for w in walls):>16s}")
        print(f"{'peak memory (GiB, all processes)':34s}{max(r[1] for r in runs):16.2f}"
              f"{(ref['peak_gib'] if ref else float('nan')):24.2f}")
        print(f"{'registration stage (s)':34s}{plan['timing_s']['registration']:16.1f}")
        if ref:
            gap = np.linalg.norm(np.subtract(plan["target"]["native_ras_mm"], ref["native_ras_mm"]))
            print(f"{'mapped target (RAS mm)':34s}{str(np.round(plan['target']['native_ras_mm'], 1)):>16s}"
                  f"{str(np.round(ref['native_ras_mm'], 1)):>24s}")
            print(f"distance between the two mapped targets: {gap:.2f} mm (goal <= 3 mm)")
        print("stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in plan["timing_s"].items()))


if __name__ == "__main__":
    main()
