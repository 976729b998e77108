"""How often the fluid caution fires on heads without a lesion, over many targets.

``fluid_at_target.py`` measures lesions, and heads without one at the default target. This
one reads the widest ball of fluid where the template brain has tissue (``fluid.widest_mm``)
at every named strategy, at the motor hand knob, and at ``--mni`` targets on a grid over the
left frontal lobe, on Colin27 and on copies of it: the accuracy benchmark's two 5 mm
nonlinear warps and its combined case (brains shaped differently from the template, where
the registration leaves this patient's sulci off the template's), and the strongest
degradations the pipeline accepts. Each head is registered once; every target is then
individualized as a plan would (grid targets the pipeline refuses are left out).

Usage: ``python benchmarks/fluid_false_alarms.py [--grid-step 5] [--heads TEXT]`` (about
25 minutes at 5 mm, 7 minutes at 10 mm; ``--heads warp`` reads only the warped copies)

Measured 2026-12-06 (2 cores, a slow day: 40 minutes; cautioned from 6 mm, marked *; the
grid: 405 targets, "grid n" those planned):

==================================  =======  ====  ====  ======  ====  =======  ===  ======  ======  ===  ===  =========
head                                fox2012  ba46  ba9   fivecm  f3    fitzg.   M1   grid n  median  90%  max  cautioned
==================================  =======  ====  ====  ======  ====  =======  ===  ======  ======  ===  ===  =========
Colin27                             2.8      3.5   4.5   4.5     4.0   2.8      2.8  380     3.5     4.5  4.9  0.0 %
nonlinear warp 5 mm A               4.0      4.0   3.5   4.0     2.8   2.0      2.0  366     2.8     4.5  6.0  0.3 %
nonlinear warp 5 mm B + rigid       2.8      3.5   2.8   6.3*    4.0   2.0      2.0  380     2.8     4.5  4.9  0.0 %
all: warp, bias, noise, resample    4.0      4.0   4.0   4.0     4.0   2.8      2.8  365     3.5     4.5  6.0  2.7 %
Rician noise 12 % + rigid           2.8      2.8   2.8   3.5     2.8   2.8      2.0  381     2.8     3.5  4.5  0.0 %
voxels 3x3x3 mm + rigid             2.8      2.8   4.5   4.5     2.8   2.8      2.0  371     2.8     4.5  4.9  0.0 %
intensities to the power 2 + rigid  2.8      3.5   4.5   4.0     4.0   3.5      2.0  363     3.5     4.5  4.5  0.0 %
==================================  =======  ====  ====  ======  ====  =======  ===  ======  ======  ===  ===  =========

Until 2026-12-06 the three warped rows were other warps than the accuracy benchmark's (drawn
from a fresh generator): there ``ba9`` read 6.6 and 6.9 mm and 10.8 and 11.4 % of the grid,
6.9 % on the combined copy. Where the registration leaves this patient's sulci on the
template's tissue, the caution fires on healthy heads; widths alone cannot tell those from
cavities of 6-8 mm (5.7-6.9 mm in ``fluid_at_target.py``).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np

from navsvc.errors import InputError, PipelineError
from navsvc.grid import resample_to_working_grid
from navsvc.io.loader import load_t1
from navsvc.options import PlanOptions
from navsvc.pipeline import PlanContext, locate_m1, locate_target, register_with_anatomy, require_cortical_depth
from navsvc.progress import StageTimer
from navsvc.target.fluid import WIDEST_CAUTION_MM
from navsvc.target.strategies import STRATEGIES
from navsvc.testing import heads
from navsvc.testing.cases import accuracy_case, random_rigid

#: the --mni grid over the left frontal lobe (MNI mm): x, y and z ranges, ends included
GRID_MM = ((-50, -30), (15, 55), (10, 50))


def healthy_heads(rng: np.random.Generator):
    """(name, make) of Colin27 and the copies read; the warped ones are the accuracy
    benchmark's own (drawn after its earlier cases, as :func:`accuracy_case` does)."""
    return [("Colin27", lambda im: heads.rigid(im))] + [
        (name, lambda im, name=name: accuracy_case(name, im))
        for name in ("nonlinear warp 5 mm A", "nonlinear warp 5 mm B + rigid",
                     "all: warp + bias + noise + resample + oblique")] + [
        ("Rician noise 12 % + rigid", lambda im: heads.add_rician_noise(im, rng, 0.12).then(random_rigid(rng))),
        ("voxels 3x3x3 mm + rigid", lambda im: heads.resample(im, (3.0, 3.0, 3.0)).then(random_rigid(rng))),
        ("intensities to the power 2 + rigid", lambda im: heads.raise_to_power(im, 2.0).then(random_rigid(rng))),
    ]


def plan_context(path: Path, scratch: Path) -> PlanContext:
    """Load and register ``path`` as ``navsvc plan`` does, without writing a plan."""
    t1 = load_t1(path, None, work_dir=scratch)
    grid = resample_to_working_grid(t1)
    coarse = grid.downsampled(2)
    return PlanContext.of(t1, grid, coarse, *register_with_anatomy(t1, coarse, scratch, StageTimer()))


def widest_at(ctx: PlanContext, options: PlanOptions) -> float | None:
    """``fluid.widest_mm`` at the target ``options`` give, or None when the plan refuses it."""
    try:
        target = locate_target(options, ctx)
        require_cortical_depth(target, ctx.brain_mask, ctx.scalp, chosen_by_user=options.mni_mm is not None)
    except (InputError, PipelineError):
        return None
    return target.fluid_widest_mm


def main() -> None:
    """Read each head's named targets, hand knob and grid; one row per head."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid-step", type=float, default=5.0, help="grid spacing, MNI mm")
    parser.add_argument("--heads", default="", metavar="TEXT",
                        help="read only the heads whose name contains TEXT (e.g. warp)")
    args = parser.parse_args()
    axes = [np.arange(lo, hi + 1e-9, args.grid_step) for lo, hi in GRID_MM]
    grid_mni_mm = np.array(np.meshgrid(*axes, indexing="ij")).reshape(3, -1).T
    names = list(STRATEGIES)
    print(f"Widest ball of fluid where the template brain has tissue, mm; cautioned from {WIDEST_CAUTION_MM:g} "
          f"(marked *).\nGrid: {len(grid_mni_mm)} --mni targets, every {args.grid_step:g} mm over x {GRID_MM[0]}, "
          f"y {GRID_MM[1]}, z {GRID_MM[2]} (MNI mm).\n")
    print(f"{'head':46s}" + "".join(f"{n[:10]:>11s}" for n in names) + f"{'M1':>7s}"
          f"{'grid n':>8s}{'median':>7s}{'90 %':>6s}{'max':>6s}{'cautioned':>11s}")
    rng = np.random.default_rng(2026)
    colin = heads.load_colin27()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for index, (name, make) in enumerate(healthy_heads(rng)):
            image = make(colin).image  # made when skipped too: the next copies draw from the same generator
            if args.heads not in name:
                continue
            path, scratch = tmp / f"{index}.nii.gz", tmp / str(index)
            nib.save(image, str(path))
            scratch.mkdir()
            ctx = plan_context(path, scratch)
            named = [widest_at(ctx, PlanOptions(strategy=n)) for n in names]
            m1 = locate_m1(ctx).fluid_widest_mm
            on_grid = np.array([w for w in (widest_at(ctx, PlanOptions(mni_mm=tuple(p))) for p in grid_mni_mm)
                                if w is not None])
            cells = "".join(f"{'refused':>11s}" if w is None else f"{w:10.1f}{'*' if w >= WIDEST_CAUTION_MM else ' '}"
                            for w in named)
            median, tenth, widest = np.percentile(on_grid, [50, 90, 100])
            share = float(np.mean(on_grid >= WIDEST_CAUTION_MM))
            print(f"{name:46s}{cells}{m1:6.1f}{'*' if m1 >= WIDEST_CAUTION_MM else ' '}{len(on_grid):8d}"
                  f"{median:7.1f}{tenth:6.1f}{widest:6.1f}{100 * share:10.1f} %", flush=True)


if __name__ == "__main__":
    main()
