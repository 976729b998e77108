"""Time and memory of a plan by voxel size, up to the largest image accepted.

What an administrator sizes a worker's memory by. For Colin27 itself (1 mm), the 256³ 1 mm
head of ``plan_speed.py``, Colin27 resampled to 0.7 and 0.5 mm voxels, and Colin27 at
0.4 mm in a 640³ field of view (2**28 voxels: ``navsvc.io.limits.MAX_VOXELS``, the largest
image accepted), each but the first moved rigidly and saved as 16-bit integers: the
``.nii.gz`` size, the wall time of one ``navsvc plan`` run, the peak memory of its processes
summed (the plan and its SyN stage's process), and how far the mapped target, the cortical
target and the entry lie from Colin27's own plan carried by the move, and the dose
suggestion's difference.

Usage: ``python benchmarks/voxel_size_range.py`` (about 3 minutes)
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np

from navsvc.coords import apply_affine
from navsvc.examples import example_head_affine_change
from navsvc.io.limits import MAX_VOXELS
from navsvc.testing import heads
from plan_speed import make_256_head, run_plan  # benchmarks/ is on the path when run as a script

#: a moderate rigid move (degrees about x, y, z; mm), so that no case is in the template's frame
MOVE = ((12.0, -8.0, 20.0), (5.0, -10.0, 7.0))
POINTS = (("target", "native_ras_mm"), ("target", "cortex_ras_mm"), ("entry", "scalp_ras_mm"))


def _save_int16(img: nib.Nifti1Image, path: Path) -> Path:
    data = np.rint(np.asarray(img.dataobj, dtype=np.float32)).astype(np.int16)
    nib.save(nib.Nifti1Image(data, img.affine), str(path))
    return path


def cases(colin: nib.Nifti1Image, folder: Path):
    """(name, path, original-to-new point map) of each input, written into ``folder``."""
    yield "Colin27 itself, 1 mm", _save_int16(colin, folder / "colin.nii.gz"), lambda p: np.asarray(p, float)
    head, _ = make_256_head(folder)
    change = example_head_affine_change()
    yield "256³ 1 mm, tilted (plan_speed.py)", head, lambda p: apply_affine(change, p)
    for voxel_mm, shape in ((0.7, None), (0.5, None), (0.4, (640, 640, 640))):
        case = heads.resample(colin, (voxel_mm,) * 3)
        if shape is not None:
            case = case.then(lambda im: heads.widen_field_of_view(im, shape))
        case = case.then(lambda im: heads.rigid(im, *MOVE))
        name = f"{voxel_mm} mm, {'×'.join(str(n) for n in case.image.shape)}, moved"
        yield name, _save_int16(case.image, folder / f"colin_{voxel_mm}.nii.gz"), case.original_to_new


def main() -> None:
    """Plan each case once and print one row per case."""
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    colin = heads.load_colin27()
    print(f"{'case':34s}{'Mvoxels':>8s}{'file MB':>8s}{'wall s':>8s}{'peak GiB':>9s}"
          f"{'target mm':>10s}{'cortex mm':>10s}{'entry mm':>9s}{'dose %MSO':>10s}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base = None
        for index, (name, path, to_new) in enumerate(cases(colin, folder)):
            wall, peak_gib, plan = run_plan(path, folder / f"plan{index}")
            base = base or plan
            gaps = [float(np.linalg.norm(np.asarray(plan[a][b]) - to_new(np.asarray([base[a][b]]))[0]))
                    for a, b in POINTS]
            offsets = (plan["dose"]["mt_offset_pct_mso"], base["dose"]["mt_offset_pct_mso"])
            dose = "n/a" if None in offsets else f"{offsets[0] - offsets[1]:+.1f}"
            voxels = int(np.prod(plan["input"]["shape"]))
            print(f"{name:34s}{voxels / 1e6:8.1f}{path.stat().st_size / 1e6:8.1f}{wall:8.1f}{peak_gib:9.2f}"
                  + "".join(f"{g:10.2f}" for g in gaps[:2]) + f"{gaps[2]:9.2f}{dose:>10s}", flush=True)
            path.unlink()
    print(f"largest image accepted: {MAX_VOXELS:,} voxels (navsvc.io.limits.MAX_VOXELS); "
          "one run per case, wall times vary by a few seconds between runs")


if __name__ == "__main__":
    main()
