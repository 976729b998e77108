"""A soak of the whole pipeline on random compositions of the test transforms (Colin27).

Each case draws its own degradations, in the order a scan would meet them: the anatomy
deformed (a smooth warp, half the cases), the head placed in the scanner (a turn of
0-180 degrees about a random axis, a shift of up to 30 mm, one of the 48 voxel orders,
an oblique sheared affine in a third of the cases), the receive field (a multiplicative
bias, half the cases), noise (Rician, most cases) and a coarser grid (anisotropic or
2 mm voxels, a third of the cases). Every strength stays within what the pipeline is
documented to plan. Each case also draws what is asked of the plan: a named strategy, an
MNI coordinate near one, or a native point the clinician chose (Colin27's own target
moved by up to 5 mm, carried into the case); now and then a handle angle of -180...180
degrees and a coil distance of 0-15 mm. The ground truth is Colin27's own plan with the
same options, carried by the case's known point map. Printed per case: what was drawn,
then the mapped target's and the entry's errors, the angles between the coil's normal
(z) and handle axis (y) and Colin27's carried by the map, the hemisphere and the
registration quality, or the refusal. The normal compares like with like where the map
is affine (no warp), the handle axis where it is rigid (no oblique affine either: a shear
changes the angle to the midsagittal plane); those are marked ``*``, the others include
the map's own bending of the scalp. A refusal of a case drawn within the documented
limits, an internal error, a target on the right or a coil turned where marked is what
a soak looks for.

Usage: ``python benchmarks/random_soak.py [--cases N] [--seed N] [--default-options]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import nibabel as nib
import numpy as np

from navsvc.coords import unit
from navsvc.errors import InputError
from navsvc.options import PlanOptions
from navsvc.pipeline import make_plan
from navsvc.target.strategies import STRATEGIES
from navsvc.testing import heads
from accuracy_ground_truth import planned_colin27  # benchmarks/ is on the path when run as a script
from head_orientation_range import xyz_turn_deg

#: coarser grids drawn (mm)
VOXEL_SIZES_MM = ((1.2, 1.2, 1.5), (1.0, 1.0, 2.0), (0.9, 0.9, 1.3), (2.0, 2.0, 2.0))


def random_request(rng: np.random.Generator, colin_target_ras_mm) -> tuple[str, dict]:
    """What one case asks of the plan: its description and :class:`PlanOptions` keywords in
    Colin27's space (a native point is carried into the case by the caller)."""
    names: list[str] = []
    options: dict = {}
    draw = rng.random()
    strategy = list(STRATEGIES)[rng.integers(len(STRATEGIES))]
    if draw < 0.7:
        options["strategy"] = strategy
        names.append(strategy)
    elif draw < 0.85:
        near_mm = np.asarray(STRATEGIES[strategy].mni_mm) + rng.uniform(-8.0, 8.0, 3)
        options["mni_mm"] = tuple(float(v) for v in np.round(near_mm, 1))
        names.append("mni " + " ".join(f"{v:g}" for v in options["mni_mm"]))
    else:
        offset_mm = unit(rng.normal(size=3)) * rng.uniform(0.0, 5.0)
        options["native_ras_mm"] = tuple(float(v) for v in np.asarray(colin_target_ras_mm) + offset_mm)
        names.append(f"native +{np.linalg.norm(offset_mm):.1f}")
    if rng.random() < 0.5:
        options["handle_angle_deg"] = float(rng.integers(-180, 181))
        names.append(f"handle {options['handle_angle_deg']:g}")
    if rng.random() < 0.3:
        options["coil_distance_mm"] = float(np.round(rng.uniform(0.0, 15.0), 1))
        names.append(f"coil {options['coil_distance_mm']:g} mm")
    return " ".join(names), options


def carried_axis_angles_deg(plan: dict, base: dict, case: heads.TransformedHead) -> tuple[float, float]:
    """Angles (degrees) between the plan's coil z and y axes and the base plan's carried by
    the case's point map: the handle axis (a direction in the scalp) by the map's Jacobian
    at the base coil's centre, the normal by its inverse transpose (as normals go; the two
    agree where the map is rigid). The Jacobian is taken by central differences of 5 mm,
    exact for an affine map."""
    base_coil = np.asarray(base["coil"]["matrix"], float)
    coil = np.asarray(plan["coil"]["matrix"], float)
    steps_mm = 5.0 * np.eye(3)
    centre = base_coil[:3, 3]
    ahead = case.original_to_new(centre + steps_mm)
    behind = case.original_to_new(centre - steps_mm)
    jacobian = ((ahead - behind) / 10.0).T  # column j: d(new)/d(original_j)
    carried = {2: np.linalg.solve(jacobian.T, base_coil[:3, 2]), 1: jacobian @ base_coil[:3, 1]}
    return tuple(float(np.degrees(np.arccos(np.clip(np.dot(unit(carried[c]), coil[:3, c]), -1.0, 1.0))))
                 for c in (2, 1))


def random_case(original: nib.Nifti1Image, rng: np.random.Generator) -> tuple[str, str, heads.TransformedHead]:
    """One random composition, its description and what its point map is: "rigid",
    "affine" (an oblique affine, no warp) or "warp"."""
    names: list[str] = []
    steps: list = []
    kind = "rigid"
    if rng.random() < 0.5:
        amplitude = rng.uniform(1.0, 5.0)
        steps.append(lambda im: heads.smooth_warp(im, rng, amplitude_mm=amplitude, wavelength_mm=80.0))
        names.append(f"warp {amplitude:.1f}")
        kind = "warp"
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
        kind = "affine" if kind == "rigid" else kind
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
    return ", ".join(names), kind, case


def main() -> None:
    """Plan the random cases; print one row per case and a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--default-options", action="store_true",
                        help="plan every case with the default options (fox2012, 45 degrees, 4 mm)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    # its own stream, so that a seed draws the same compositions with or without --default-options
    request_rng = np.random.default_rng([args.seed, 1])
    errors: list[float] = []
    normal_deg: list[float] = []  # cases without a warp
    handle_deg: list[float] = []  # rigid cases
    refused = internal = right = skipped = 0
    with planned_colin27() as (original, default_plan, tmp):
        colin_target_ras_mm = default_plan["target"]["cortex_ras_mm"]
        base_plans: dict[tuple, dict | str] = {(): default_plan}  # a str: why Colin27 itself was refused
        print(f"{'case':72s}{'asked':>44s}{'mapped mm':>10s}{'entry mm':>9s}{'z deg':>7s}{'y deg':>7s}"
              f"{'hemi':>6s}{'quality':>8s}{'s':>6s}")
        for _ in range(args.cases):
            name, kind, case = random_case(original, rng)
            asked, options = ("default", {}) if args.default_options else random_request(
                request_rng, colin_target_ras_mm)
            label = f"{name:72s}{asked:>44s}"
            key = tuple(sorted(options.items()))
            if key not in base_plans:
                try:
                    base_plans[key] = make_plan(tmp / "original.nii.gz", tmp / "base", PlanOptions(**options))
                except InputError as exc:  # e.g. an MNI point with no cortex near it: nothing to compare
                    base_plans[key] = str(exc)
            base = base_plans[key]
            if isinstance(base, str):
                skipped += 1
                print(f"{label}  skipped, Colin27 itself refused: {base}", flush=True)
                continue
            if "native_ras_mm" in options:
                options["native_ras_mm"] = tuple(float(v) for v in case.original_to_new(options["native_ras_mm"])[0])
            nib.save(case.image, str(tmp / "case.nii.gz"))
            start = time.perf_counter()
            try:
                plan = make_plan(tmp / "case.nii.gz", tmp / "case", PlanOptions(**options))
            except InputError as exc:
                refused += 1
                print(f"{label}  refused: {exc}", flush=True)
                continue
            except Exception as exc:  # noqa: BLE001 - counted and shown: what the soak is for
                internal += 1
                print(f"{label}  INTERNAL ERROR: {type(exc).__name__}: {exc}", flush=True)
                continue
            gaps = [float(np.linalg.norm(np.asarray(plan[a][b]) - case.original_to_new(base[a][b])[0]))
                    for a, b in (("target", "native_ras_mm"), ("entry", "scalp_ras_mm"))]
            z_deg, y_deg = carried_axis_angles_deg(plan, base, case)
            errors.append(gaps[0])
            if kind != "warp":
                normal_deg.append(z_deg)
            if kind == "rigid":
                handle_deg.append(y_deg)
            right += plan["target"]["hemisphere"] != "left"
            marks = (" " if kind == "warp" else "*", "*" if kind == "rigid" else " ")
            print(f"{label}{gaps[0]:10.2f}{gaps[1]:9.2f}{z_deg:6.1f}{marks[0]}{y_deg:6.1f}{marks[1]}"
                  f"{plan['target']['hemisphere']:>6s}{plan['registration']['quality']['value']:8.3f}"
                  f"{time.perf_counter() - start:6.1f}", flush=True)
    if errors:
        print(f"planned {len(errors)}, refused {refused}, internal errors {internal}, on the right {right}, "
              f"skipped (Colin27 refused what was asked) {skipped}; "
              f"mapped target median {statistics.median(errors):.2f} mm, worst {max(errors):.2f} mm"
              + (f"; coil normal without a warp within {max(normal_deg):.1f} deg" if normal_deg else "")
              + (f", handle axis on rigid cases within {max(handle_deg):.1f} deg" if handle_deg else ""))


if __name__ == "__main__":
    main()
