"""A soak of the whole pipeline on random compositions of the test transforms (Colin27).

Each case draws its own degradations, in the order a scan would meet them: the anatomy
deformed (a smooth warp, half the cases), the head placed in the scanner (a turn of
0-180 degrees about a random axis, a shift of up to 30 mm, one of the 48 voxel orders,
an oblique sheared affine in a third of the cases), the receive field (a multiplicative
bias, half the cases), noise (Rician, most cases) and a coarser grid (anisotropic or
2 mm voxels, a third of the cases). Every strength stays within what the pipeline is
documented to plan. The ground truth is Colin27's own plan carried by the case's known
point map. Printed per case: what was drawn, then the mapped target's and the entry's
errors, the hemisphere and the registration quality, or the refusal. A refusal of a case
drawn within the documented limits, or an internal error, is what a soak looks for.

Usage: ``python benchmarks/random_soak.py [--cases N] [--seed N]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import nibabel as nib
import numpy as np

from navsvc.errors import InputError
from navsvc.pipeline import make_plan
from navsvc.testing import heads
from accuracy_ground_truth import planned_colin27  # benchmarks/ is on the path when run as a script
from head_orientation_range import xyz_turn_deg

#: coarser grids drawn (mm)
VOXEL_SIZES_MM = ((1.2, 1.2, 1.5), (1.0, 1.0, 2.0), (0.9, 0.9, 1.3), (2.0, 2.0, 2.0))


def random_case(original: nib.Nifti1Image, rng: np.random.Generator) -> tuple[str, heads.TransformedHead]:
    """One random composition and its description."""
    names: list[str] = []
    steps: list = []
    if rng.random() < 0.5:
        amplitude = rng.uniform(1.0, 5.0)
        steps.append(lambda im: heads.smooth_warp(im, rng, amplitude_mm=amplitude, wavelength_mm=80.0))
        names.append(f"warp {amplitude:.1f}")
    perm, flips = list(heads.all_orientations())[rng.integers(48)]
    steps.append(lambda im: heads.reorient(im, perm, flips))
    names.append(heads.orientation_label(perm, flips))
    angle, axis = rng.uniform(0.0, 180.0), rng.normal(size=3)
    xyz = xyz_turn_deg(angle, axis)
    shift_mm = rng.uniform(-30.0, 30.0, 3)
    steps.append(lambda im: heads.rigid(im, tuple(xyz), tuple(shift_mm)))
    names.append(f"turn {angle:.0f}")
    if rng.random() < 1 / 3:
        steps.append(lambda im: heads.oblique_affine(im, rng))
        names.append("oblique")
    if rng.random() < 0.5:
        strength = rng.uniform(0.1, 0.5)
        steps.append(lambda im: heads.multiply_bias_field(im, rng, strength))
        names.append(f"bias {strength:.2f}")
    if rng.random() < 0.8:
        sigma = rng.uniform(0.01, 0.10)
        steps.append(lambda im: heads.add_rician_noise(im, rng, sigma))
        names.append(f"noise {100 * sigma:.0f}%")
    if rng.random() < 1 / 3:
        size = VOXEL_SIZES_MM[rng.integers(len(VOXEL_SIZES_MM))]
        steps.append(lambda im: heads.resample(im, size))
        names.append("x".join(f"{v:g}" for v in size) + " mm")
    case = steps[0](original)
    for step in steps[1:]:
        case = case.then(step)
    return ", ".join(names), case


def main() -> None:
    """Plan the random cases; print one row per case and a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    errors: list[float] = []
    refused = internal = 0
    with planned_colin27() as (original, base, tmp):
        print(f"{'case':72s}{'mapped mm':>10s}{'entry mm':>9s}{'hemi':>6s}{'quality':>8s}{'s':>6s}")
        for _ in range(args.cases):
            name, case = random_case(original, rng)
            nib.save(case.image, str(tmp / "case.nii.gz"))
            start = time.perf_counter()
            try:
                plan = make_plan(tmp / "case.nii.gz", tmp / "case")
            except InputError as exc:
                refused += 1
                print(f"{name:72s}  refused: {exc}", flush=True)
                continue
            except Exception as exc:  # noqa: BLE001 - counted and shown: what the soak is for
                internal += 1
                print(f"{name:72s}  INTERNAL ERROR: {type(exc).__name__}: {exc}", flush=True)
                continue
            gaps = [float(np.linalg.norm(np.asarray(plan[a][b]) - case.original_to_new(base[a][b])[0]))
                    for a, b in (("target", "native_ras_mm"), ("entry", "scalp_ras_mm"))]
            errors.append(gaps[0])
            print(f"{name:72s}{gaps[0]:10.2f}{gaps[1]:9.2f}{plan['target']['hemisphere']:>6s}"
                  f"{plan['registration']['quality']['value']:8.3f}{time.perf_counter() - start:6.1f}", flush=True)
    if errors:
        print(f"planned {len(errors)}, refused {refused}, internal errors {internal}; mapped target median "
              f"{statistics.median(errors):.2f} mm, worst {max(errors):.2f} mm")


if __name__ == "__main__":
    main()
