"""Fluid where the brain should be, end to end: Colin27's own brain is not cautioned, and a
fluid-filled ball at its target (an old infarct, a cyst, a resection cavity) is, with no dose
suggestion made."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np

from navsvc import templates
from navsvc.target.fluid import WIDEST_CAUTION_MM
from navsvc.testing import heads

#: Colin27's cerebrospinal fluid reads about 30 (its grey matter 85, white matter 113)
COLIN_FLUID_VALUE = 30.0


def test_colins_own_brain_is_not_cautioned(colin_plan):
    for block in (colin_plan["target"]["fluid"], colin_plan["landmarks"]["points"]["m1_hand_knob"]["fluid"]):
        assert block["widest_mm"] < WIDEST_CAUTION_MM - 1.0 and block["caution"] is None  # measured 2.8 and 2.8
    assert colin_plan["dose"]["mt_offset_pct_mso"] is not None


def test_a_fluid_filled_ball_at_the_target_is_cautioned_by_the_command(tmp_path, capsys, colin_plan, colin_head_path):
    from navsvc.cli import main

    brain = np.asanyarray(nib.load(str(templates.COLIN_BRAIN_MASK)).dataobj) > 0
    cortex = colin_plan["target"]["cortex_ras_mm"]
    moved = heads.add_fluid_ball(nib.load(colin_head_path), cortex, 14.0, COLIN_FLUID_VALUE, within=brain).then(
        lambda img: heads.rigid(img, rotation_deg=(12.0, -8.0, 20.0), translation_mm=(10.0, -15.0, 5.0)))
    nib.save(moved.image, tmp_path / "lesion.nii.gz")
    assert main(["plan", str(tmp_path / "lesion.nii.gz"), "--out", str(tmp_path / "out")]) == 0
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    fluid = plan["target"]["fluid"]
    assert fluid["widest_mm"] >= WIDEST_CAUTION_MM + 1.0  # measured 8.7
    assert fluid["caution"].startswith(f"fluid fills a ball {fluid['widest_mm']:.1f} mm wide within 10 mm of the "
                                       "mapped target")
    assert plan["landmarks"]["points"]["m1_hand_knob"]["fluid"]["caution"] is None
    assert plan["dose"]["mt_offset_pct_mso"] is None
    assert "lies near the target (see the caution)" in plan["dose"]["unavailable_reason"]
    out = capsys.readouterr().out
    assert f"warning         {fluid['caution']}\n" in out and "dose            no depth adjustment: fluid" in out
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert f"Fluid fills a ball {fluid['widest_mm']:.1f} mm wide" in page
