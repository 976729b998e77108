"""An atrophic brain: does the plan follow the cortex as it sinks under the scalp, and does the
dose suggestion follow the depths?

Colin27's brain is shrunk inside its skull (``heads.shrink_brain``: the space it leaves reads
as cerebrospinal fluid), its sulci widened (``heads.widen_sulci``: grey matter within one or
two voxels of the fluid the image shows becomes fluid), or both; then the head is moved by a
random rigid transform and planned. Generalized atrophy shrinks the brain towards its
centroid; frontal-predominant atrophy towards the back of the brain, so that the prefrontal
cortex sinks more than the motor cortex, as the scalp-to-cortex distance grows with age over
the left DLPFC but not over M1 (J Alzheimers Dis 2019, doi:10.3233/JAD-180732).

The ground truth (``navsvc.testing.atrophy_cases``): the target and the hand knob of Colin27's
own plan, moved with the brain; their depths are Colin27's plus how much farther the shrink
put the cortical point from the scalp point (which stays) plus how much deeper the widened
sulci put the cortical surface on that line. Printed per case: how far the mapped target,
the cortical target and the hand knob's cortical point lie from the ground truth (mm); the
depths at the target and the hand knob and the dose suggestion (Stokes slope on the two
depths), measured then expected; whether the plan gives the suggestion, the widest fluid it
found near the target and the hand knob (its caution withholds the suggestion), and the
registration quality.

Usage: ``python benchmarks/atrophy_depth.py`` (about 1.5 minutes)

Measured 2026-12-05 (2 cores, 10 plans in 94 s, peak 1.2 GB):

==========================  ======  ======  =====  ===========  ===========  ===========  =====  =========  =====
brain                       mapped  cortex  M1 pt  target depth  M1 depth    dose         given  fluid      qual
==========================  ======  ======  =====  ===========  ===========  ===========  =====  =========  =====
Colin27 itself              0.00    0.00    0.00   15.4  15.4   17.1  17.1   -4.7  -4.7   yes    2.8  2.8   0.810
generalized x0.97           0.47    0.70    0.88   18.2  17.7   20.1  19.2   -5.3  -4.1   yes    2.8  2.8   0.823
generalized x0.94           0.57    0.78    1.04   20.7  20.0   22.4  21.3   -4.9  -3.5   yes    4.0  2.8   0.828
generalized x0.90           0.42    1.18    0.57   23.8  23.1   25.3  24.1   -4.3  -2.6   yes    3.5  2.8   0.833
frontal-predominant x0.97   0.88    1.23    0.57   20.1  19.4   20.2  19.6   -0.3  -0.6   yes    3.5  2.8   0.818
frontal-predominant x0.95   0.63    1.24    1.15   22.5  22.2   21.9  21.3   +1.7  +2.3   yes    3.5  2.8   0.823
sulci widened 1 step        0.67    0.35    0.80   15.6  15.4   16.9  17.1   -3.9  -4.7   yes    4.0  3.5   0.805
sulci widened 2 steps       1.08    0.47    0.24   14.8  15.4   16.8  17.1   -5.7  -4.7   yes    4.9  4.5   0.781
generalized x0.94, sulci 1  1.06    2.09    0.98   22.0  21.1   22.8  22.8   -2.3  -4.6   yes    4.0  3.5   0.824
frontal x0.95, sulci 2      1.23    2.26    1.55   23.7  23.8   22.6  23.3   +3.1  +1.2   yes    4.9  4.5   0.799
==========================  ======  ======  =====  ===========  ===========  ===========  =====  =========  =====

The plan follows the shrink (mapped target within 1.23 mm) and its depths grow with the
truth's, up to 8.4 mm at the target, within -0.6 to +1.2 mm; on a shrunk brain they read
0.3-1.2 mm deeper than the truth, so the suggestion lies 1.2-1.7 %MSO under it for a
generalized shrink. The widened sulci reach the target's and the hand knob's crowns only on a
shrunk brain (Colin27's own sulci there read above the fluid threshold, 55); the fluid caution
does not fire (the space round the brain is fluid in the template too, and is not counted).
"""

from __future__ import annotations

import nibabel as nib
import numpy as np

from navsvc.dose import mt_offset_pct_mso
from navsvc.errors import InputError
from navsvc.pipeline import make_plan
from navsvc.target.fluid import WIDEST_CAUTION_MM
from navsvc.testing import heads
from navsvc.testing.atrophy_cases import ATROPHIES, atrophic_colin27, expected_depths_mm
from navsvc.testing.cases import random_rigid
from accuracy_ground_truth import planned_colin27  # benchmarks/ is on the path when run as a script


def _row(name: str, plan: dict, base: dict, expected_mm: tuple[float, float], case: heads.TransformedHead) -> str:
    m1, base_m1 = plan["landmarks"]["points"]["m1_hand_knob"], base["landmarks"]["points"]["m1_hand_knob"]
    errors = [float(np.linalg.norm(np.asarray(found) - case.original_to_new(truth)[0]))
              for found, truth in ((plan["target"]["native_ras_mm"], base["target"]["native_ras_mm"]),
                                   (plan["target"]["cortex_ras_mm"], base["target"]["cortex_ras_mm"]),
                                   (m1["cortex_ras_mm"], base_m1["cortex_ras_mm"]))]
    dose = plan["dose"]
    fluid = [plan["target"]["fluid"]["widest_mm"], m1["fluid"]["widest_mm"]]
    shown = "withheld" if dose["mt_offset_pct_mso"] is None else "given"
    return (f"{name:28s}" + "".join(f"{e:7.2f}" for e in errors) +
            f"{dose['scalp_to_cortex_target_mm']:8.1f}{expected_mm[0]:6.1f}"
            f"{dose['scalp_to_cortex_m1_mm']:8.1f}{expected_mm[1]:6.1f}"
            f"{mt_offset_pct_mso(dose['scalp_to_cortex_target_mm'], dose['scalp_to_cortex_m1_mm']):+8.1f}"
            f"{mt_offset_pct_mso(*expected_mm):+6.1f}  {shown:9s}{fluid[0]:6.1f}{fluid[1]:6.1f}"
            f"{plan['registration']['quality']['value']:7.3f}")


def main() -> None:
    """Plan Colin27 and each atrophic copy of it, one row each."""
    rng = np.random.default_rng(2027)
    brain = heads.load_colin27_brain_mask()
    with planned_colin27() as (original, base, tmp):
        print(f"Distances of the mapped target, the cortical target and the hand knob's cortical point from where\n"
              f"the atrophy put Colin27's (mm); depths (mm) and dose suggestion (%MSO), measured then expected; the\n"
              f"widest fluid (mm) near the target and M1 (cautioned from {WIDEST_CAUTION_MM:g} mm); registration quality")
        print(f"\n{'brain':28s}{'mapped':>7s}{'cortex':>7s}{'M1 pt':>7s}{'target depth':>14s}{'M1 depth':>14s}"
              f"{'dose':>14s}  {'':9s}{'fluid':>12s}{'qual':>7s}")
        same = heads.rigid(original)
        print(_row("Colin27 itself", base, base, expected_depths_mm(base, same, same), same))
        for name, factor, where, steps_vox in ATROPHIES:
            shrunk, atrophic = atrophic_colin27(original, brain, factor, where, steps_vox)
            expected_mm = expected_depths_mm(base, shrunk, atrophic)
            case = atrophic.then(random_rigid(rng))
            nib.save(case.image, str(tmp / "case.nii.gz"))
            try:
                print(_row(name, make_plan(tmp / "case.nii.gz", tmp / "case"), base, expected_mm, case), flush=True)
            except InputError as exc:
                print(f"{name:28s}refused: {exc}", flush=True)


if __name__ == "__main__":
    main()
