"""Ghosting (copies of the head in the air along a voxel axis, as motion leaves): measured per
axis, refused when strong.

Colin27 with known ghosts (``heads.add_motion_ghost``: a copy half the field of view away)
and with the head moved during the scan (``heads.move_during_scan``: the Fourier shift of
the k-space lines acquired while it was displaced), turned and moved at random and with
Rician noise: the measure must find the ghosting on its own axis and none on the others,
whatever the voxel order; clean heads, noise alone, an MP2RAGE-like air and markers in the
air read none; strong ghosting is refused by the whole pipeline, naming its direction,
before it reads as noise.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from navsvc.anatomy.air_lattice import air_lattice
from navsvc.anatomy.ghost import (MAX_GHOSTING_PCT, ghosting_pct_by_axis, require_little_ghosting,
                                  strongest_ghosting)
from navsvc.anatomy.template_head import colin_head_distance_mm
from navsvc.coords import voxel_to_world
from navsvc.errors import InputError
from navsvc.pipeline import make_plan
from navsvc.testing import heads
from navsvc.testing.cases import random_rigid


@pytest.fixture(scope="module")
def colin():
    return heads.load_colin27()


def _identity(points):
    return np.asarray(points, dtype=float)


def _ghosting(data, affine, to_colin) -> list[float | None]:
    return ghosting_pct_by_axis(air_lattice(data, affine, to_colin))


def _measure(case: heads.TransformedHead) -> list[float | None]:
    img = case.image
    return _ghosting(np.asanyarray(img.dataobj).astype(np.float32), img.affine, case.new_to_original)


def _noisy_and_moved(case: heads.TransformedHead, rng, sigma=0.02) -> heads.TransformedHead:
    return case.then(lambda im: heads.add_rician_noise(im, rng, sigma)).then(random_rigid(rng))


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_a_half_field_of_view_ghost_is_measured_on_its_own_axis(colin, axis):
    rng = np.random.default_rng(axis)
    measured = _measure(_noisy_and_moved(heads.add_motion_ghost(colin, 0.2, axis), rng, 0.04))
    # the copy covers only part of the air on its lines: a 20 % copy reads 14-17 (left-right the least)
    assert 13.0 < measured[axis] < 18.5
    assert all(pct < 1.0 for other, pct in enumerate(measured) if other != axis)
    assert strongest_ghosting(measured)[1] == axis


def test_a_head_that_moved_during_the_scan_reads_as_ghosting_along_its_axis(colin):
    rng = np.random.default_rng(7)
    n = colin.shape[2]
    # the head 5 mm up for a random 30 % of the lines: planned, the entry went 7 mm off
    strong = _measure(_noisy_and_moved(heads.move_during_scan(colin, 2, np.where(rng.random(n) < 0.3, 5.0, 0.0)), rng))
    assert strong[2] > MAX_GHOSTING_PCT and max(strong[0], strong[1]) < 1.0
    # 2 mm for 10 % of the lines: planned within 1 mm
    mild = _measure(_noisy_and_moved(heads.move_during_scan(colin, 2, np.where(rng.random(n) < 0.1, 2.0, 0.0)), rng))
    assert 1.0 < mild[2] < 0.6 * MAX_GHOSTING_PCT


def test_the_ghosting_follows_its_axis_into_any_voxel_order(colin):
    # ghosted front-back, then the voxel axes permuted and flipped: found on the axis that is now front-back
    case = heads.add_motion_ghost(colin, 0.3, axis=1).then(lambda im: heads.reorient(im, (2, 0, 1), (True, False, True)))
    measured = _measure(case)
    assert nib.aff2axcodes(case.image.affine)[2] in "AP"
    assert measured[2] > MAX_GHOSTING_PCT and max(measured[0], measured[1]) < 1.0


def test_a_head_map_a_little_off_still_finds_lines_clear_of_the_head(colin):
    # Colin27's own field of view, the head stage's map 2 mm off: the lines' ends fall outside
    # Colin27's field of view, which is neither head nor air (once they counted as head, and no
    # line along the ghost's axis was clear of it)
    case = heads.add_motion_ghost(colin, 0.3, axis=1)
    off = _ghosting(heads.image_data(case.image).astype(np.float32), colin.affine,
                    lambda p: np.asarray(p, float) + [0.0, 2.0, 0.0])
    assert off[1] is not None and off[1] > MAX_GHOSTING_PCT


@pytest.mark.parametrize("sigma", [0.0, 0.04, 0.12])
def test_a_head_without_ghosts_reads_none(colin, sigma):
    rng = np.random.default_rng(5)
    assert max(_measure(_noisy_and_moved(heads.TransformedHead(colin, _identity, _identity, "colin"), rng, sigma))) < 1.0


def test_an_mp2rage_like_air_and_markers_in_the_air_read_no_ghosting(colin):
    # noise spread uniformly over the image's whole range in the air (without the standard-
    # error discount such air read up to 23 % on a half-field-of-view measure), then four bright
    # marker capsules 20-30 mm off the scalp (0.6 % without the discount)
    values = np.asanyarray(colin.dataobj).astype(np.float32)
    ijk = np.indices(values.shape).reshape(3, -1).T
    air = (colin_head_distance_mm(voxel_to_world(colin.affine, ijk)) > 5.0).reshape(values.shape)
    values[air] = np.random.default_rng(0).uniform(0.0, heads.robust_max(values), int(air.sum()))
    assert max(_ghosting(values, colin.affine, _identity)) < 1.0
    marked = heads.add_rician_noise(colin, np.random.default_rng(1), 0.02).image
    for centre in ((-100, -20, 0), (100, -20, 0), (0, 100, 30), (-60, 60, 60)):
        marked = heads.add_capsule(marked, centre, (0, 0, 1), 15.0, 8.0)
    assert max(_ghosting(np.asanyarray(marked.dataobj), marked.affine, _identity)) < 1.0


def test_too_little_air_is_not_measured():
    assert strongest_ghosting([None, None, None]) is None
    require_little_ghosting([None, None, None], ("R", "A", "S"))


def test_the_limit_refuses_only_above_it_and_names_the_direction():
    require_little_ghosting([1.0, MAX_GHOSTING_PCT, None], ("R", "A", "S"))
    with pytest.raises(InputError, match=r"ghosts of the head: copies smeared front-back \(voxel axis 2\) into the "
                                         r"air at 31 % of the brain's signal"):
        require_little_ghosting([1.0, 2.0, 31.0], ("L", "I", "A"))


def test_a_head_that_moved_to_and_fro_is_refused_by_the_pipeline_not_planned_or_called_noise(colin, tmp_path):
    # 4 mm front-back and back over every 8 lines: planned, the entry went 6 mm off
    n = colin.shape[1]
    case = heads.move_during_scan(colin, 1, 4.0 * np.sin(2 * np.pi * np.arange(n) / 8))
    case = case.then(lambda im: heads.add_rician_noise(im, np.random.default_rng(2), 0.02))
    nib.save(case.image, str(tmp_path / "moved.nii.gz"))
    with pytest.raises(InputError, match="ghosts of the head.*front-back.*rescan"):
        make_plan(tmp_path / "moved.nii.gz", tmp_path / "out")
    assert not (tmp_path / "out" / "plan.json").exists()


def test_motion_that_spoils_the_registration_is_named_in_its_refusal(colin, tmp_path):
    # a 70 % copy half the field of view away: the registration fails (quality 0.44), and its
    # refusal, which comes first, names the ghosting (47 %) too
    case = heads.add_motion_ghost(colin, 0.7, axis=1).then(lambda im: heads.add_rician_noise(im, np.random.default_rng(2), 0.02))
    nib.save(case.image, str(tmp_path / "ghosted.nii.gz"))
    with pytest.raises(InputError, match="does not look like a T1-weighted head MRI.*It also holds ghosts of the head "
                                         "smeared front-back"):
        make_plan(tmp_path / "ghosted.nii.gz", tmp_path / "out")


def test_the_plan_reports_the_ghosting(colin_plan):
    assert colin_plan["input"]["ghosting_pct_of_brain"] == 0.0
