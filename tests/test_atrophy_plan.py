"""An atrophic brain, end to end: the plan follows the cortex as it sinks under the scalp.

Colin27's brain shrunk by 6 % inside its skull, its sulci widened by a voxel, the head moved:
the mapped target must follow the shrink, the depths at the target and the motor hand knob
must grow as the ground truth says, the dose suggestion follow them, and the wider fluid of an
atrophic brain must not be taken for a lesion (benchmarks/atrophy_depth.py measures nine such
brains).
"""

from __future__ import annotations

import nibabel as nib
import numpy as np

from navsvc.dose import mt_offset_pct_mso
from navsvc.pipeline import make_plan
from navsvc.testing import heads
from navsvc.testing.atrophy_cases import atrophic_colin27, expected_depths_mm


def test_a_shrunk_brain_with_wide_sulci_is_planned_where_its_cortex_went(tmp_path, colin_plan, colin_head_path):
    shrunk, atrophic = atrophic_colin27(nib.load(colin_head_path), heads.load_colin27_brain_mask(), 0.94,
                                        "centroid", 1)
    case = atrophic.then(lambda im: heads.rigid(im, (-14.0, 9.0, 22.0), (12.0, -8.0, 15.0)))
    nib.save(case.image, tmp_path / "atrophic.nii.gz")
    plan = make_plan(tmp_path / "atrophic.nii.gz", tmp_path / "out")

    truth = case.original_to_new(colin_plan["target"]["native_ras_mm"])[0]
    assert np.linalg.norm(np.asarray(plan["target"]["native_ras_mm"]) - truth) < 2.0  # measured 0.9
    expected_target_mm, expected_m1_mm = expected_depths_mm(colin_plan, shrunk, atrophic)
    dose = plan["dose"]
    assert expected_target_mm - colin_plan["dose"]["scalp_to_cortex_target_mm"] > 4.0  # the cortex sank 5.7 mm
    assert abs(dose["scalp_to_cortex_target_mm"] - expected_target_mm) < 1.5  # measured 21.5 against 21.1
    assert abs(dose["scalp_to_cortex_m1_mm"] - expected_m1_mm) < 1.5  # measured 23.9 against 22.8
    for block in (plan["target"]["fluid"], plan["landmarks"]["points"]["m1_hand_knob"]["fluid"]):
        assert block["caution"] is None  # measured 4.0 and 3.5 mm wide
    assert abs(dose["mt_offset_pct_mso"] - mt_offset_pct_mso(expected_target_mm, expected_m1_mm)) < 3.5  # -6.5 against -4.6
