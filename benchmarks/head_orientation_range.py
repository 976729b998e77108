"""How far from upright a head may be turned in its image's world: plans of Colin27 turned
about each scanner axis and about random axes, with the head stage's search over starting
orientations (``navsvc/head_start_search.py``) and without it, side by side.

Without the search the rigid head stage, started from the centres of mass, recovered
turns up to about 50 degrees; beyond that the plan was refused or, in the band where the
optimizer stops in a wrong optimum that the brain stage half recovers, made several mm to
31 mm off. Printed per turn and per variant: the mapped target's error against the
untransformed plan carried by the turn, the scalp entry's, the registration quality and
the plan's seconds, or the refusal.

Usage: ``python benchmarks/head_orientation_range.py [--seed N] [--random-turns N] [--search-only]``
(by default the turns about each axis, then 60, 120 and 170 degrees about random axes drawn
with seed 48; ``--random-turns N`` draws N turns of 30-180 degrees about random axes
instead, each with a random shift of up to 30 mm, for a soak)
"""

from __future__ import annotations

import argparse
import time
from contextlib import contextmanager

import nibabel as nib
import numpy as np
from scipy.spatial.transform import Rotation

from navsvc import registration
from navsvc.errors import InputError
from navsvc.pipeline import make_plan
from navsvc.testing import heads
from accuracy_ground_truth import planned_colin27  # benchmarks/ is on the path when run as a script

#: turns about one scanner axis, degrees (x: pitch, y: roll, z: yaw)
AXIS_TURNS_DEG = (55.0, 90.0, 135.0, 180.0)
#: turns about random axes, degrees
RANDOM_TURNS_DEG = (60.0, 120.0, 170.0)


@contextmanager
def without_search():
    """The head stage as it was before the search: rigid from the centres of mass only."""
    kept = registration.better_starts
    registration.better_starts = lambda *args, **kwargs: []
    try:
        yield
    finally:
        registration.better_starts = kept


def xyz_turn_deg(angle_deg: float, axis) -> np.ndarray:
    """The turns about x, then y, then z (the order of ``heads.rigid``), degrees, of a turn
    of ``angle_deg`` about ``axis`` (any length)."""
    axis = np.asarray(axis, dtype=float)
    return Rotation.from_rotvec(np.radians(angle_deg) * axis / np.linalg.norm(axis)).as_euler("xyz", degrees=True)


def turns(seed: int = 48, random_turns: int = 0) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, rotation in degrees about x, y, z, shift in mm) of every case: the turns about
    each axis and :data:`RANDOM_TURNS_DEG` about random axes, or ``random_turns`` random
    turns of 30-180 degrees with random shifts."""
    rng = np.random.default_rng(seed)
    cases = []
    if random_turns:
        angles, shifts = rng.uniform(30.0, 180.0, random_turns), rng.uniform(-30.0, 30.0, (random_turns, 3))
    else:
        angles, shifts = RANDOM_TURNS_DEG, np.zeros((len(RANDOM_TURNS_DEG), 3))
        for axis in range(3):
            for angle in AXIS_TURNS_DEG:
                rotation = np.zeros(3)
                rotation[axis] = angle
                cases.append((f"{angle:.0f} deg about {'xyz'[axis]}", rotation, np.zeros(3)))
    for angle, shift in zip(angles, shifts):
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        cases.append((f"{angle:.0f} deg about ({', '.join(f'{a:.2f}' for a in axis)})", xyz_turn_deg(angle, axis), shift))
    return cases


def _row(base: dict, case, folder) -> str:
    start = time.perf_counter()
    try:
        plan = make_plan(folder / "case.nii.gz", folder / "case")
    except InputError as exc:
        return f"refused ({str(exc)[:60]}...)"
    seconds = time.perf_counter() - start
    errors = [float(np.linalg.norm(np.asarray(plan[a][b]) - case.original_to_new(base[a][b])[0]))
              for a, b in (("target", "native_ras_mm"), ("entry", "scalp_ras_mm"))]
    return (f"target {errors[0]:5.2f} mm, entry {errors[1]:5.2f} mm, quality "
            f"{plan['registration']['quality']['value']:.3f}, {plan['target']['hemisphere']}, {seconds:4.1f} s")


def main() -> None:
    """Plan every turn with and without the search; print one row per turn."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=48, help="random draw of the axes (and angles, shifts)")
    parser.add_argument("--random-turns", type=int, default=0, help="this many random turns instead")
    parser.add_argument("--search-only", action="store_true", help="plan only with the search")
    args = parser.parse_args()
    with planned_colin27() as (original, base, tmp):
        print(f"{'turn':38s}{'with the search':62s}without it")
        for name, rotation_deg, shift_mm in turns(args.seed, args.random_turns):
            case = heads.rigid(original, tuple(rotation_deg), tuple(shift_mm))
            nib.save(case.image, str(tmp / "case.nii.gz"))
            with_search = _row(base, case, tmp)
            without = "-"
            if not args.search_only:
                with without_search():
                    without = _row(base, case, tmp)
            print(f"{name:38s}{with_search:62s}{without}", flush=True)


if __name__ == "__main__":
    main()
