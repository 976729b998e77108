"""Where in the brain a nonlinear warp is not recovered: the MNI-to-native map's error over
the whole brain, by depth below the brain surface (Colin27, the accuracy benchmark's warp A).

The accuracy benchmark scores one point, the mapped target. Here every point of a 10 mm
grid inside the ICBM 2009a brain is mapped into the unwarped and the warped Colin27 by
:func:`navsvc.registration.register_to_mni`; the ground truth is the unwarped head's
mapped point carried by the known warp (as in ``accuracy_ground_truth.py``). The errors
are grouped by the point's depth below the template's brain surface. Two SyN schedules
run in the same process: the shipped one and a heavier one (100x70x50 iterations at 8, 4
and 2 mm, ``antsRegistrationSyNQuick``'s count at 2 mm). ``moved`` is how far the warp
displaced the anatomy: the error of a registration that recovered none of it.

Measured 2026-12-01 (2 cores, 189 s), 1855 grid points, mm, median / 90th percentile:

=================  ====  ===========  ===========  ===========
depth mm           n     moved        shipped      heavier
=================  ====  ===========  ===========  ===========
0-5                375   6.04 / 7.53  4.08 / 7.44  3.44 / 8.05
5-10               355   6.01 / 7.64  3.49 / 7.55  2.72 / 8.22
10-20              538   6.31 / 7.60  3.26 / 6.84  2.19 / 7.60
20-40              533   6.28 / 7.74  2.78 / 5.65  1.95 / 4.68
40 and more        54    5.29 / 6.30  1.72 / 3.64  0.99 / 2.65
all                1855  6.18 / 7.58  3.25 / 6.80  2.38 / 6.99
<20 mm of fox2012  26    6.42 / 7.95  6.04 / 7.21  5.00 / 8.68
fox2012                  6.71         7.65         7.14
=================  ====  ===========  ===========  ===========

The warp is recovered best in the deep brain, whose large structures (ventricles, basal
ganglia, white matter) an individual shares with the average, and worst in the outer
10 mm, the cortex, where the heavier schedule helps the median but not the tail: a
tenth of the cortical points are off by as much as the warp moved them, i.e. nothing of
the warp was recovered there. The fox2012 target lies in that tail; on this warp the
error is not peculiar to the target but shared by the cortex within 20 mm of it.

Usage: ``python benchmarks/warp_error_by_depth.py [--case "nonlinear warp 5 mm A"]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

from navsvc.coords import voxel_to_world, world_to_voxel
from navsvc.grid import resample_to_working_grid
from navsvc.registration import SYN_ITERATIONS, register_to_mni
from navsvc.target.strategies import get_strategy
from navsvc.testing import heads
from navsvc.testing.cases import accuracy_case

#: the heavier schedule: SyN iterations at 8, 4 and 2 mm
MORE_ITERATIONS = (100, 70, 50)
#: spacing of the grid of MNI points, mm
GRID_MM = 10.0
#: a grid point lies in the brain where the template is brighter than this fraction of its maximum
GRID_THRESHOLD = 0.3
#: the brain surface, for depths: the template brighter than this fraction of its maximum
SURFACE_THRESHOLD = 0.05
#: depth bands below the brain surface, mm
DEPTH_BANDS_MM = ((0, 5), (5, 10), (10, 20), (20, 40), (40, np.inf))
#: radius of the neighbourhood of the target also summarised, MNI mm
NEAR_TARGET_MM = 20.0


def brain_grid_mni_mm() -> tuple[np.ndarray, np.ndarray]:
    """Points of a :data:`GRID_MM` grid inside the ICBM brain (N, 3) MNI mm, and each
    point's depth below the brain surface (N,) mm."""
    template = heads.load_icbm_template()
    data = np.asarray(template.dataobj, np.float32)
    voxel_mm = np.sqrt((template.affine[:3, :3] ** 2).sum(axis=0))
    depth_mm = ndimage.distance_transform_edt(data > SURFACE_THRESHOLD * data.max(), sampling=voxel_mm)
    points = voxel_to_world(template.affine, np.argwhere(data > GRID_THRESHOLD * data.max()))
    points = points[np.all(np.isclose(np.mod(points, GRID_MM), 0.0) | np.isclose(np.mod(points, GRID_MM), GRID_MM), axis=1)]
    ijk = np.rint(world_to_voxel(template.affine, points)).astype(int)
    return points, depth_mm[tuple(ijk.T)]


def mapped_mni_points(img: nib.Nifti1Image, points_mni_mm: np.ndarray, iterations, folder: Path) -> np.ndarray:
    """``points_mni_mm`` mapped into ``img`` (native RAS mm) by the plan's registration."""
    native = resample_to_working_grid(heads.as_loaded_t1(img)).downsampled(2)
    return register_to_mni(native, Path(tempfile.mkdtemp(dir=folder)), syn_iterations=iterations).mni_to_native(points_mni_mm)


def _cell(errors: np.ndarray) -> str:
    return f"{np.median(errors):5.2f} / {np.percentile(errors, 90):5.2f}"


def main() -> None:
    """Print the errors by depth band, the whole grid and the fox2012 target, per schedule."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="nonlinear warp 5 mm A", help="an accuracy case's name")
    args = parser.parse_args()
    start = time.perf_counter()
    grid_mni_mm, depth_mm = brain_grid_mni_mm()
    points = np.vstack([get_strategy("fox2012").mni_mm, grid_mni_mm])
    colin = heads.load_colin27()
    case = accuracy_case(args.case, colin)
    errors, moved = {}, None
    with tempfile.TemporaryDirectory(prefix="navsvc-depth-") as tmp:
        for label, iterations in (("shipped", SYN_ITERATIONS), ("heavier", MORE_ITERATIONS)):
            truth = case.original_to_new(mapped_mni_points(colin, points, iterations, Path(tmp)))
            got = mapped_mni_points(case.image, points, iterations, Path(tmp))
            errors[label] = np.linalg.norm(got - truth, axis=1)
            if moved is None:
                moved = np.linalg.norm(truth - case.new_to_original(truth), axis=1)
    print(f"{args.case}: {len(grid_mni_mm)} grid points, {time.perf_counter() - start:.0f} s; "
          "errors median / 90th percentile, mm")
    print(f"{'depth mm':22s}{'n':>6s}{'moved':>16s}{'shipped':>16s}{'heavier':>16s}")
    rows = [(f"{lo:g}-{hi:g}" if np.isfinite(hi) else f"{lo:g} and more", (depth_mm >= lo) & (depth_mm < hi))
            for lo, hi in DEPTH_BANDS_MM]
    rows.append(("all", np.ones(len(depth_mm), bool)))
    rows.append((f"<{NEAR_TARGET_MM:g} mm of fox2012", np.linalg.norm(grid_mni_mm - points[0], axis=1) < NEAR_TARGET_MM))
    for label, band in rows:
        if band.any():
            cells = [_cell(v[1:][band]) for v in (moved, errors["shipped"], errors["heavier"])]
            print(f"{label:22s}{band.sum():6d}" + "".join(f"{c:>16s}" for c in cells))
    print(f"{'fox2012':22s}{'':6s}" + "".join(f"{v[0]:16.2f}" for v in (moved, errors["shipped"], errors["heavier"])))


if __name__ == "__main__":
    main()
