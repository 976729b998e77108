"""How poor a T1 can be: mapped-target error, or refusal, on degraded copies of Colin27.

Beyond the accuracy benchmark's cases (``accuracy_ground_truth.py``: 4 % noise, 30 % bias,
1.2x1.2x1.5 mm voxels), each case here degrades the head further: stronger Rician-like
noise, stronger multiplicative bias fields, coarser and thicker voxels (up to the 3 mm the
loader accepts), a multichannel receive coil's profile (bright surface, dark centre, as
without the scanner's intensity normalization), another contrast between tissues (the
intensities raised to a power; scalp fat far brighter than white matter), ghosts of the
head from motion (a copy half the field of view away; the head moved during part of the
scan), a random rigid move on top of each. The ground truth is the plan of the
untransformed head carried by the case's known point map. Printed per case: the mapped
target's error (``native_ras_mm``), the cortical target's and the scalp entry's, the change
of the scalp-to-cortex distance at the target and of the dose suggestion (Stokes offset,
%MSO), the registration quality, the noise measured in the air around the head
(``input.noise_pct_of_brain``), the ghosting (``input.ghosting_pct_of_brain``) and the
landmarks marked as not in the image (``scalp_in_image`` false) beyond the untransformed
head's, or the refusal's message.

Usage: ``python benchmarks/input_quality_limits.py [--seed N]`` (77: the figures in docs/benchmarks.md;
another seed draws other noise, bias fields and moves)
"""

from __future__ import annotations

import argparse
import time

import nibabel as nib
import numpy as np
from scipy import ndimage

from navsvc.errors import InputError
from navsvc.pipeline import make_plan
from navsvc.testing import heads
from navsvc.testing.cases import random_rigid
from accuracy_ground_truth import planned_colin27  # benchmarks/ is on the path when run as a script


def degraded_cases(seed: int = 77):
    """(name, maker) pairs; each maker takes the head and returns a TransformedHead."""
    rng = np.random.default_rng(seed)
    cases = [(f"Rician noise {round(100 * s)} %", lambda im, s=s: heads.add_rician_noise(im, rng, s))
             for s in (0.06, 0.09, 0.12, 0.14, 0.16, 0.20)]
    cases += [(f"bias field {round(100 * s)} %", lambda im, s=s: heads.multiply_bias_field(im, rng, s))
              for s in (0.5, 0.7)]
    cases += [(f"voxels {'x'.join(f'{v:g}' for v in size)} mm", lambda im, size=size: heads.resample(im, size))
              for size in ((2.0, 2.0, 2.0), (1.0, 1.0, 3.0), (3.0, 3.0, 3.0))]
    cases += [("Rician noise 2 %, defaced", lambda im: heads.add_rician_noise(im, rng, 0.02).then(heads.deface))]
    # a multichannel head coil's profile without the scanner's intensity normalization
    cases += [(f"receive-coil profile x{gain:g}", lambda im, gain=gain: heads.multiply_receive_coil_profile(im, gain))
              for gain in (1.5, 2.0, 3.0)]
    # another contrast between tissues: above 1 the skin and muscle darken against the scalp fat
    cases += [(f"intensities to the power {power:g}", lambda im, power=power: heads.raise_to_power(im, power))
              for power in (0.5, 1.5, 2.0, 2.5, 3.0, 4.0)]
    # scalp fat far brighter than white matter (in Colin27 it is about 1.5 times as bright)
    brain = ndimage.binary_dilation(heads.load_colin27_brain_mask(), iterations=3)
    cases += [(f"scalp fat x{gain:g}", lambda im, gain=gain: heads.brighten_scalp_fat(im, brain, gain))
              for gain in (2.0, 3.0)]
    # a ghost half the field of view away along the phase-encoding direction (front-back)
    cases += [(f"motion ghost {round(100 * amp)} %", lambda im, amp=amp: heads.add_motion_ghost(im, amp, axis=1))
              for amp in (0.1, 0.15, 0.3)]
    # the head moved during the scan, along the phase-encoding axis (1 front-back, 2 up-down)
    cases += [(f"moved {mm:g} mm {'A-P' if axis == 1 else 'S-I'}, {round(100 * share)} % of lines",
               lambda im, axis=axis, mm=mm, share=share: heads.move_during_scan(
                   im, axis, np.where(rng.random(im.shape[axis]) < share, mm, 0.0)))
              for axis, mm, share in ((1, 2.0, 0.1), (1, 5.0, 0.1), (2, 5.0, 0.3))]
    cases += [("moved 4 mm A-P to and fro, 8 lines", lambda im: heads.move_during_scan(
        im, 1, 4.0 * np.sin(2 * np.pi * np.arange(im.shape[1]) / 8)))]
    return [(name + " + rigid", lambda im, make=make: make(im).then(random_rigid(rng))) for name, make in cases]


def _newly_marked(plan: dict, base: dict) -> list[str]:
    """Landmarks marked as not in the image that were in the untransformed head's image."""
    return sorted(name for name, point in plan["landmarks"]["points"].items()
                  if not point["scalp_in_image"] and base["landmarks"]["points"][name]["scalp_in_image"])


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def main() -> None:
    """Plan each degraded copy and print one row per case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=77, help="random draw of the degradations and moves")
    args = parser.parse_args()
    with planned_colin27() as (original, base, tmp):
        print(f"{'case':40s}{'mapped mm':>10s}{'cortex mm':>10s}{'entry mm':>9s}{'depth mm':>9s}{'dose %MSO':>10s}"
              f"{'quality':>9s}{'noise %':>8s}{'ghost %':>8s}{'s':>6s}  refusal or landmarks newly marked")
        for name, make in degraded_cases(args.seed):
            case = make(original)
            nib.save(case.image, str(tmp / "case.nii.gz"))
            start = time.perf_counter()
            try:
                plan = make_plan(tmp / "case.nii.gz", tmp / "case")
            except InputError as exc:
                print(f"{name:40s}{'-':>10s}{'-':>10s}{'-':>9s}{'-':>9s}{'-':>10s}{'-':>9s}{'-':>8s}{'-':>8s}{time.perf_counter() - start:6.1f}"
                      f"  {exc}", flush=True)
                continue
            errors = [float(np.linalg.norm(np.asarray(plan[block][key]) - case.original_to_new(base[block][key])[0]))
                      for block, key in (("target", "native_ras_mm"), ("target", "cortex_ras_mm"),
                                         ("entry", "scalp_ras_mm"))]
            offsets = [p["dose"]["mt_offset_pct_mso"] for p in (plan, base)]
            dose = "n/a" if None in offsets else f"{offsets[0] - offsets[1]:+.1f}"
            depth = plan["entry"]["scalp_to_cortex_mm"] - base["entry"]["scalp_to_cortex_mm"]
            print(f"{name:40s}{errors[0]:10.2f}{errors[1]:10.2f}{errors[2]:9.2f}{depth:+9.1f}{dose:>10s}"
                  f"{plan['registration']['quality']['value']:9.3f}{_pct(plan['input']['noise_pct_of_brain']):>8s}"
                  f"{_pct(plan['input']['ghosting_pct_of_brain']):>8s}"
                  f"{time.perf_counter() - start:6.1f}  {', '.join(_newly_marked(plan, base)) or '-'}", flush=True)


if __name__ == "__main__":
    main()
