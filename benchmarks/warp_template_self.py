"""Is the warp's slide along the cortex in the ICBM template at all? The template warped and
registered back to itself, next to Colin27 warped the same way.

Each warp (the accuracy benchmark's "nonlinear warp 5 mm A" and the sweep's seeds 0-2, all
5 mm at an 80 mm wavelength, no rigid move) deforms two brains: Colin27 (a different
individual from the template: the whole plan's registration) and the ICBM 2009a template
itself (brain only: the brain stage from the centres of mass). Each is registered with
the shipped SyN iterations and with more (100x70x50 at 8, 4 and 2 mm), and the fox2012
target is mapped. The ground truth is the unwarped brain's mapped target carried by the
warp; ``|u|`` is the warp's displacement there.

Measured 2026-12-01 (2 cores, about 3 minutes per warp), mapped-target error in mm:

================  ======  =============  ==========  ============  =========
warp              |u|     Colin shipped  Colin more  ICBM shipped  ICBM more
================  ======  =============  ==========  ============  =========
accuracy warp A   6.65    7.65           7.14        6.04          0.91
sweep seed 0      8.17    10.11          7.79        8.67          6.86
sweep seed 1      6.18    3.88           6.66        1.09          0.26
sweep seed 2      7.17    1.69           2.37        0.93          0.40
================  ======  =============  ==========  ============  =========

Registered back to itself, the template recovers three of the four warps to under 1 mm
once SyN iterates at 2 mm (seed 0's slide it cannot: 6.86 mm): for its own anatomy the
information is there. Colin27, a different brain, gains nothing from the same iterations
(its brain correlation rises from 0.78 to 0.90 on warp A, its target error does not
fall): its DLPFC sulci have no unique counterpart in the average, so a better-aligned
brain does not carry its target along. The limit is the anatomy's match to the
template, not the registration's effort.

Usage: ``python benchmarks/warp_template_self.py [--seeds 3]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from navsvc.coords import lps_to_ras, ras_to_lps
from navsvc.grid import resample_to_working_grid
from navsvc.point_maps import PointChain
from navsvc.registration import SYN_ITERATIONS, register_brain
from navsvc.registration_grid import registration_grid_image
from navsvc.target.strategies import get_strategy
from navsvc.testing import heads
from navsvc.testing.cases import accuracy_case
from warp_error_by_depth import MORE_ITERATIONS, mapped_mni_points  # benchmarks/ is on the path as a script


def _warps(seeds: int):
    """(name, maker): each maker applies the same warp to whatever head it is given."""
    yield "accuracy warp A", lambda im: accuracy_case("nonlinear warp 5 mm A", im)
    for seed in range(seeds):
        yield f"sweep seed {seed}", (lambda s: lambda im: heads.smooth_warp(
            im, np.random.default_rng(1000 + s), amplitude_mm=5.0, wavelength_mm=80.0))(seed)


def _colin_target(img, mni_mm, iterations, folder: Path) -> np.ndarray:
    return mapped_mni_points(img, mni_mm, iterations, folder)[0]


def _template_target(img, mni_mm, iterations, folder: Path) -> np.ndarray:
    brain = registration_grid_image(resample_to_working_grid(heads.as_loaded_t1(img)))
    stage = register_brain(brain, None, Path(tempfile.mkdtemp(dir=folder)), iterations)
    chain = PointChain(tuple(stage["fwdtransforms"]), (False,) * len(stage["fwdtransforms"]))
    return lps_to_ras(chain(ras_to_lps(mni_mm)))[0]


def main() -> None:
    """Print one row per warp: |u| at the target and the four mapped-target errors."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="sweep seeds besides the accuracy warp A")
    args = parser.parse_args()
    mni_mm = np.asarray([get_strategy("fox2012").mni_mm], float)
    colin, template = heads.load_colin27(), heads.load_icbm_template()
    schedules = {"shipped": SYN_ITERATIONS, "more": MORE_ITERATIONS}
    with tempfile.TemporaryDirectory(prefix="navsvc-self-") as tmp:
        folder = Path(tmp)
        bases = {(head, key): mapper(img, mni_mm, its, folder)
                 for head, img, mapper in (("colin", colin, _colin_target), ("icbm", template, _template_target))
                 for key, its in schedules.items()}
        print(f"{'warp':16} {'|u| mm':>6} {'Colin shipped':>13} {'Colin more':>10} {'ICBM shipped':>12} "
              f"{'ICBM more':>9} {'s':>5}")
        for name, make in _warps(args.seeds):
            start = time.perf_counter()
            row = []
            for head, img, mapper in (("colin", colin, _colin_target), ("icbm", template, _template_target)):
                case = make(img)
                for key, its in schedules.items():
                    target = mapper(case.image, mni_mm, its, folder)
                    row.append(float(np.linalg.norm(target - case.original_to_new(bases[head, key][None])[0])))
            u = float(np.linalg.norm(case.original_to_new(bases["icbm", "shipped"][None])[0] - bases["icbm", "shipped"]))
            print(f"{name:16} {u:6.2f} {row[0]:13.2f} {row[1]:10.2f} {row[2]:12.2f} {row[3]:9.2f} "
                  f"{time.perf_counter() - start:5.0f}", flush=True)


if __name__ == "__main__":
    main()
