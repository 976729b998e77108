"""How far from upright a head may be turned in its image's world: plans of Colin27 turned
about each scanner axis and about random axes, with the head stage's search over starting
orientations (``navsvc/head_start_search.py``) and without it, side by side.

Without the search the rigid head stage, started from the centres of mass, recovered
turns up to about 50 degrees; beyond that the plan was refused or, in the band where the
optimizer stops in a wrong optimum that the brain stage half recovers, made several mm to
31 mm off. Printed per turn and per variant: the mapped target's error against the
untransformed plan carried by the turn, the scalp entry's, the registration quality and
the plan's seconds, or the refusal.

Usage: ``python benchmarks/head_orientation_range.py``
"""

from __future__ import annotations

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
    kept = registration.better_start
    registration.better_start = lambda *args, **kwargs: None
    try:
        yield
    finally:
        registration.better_start = kept


def turns() -> list[tuple[str, np.ndarray]]:
    """(name, rotation in degrees about x, y, z) of every case."""
    cases = []
    for axis in range(3):
        for angle in AXIS_TURNS_DEG:
            rotation = np.zeros(3)
            rotation[axis] = angle
            cases.append((f"{angle:.0f} deg about {'xyz'[axis]}", rotation))
    rng = np.random.default_rng(48)
    for angle in RANDOM_TURNS_DEG:
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        # heads.rigid turns about x, then y, then z: those angles for the axis-angle turn
        xyz = Rotation.from_rotvec(np.radians(angle) * axis).as_euler("xyz", degrees=True)
        cases.append((f"{angle:.0f} deg about ({', '.join(f'{a:.2f}' for a in axis)})", xyz))
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
    with planned_colin27() as (original, base, tmp):
        print(f"{'turn':34s}{'with the search':62s}without it")
        for name, rotation_deg in turns():
            case = heads.rigid(original, tuple(rotation_deg))
            nib.save(case.image, str(tmp / "case.nii.gz"))
            with_search = _row(base, case, tmp)
            with without_search():
                without = _row(base, case, tmp)
            print(f"{name:34s}{with_search:62s}{without}", flush=True)


if __name__ == "__main__":
    main()
