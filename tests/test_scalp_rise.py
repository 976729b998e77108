"""The scalp's rise above its smooth shape (:mod:`navsvc.anatomy.scalp_rise`): a marker
capsule taped over the entry point is cautioned, normal skin is not.

A synthetic head volume tests the measure; Colin27's own plan and Colin27 with a capsule
taped on its skin test it in the whole command.
"""

from __future__ import annotations

import copy
import json

import nibabel as nib
import numpy as np
import pytest

from navsvc.anatomy.scalp import Scalp, scalp_surface
from navsvc.anatomy.scalp_rise import RISE_CAUTION_MM, OuterSkin, ScalpRise, scalp_rise, scalp_rise_caution
from navsvc.grid import WorkingImage
from navsvc.testing.heads import add_capsule

ENTRY_CAUTION = "the scalp rises {:.1f} mm above its smooth shape within 15 mm of the entry point, most at"


def _head(radii_mm=(75.0, 95.0, 85.0), origin_ras_mm=(-110.0, -110.0, -110.0)) -> WorkingImage:
    """A head-shaped ellipsoid on a 1 mm grid: tissue 100 with a 1 mm soft edge, air 1-3."""
    axis = np.arange(221, dtype=np.float32) - 110.0
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij", sparse=True)
    reach = np.sqrt((x / radii_mm[0]) ** 2 + (y / radii_mm[1]) ** 2 + (z / radii_mm[2]) ** 2)
    tissue = np.clip(0.5 - (reach - 1.0) * np.mean(radii_mm), 0.0, 1.0)
    air = 2.0 + np.sin(x * 1.7 + y * 0.3 + z * 2.9)  # positive, so that Otsu splits air from tissue
    return WorkingImage((100.0 * tissue + air * (1.0 - tissue)).astype(np.float32), np.array(origin_ras_mm), 1.0)


def _with_capsule(head: WorkingImage, on_skin_at, off_skin_mm=0.0, length_mm=10.0, diameter_mm=6.0) -> WorkingImage:
    """``head`` with a capsule lying on (or ``off_skin_mm`` off) its skin over ``on_skin_at``."""
    scalp = _scalp(head)
    point = scalp.nearest_point(on_skin_at)
    outward = -scalp.inward_normal(point)
    along = np.cross(outward, [0.0, 0.0, 1.0])
    image = add_capsule(head.to_nifti(), point + (diameter_mm / 2 + off_skin_mm) * outward, along,
                        length_mm, diameter_mm, value=100.0)
    return head.with_data(np.asarray(image.dataobj, dtype=np.float32))


def _scalp(head: WorkingImage) -> Scalp:
    return scalp_surface(head.downsampled(2))


def _rise(head: WorkingImage, near_ras_mm) -> ScalpRise:
    """The rise at the scalp point nearest ``near_ras_mm``, measured as the pipeline does."""
    coarse = head.downsampled(2)
    scalp = scalp_surface(coarse)
    return scalp_rise(scalp, OuterSkin.of(head, coarse, scalp), scalp.nearest_point(near_ras_mm))


FOREHEAD_LEFT = np.array([-45.0, 70.0, 40.0])  # near where a left-DLPFC entry lies


@pytest.fixture(scope="module")
def head() -> WorkingImage:
    return _head()


def test_smooth_skin_does_not_rise(head):
    for point in (FOREHEAD_LEFT, [0.0, 0.0, 200.0], [80.0, -20.0, 30.0]):
        rise = _rise(head, point)
        assert rise.rise_mm < 0.5  # the 1 mm grid's own steps


@pytest.mark.parametrize("length_mm, diameter_mm", [(10.0, 6.0), (6.0, 4.0)])
def test_a_capsule_on_the_skin_rises_about_its_width_and_only_near_it(head, length_mm, diameter_mm):
    marked = _with_capsule(head, FOREHEAD_LEFT, length_mm=length_mm, diameter_mm=diameter_mm)
    rise = _rise(marked, FOREHEAD_LEFT)
    assert rise.rise_mm == pytest.approx(diameter_mm, abs=1.5)
    centre = _scalp(head).nearest_point(FOREHEAD_LEFT)
    assert np.linalg.norm(rise.peak_ras_mm - centre) < diameter_mm + 1.0  # on the capsule
    assert _rise(marked, FOREHEAD_LEFT + [0.0, 0.0, 30.0]).rise_mm < 0.5


def test_noise_in_the_air_is_not_skin(head):
    # Rician noise of 12 % of the tissue's signal, the noisiest the pipeline plans (it
    # measures about 22 % of a real brain's signal): a noisy voxel in the air is not skin
    rng = np.random.default_rng(12)
    n1, n2 = (rng.normal(0.0, 12.0, head.data.shape).astype(np.float32) for _ in range(2))
    noisy = head.with_data(np.sqrt((head.data + n1) ** 2 + n2 ** 2))
    for point in (FOREHEAD_LEFT, [0.0, 0.0, 200.0]):
        assert _rise(noisy, point).rise_mm < RISE_CAUTION_MM


def test_a_capsule_off_the_skin_is_not_scalp(head):
    # not part of the head mask: it moves no scalp point, so it does not count
    assert _rise(_with_capsule(head, FOREHEAD_LEFT, off_skin_mm=5.0), FOREHEAD_LEFT).rise_mm < 0.5


def test_the_rise_is_the_same_wherever_the_head_lies(head):
    marked = _with_capsule(head, FOREHEAD_LEFT)
    shift = np.array([13.0, -7.0, 21.0])  # the same voxels, another place in the world
    moved = WorkingImage(marked.data, marked.origin_ras_mm + shift, 1.0)
    here, there = _rise(marked, FOREHEAD_LEFT), _rise(moved, FOREHEAD_LEFT + shift)
    assert there.rise_mm == pytest.approx(here.rise_mm, abs=1e-6)
    assert np.allclose(there.peak_ras_mm, here.peak_ras_mm + shift, atol=1e-6)
    back = _rise(WorkingImage(moved.data, moved.origin_ras_mm - shift, 1.0), FOREHEAD_LEFT)  # and back again
    assert back.rise_mm == pytest.approx(here.rise_mm, abs=1e-6)


def test_a_rise_over_less_skin_than_the_disk_is_not_measured():
    # an 8 mm ball: most of the 15 mm disk's rays pass it by, so there is no skin to fit
    rise = _rise(_head(radii_mm=(8.0, 8.0, 8.0)), [0.0, 0.0, 50.0])
    assert rise.rise_mm is None and rise.peak_ras_mm is None
    assert scalp_rise_caution(rise, "the entry point", "The depth is measured on top of it") is None


@pytest.mark.parametrize("rise_mm, cautioned", [(0.0, False), (1.99, False), (RISE_CAUTION_MM, True),
                                                 (3.7, True), (float("nan"), False)])
def test_the_caution_starts_at_its_threshold(rise_mm, cautioned):
    caution = scalp_rise_caution(ScalpRise(rise_mm, np.array([-55.26, 59.44, 39.75])), "the entry point",
                                 "The depth is measured on top of it")
    assert (caution is not None) is cautioned
    if cautioned:
        assert caution.startswith(ENTRY_CAUTION.format(rise_mm) + " (-55.3, 59.4, 39.8) mm RAS: a marker capsule")
        assert "The depth is measured on top of it. Look at the T1 there" in caution


def _rise_block(rise_mm, caution):
    return {"rise_mm": rise_mm, "peak_ras_mm": [-55.3, 59.4, 39.8], "patch_radius_mm": 15.0, "caution_from_mm": 2.0,
            "caution": caution}


@pytest.mark.parametrize("entry, m1, words, cautions", [
    (_rise_block(0.19, None), _rise_block(0.26, None),
     "entry 0.2 mm, motor hand knob 0.3 mm, within 15 mm (cautioned from 2.0 mm)", []),
    (_rise_block(3.73, "the scalp rises 3.7 mm at the entry"), _rise_block(0.26, None),
     "entry 3.7 mm, motor hand knob 0.3 mm, within 15 mm (cautioned from 2.0 mm)",
     ["the scalp rises 3.7 mm at the entry"]),
    (_rise_block(0.2, None), _rise_block(2.9, "the scalp rises 2.9 mm at M1"),
     "entry 0.2 mm, motor hand knob 2.9 mm, within 15 mm (cautioned from 2.0 mm)",
     ["the scalp rises 2.9 mm at M1"]),
    (None, None, None, []),  # a plan made before schema 1.8.0
    (_rise_block("3.7", 7), _rise_block(True, None), None, []),  # malformed
])
def test_the_rise_is_told_in_the_report_and_summary(tmp_path, entry, m1, words, cautions):
    from navsvc.report.html import warnings
    from navsvc.report.values import scalp_rise_cautions, scalp_rise_words

    plan = {"entry": {"scalp_rise": entry}, "landmarks": {"points": {"m1_hand_knob": {"scalp_rise": m1}}}}
    if entry is None:
        plan = {"entry": {}, "landmarks": {"points": {"m1_hand_knob": {}}}}
    assert scalp_rise_words(plan) == words
    assert scalp_rise_cautions(plan) == cautions
    assert [w for w in warnings(copy.deepcopy(plan)) if "scalp rises" in w] == \
        [f"{c[0].upper()}{c[1:]}." for c in cautions]


def test_colins_own_skin_is_not_cautioned(colin_plan):
    for block in (colin_plan["entry"]["scalp_rise"], colin_plan["landmarks"]["points"]["m1_hand_knob"]["scalp_rise"]):
        assert block["rise_mm"] < 1.0  # measured 0.26 at the entry and 0.35 at M1
        assert block["caution"] is None and block["peak_ras_mm"] is None


def test_a_capsule_taped_over_the_entry_is_cautioned_by_the_command(tmp_path, capsys, colin_plan, colin_head_path):
    from navsvc.cli import main

    # a 10 x 6 mm capsule lying on the skin over the entry, along the coil's handle axis
    coil = np.array(colin_plan["coil"]["matrix"])
    entry = np.array(colin_plan["entry"]["scalp_ras_mm"])
    marked = tmp_path / "marked.nii.gz"
    nib.save(add_capsule(nib.load(colin_head_path), entry - 3.0 * coil[:3, 2], coil[:3, 1]), marked)
    assert main(["plan", str(marked), "--out", str(tmp_path / "out")]) == 0
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    rise = plan["entry"]["scalp_rise"]
    assert rise["rise_mm"] >= 3.0  # measured 6.33
    assert np.linalg.norm(np.array(rise["peak_ras_mm"]) - (entry - 3.0 * coil[:3, 2])) < 6.0  # on the capsule
    assert rise["caution"].startswith(ENTRY_CAUTION.format(rise["rise_mm"]))
    assert f"warning         {rise['caution']}\n" in capsys.readouterr().out
    assert plan["landmarks"]["points"]["m1_hand_knob"]["scalp_rise"]["caution"] is None
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert f"The scalp rises {rise['rise_mm']:.1f} mm above its smooth shape" in page
