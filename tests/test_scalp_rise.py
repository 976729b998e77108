"""The scalp's rise above its smooth shape (:mod:`navsvc.anatomy.scalp_rise`): a marker
capsule taped over the entry point is cautioned, normal skin is not.

Synthetic meshes test the measure; Colin27's own plan and Colin27 with a capsule taped on
its skin test it in the whole command.
"""

from __future__ import annotations

import copy
import json

import nibabel as nib
import numpy as np
import pytest
import trimesh
from scipy.spatial.transform import Rotation

from navsvc.anatomy.scalp import Scalp
from navsvc.anatomy.scalp_rise import RISE_CAUTION_MM, ScalpRise, scalp_rise, scalp_rise_caution
from navsvc.testing.heads import add_capsule

ENTRY_CAUTION = "the scalp rises {:.1f} mm above its smooth shape within 15 mm of the entry point, most at"


def _ellipsoid_scalp(radii_mm=(75.0, 95.0, 85.0), bump_at=None, bump_height_mm=4.0,
                     bump_radius_mm=4.0, move=np.eye(4)) -> Scalp:
    """A head-shaped ellipsoid mesh (vertices about 1.5 mm apart), with a round bump
    standing ``bump_height_mm`` out of it around the surface point nearest ``bump_at``, moved
    by the rigid ``move``."""
    mesh = trimesh.creation.icosphere(subdivisions=6, radius=1.0)
    vertices = np.asarray(mesh.vertices) * radii_mm
    if bump_at is not None:
        normals = vertices / np.square(radii_mm)
        normals /= np.linalg.norm(normals, axis=1)[:, None]
        centre = vertices[np.argmin(np.linalg.norm(vertices - bump_at, axis=1))]
        distance = np.linalg.norm(vertices - centre, axis=1)
        lift = bump_height_mm * np.sqrt(np.clip(1.0 - (distance / bump_radius_mm) ** 2, 0.0, None))
        vertices = vertices + lift[:, None] * normals
    vertices = vertices @ move[:3, :3].T + move[:3, 3]
    return Scalp(mesh=trimesh.Trimesh(vertices, mesh.faces, process=False), head_mask=np.zeros((1, 1, 1), bool))


def _on(scalp: Scalp, point) -> np.ndarray:
    return scalp.nearest_point(point)


def _rise_mm(scalp: Scalp, point) -> float:
    return scalp_rise(scalp, point).rise_mm


FOREHEAD_LEFT = np.array([-45.0, 70.0, 40.0])  # near where a left-DLPFC entry lies


def test_smooth_skin_does_not_rise():
    sphere = _ellipsoid_scalp((90.0, 90.0, 90.0))
    head = _ellipsoid_scalp()
    for point in (FOREHEAD_LEFT, [0.0, 0.0, 200.0], [80.0, -20.0, 30.0]):
        assert _rise_mm(sphere, _on(sphere, point)) < 0.05
        assert _rise_mm(head, _on(head, point)) < 0.1


@pytest.mark.parametrize("height_mm", [2.0, 4.0, 6.0])
def test_a_bump_rises_as_high_as_it_stands_and_only_near_it(height_mm):
    scalp = _ellipsoid_scalp(bump_at=FOREHEAD_LEFT, bump_height_mm=height_mm)
    top = _on(scalp, FOREHEAD_LEFT * 1.2)
    rise = scalp_rise(scalp, top)
    assert rise.rise_mm == pytest.approx(height_mm, abs=0.6)
    assert np.linalg.norm(rise.peak_ras_mm - top) < 2.0  # the bump's top vertex
    beside = _on(scalp, FOREHEAD_LEFT + [0.0, 0.0, 10.0])  # the bump is within 15 mm
    assert _rise_mm(scalp, beside) == pytest.approx(height_mm, abs=0.6)
    far = _on(scalp, FOREHEAD_LEFT + [0.0, 0.0, 30.0])
    assert _rise_mm(scalp, far) < 0.1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_rise_is_the_same_wherever_the_head_lies(seed):
    rng = np.random.default_rng(seed)
    move = np.eye(4)
    move[:3, :3] = Rotation.from_rotvec(rng.uniform(-1.0, 1.0, 3)).as_matrix()
    move[:3, 3] = rng.uniform(-40.0, 40.0, 3)
    still = _ellipsoid_scalp(bump_at=FOREHEAD_LEFT)
    moved = _ellipsoid_scalp(bump_at=FOREHEAD_LEFT, move=move)
    for point in (FOREHEAD_LEFT * 1.2, FOREHEAD_LEFT + [0.0, 0.0, 10.0], [60.0, 0.0, 60.0]):
        here = _on(still, point)
        there = move[:3, :3] @ here + move[:3, 3]
        before, after = scalp_rise(still, here), scalp_rise(moved, there)
        assert after.rise_mm == pytest.approx(before.rise_mm, abs=1e-6)
        if before.rise_mm > 1.0:  # on smooth skin the highest vertex is a tie broken by rounding
            assert np.allclose(after.peak_ras_mm, move[:3, :3] @ before.peak_ras_mm + move[:3, 3], atol=1e-6)
        back = move[:3, :3].T @ (there - move[:3, 3])  # and back again
        assert np.allclose(back, here)


@pytest.mark.parametrize("rise_mm, cautioned", [(0.0, False), (1.49, False), (RISE_CAUTION_MM, True),
                                                 (3.7, True), (float("nan"), False)])
def test_the_caution_starts_at_its_threshold(rise_mm, cautioned):
    caution = scalp_rise_caution(ScalpRise(rise_mm, np.array([-55.26, 59.44, 39.75])), "the entry point",
                                 "The depth is measured on top of it")
    assert (caution is not None) is cautioned
    if cautioned:
        assert caution.startswith(ENTRY_CAUTION.format(rise_mm) + " (-55.3, 59.4, 39.8) mm RAS: a marker capsule")
        assert "The depth is measured on top of it. Look at the T1 there" in caution


def _rise_block(rise_mm, caution):
    return {"rise_mm": rise_mm, "peak_ras_mm": [-55.3, 59.4, 39.8], "patch_radius_mm": 15.0, "caution_from_mm": 1.5,
            "caution": caution}


@pytest.mark.parametrize("entry, m1, words, cautions", [
    (_rise_block(0.19, None), _rise_block(0.26, None),
     "entry 0.2 mm, motor hand knob 0.3 mm, within 15 mm (cautioned from 1.5 mm)", []),
    (_rise_block(3.73, "the scalp rises 3.7 mm at the entry"), _rise_block(0.26, None),
     "entry 3.7 mm, motor hand knob 0.3 mm, within 15 mm (cautioned from 1.5 mm)",
     ["the scalp rises 3.7 mm at the entry"]),
    (_rise_block(0.2, None), _rise_block(2.0, "the scalp rises 2.0 mm at M1"),
     "entry 0.2 mm, motor hand knob 2.0 mm, within 15 mm (cautioned from 1.5 mm)",
     ["the scalp rises 2.0 mm at M1"]),
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
        assert block["rise_mm"] < 1.0  # measured 0.19 at the entry and 0.26 at M1
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
    assert rise["rise_mm"] >= 2.5  # measured 3.73
    assert np.linalg.norm(np.array(rise["peak_ras_mm"]) - (entry - 3.0 * coil[:3, 2])) < 6.0  # on the capsule
    assert rise["caution"].startswith(ENTRY_CAUTION.format(rise["rise_mm"]))
    assert f"warning         {rise['caution']}\n" in capsys.readouterr().out
    assert plan["landmarks"]["points"]["m1_hand_knob"]["scalp_rise"]["caution"] is None
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert f"The scalp rises {rise['rise_mm']:.1f} mm above its smooth shape" in page
