"""Scalp over a region removed from the image (a defaced face) is found, and only there."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from navsvc.anatomy.removed_scalp import removed_scalp_vertices
from navsvc.anatomy.scalp import scalp_surface
from navsvc.grid import resample_to_working_grid
from navsvc.testing import heads


@pytest.fixture(scope="module")
def noisy_colin() -> nib.Nifti1Image:
    return heads.add_rician_noise(heads.load_colin27(), np.random.default_rng(3), 0.02).image


def _removed(img: nib.Nifti1Image) -> np.ndarray:
    data = np.asanyarray(img.dataobj)
    scalp = scalp_surface(resample_to_working_grid(heads.as_loaded_t1(img)).downsampled(2))
    # the images below are Colin27 in its own space: the head affine is the identity
    return removed_scalp_vertices(scalp, data, img.affine, lambda points: np.asarray(points, dtype=float))


@pytest.mark.parametrize("full_scale", [None, 50.0])
def test_a_defaced_face_is_found_in_front_of_and_below_the_brow(noisy_colin, full_scale):
    # Integer voxels at a full scale of 50: 16 % of the voxels are exactly 0, in the air
    # beside the face too, and still the face is found (an island of zero air, mostly deep)
    image = heads.deface(noisy_colin).image
    if full_scale is not None:
        data = np.asanyarray(image.dataobj)
        image = nib.Nifti1Image(np.round(data / data.max() * full_scale).astype(np.int16), image.affine)
    removed = _removed(image)
    assert len(removed) > 1000
    # every vertex found lies in the zeroed region's neighbourhood: the face, not the scalp
    # over the DLPFC or the vertex
    assert removed[:, 1].min() > 10.0 and removed[:, 2].max() < 5.0


@pytest.mark.parametrize("full_scale", [None, 300.0, 50.0])
def test_an_intact_head_has_none_even_with_integer_noise(noisy_colin, full_scale):
    # Integer voxels: at a full scale of 50 the rounded air is often exactly 0, yet no
    # patch of scalp has zero air all over it.
    data = np.asanyarray(noisy_colin.dataobj).astype(np.float32)
    if full_scale is not None:
        data = np.round(data / data.max() * full_scale).astype(np.int16)
    assert len(_removed(nib.Nifti1Image(data, noisy_colin.affine))) == 0


def test_without_noise_a_removed_face_cannot_be_told_from_air():
    # Colin27's own air is exactly 0: the documented limit (nothing is flagged)
    assert len(_removed(heads.deface(heads.load_colin27()).image)) == 0


def test_a_ghost_in_a_noise_free_background_is_not_taken_for_an_intact_air():
    # A ghost puts signal into part of the zero air; a third of the scalp still has zero
    # air outside it. That scalp is intact skin, where Colin27's head has its surface too,
    # not the edge of a region cut into the head: none is reported (reading it as removed
    # would mark landmarks and refuse entry points on an intact head).
    colin = heads.load_colin27()
    data = np.asanyarray(colin.dataobj).astype(np.float32)
    ghosted = data + 0.10 * np.roll(data, data.shape[1] // 2, axis=1)
    assert len(_removed(nib.Nifti1Image(ghosted, colin.affine))) == 0


def test_a_defaced_plan_marks_the_nasion_and_keeps_the_target(noisy_colin, tmp_path):
    from navsvc.pipeline import make_plan

    nib.save(heads.deface(noisy_colin).image, str(tmp_path / "defaced.nii.gz"))
    plan = make_plan(tmp_path / "defaced.nii.gz", tmp_path / "out")
    points = plan["landmarks"]["points"]
    assert plan["input"]["scalp_removed"] is True
    assert points["nasion"]["scalp_in_image"] is False
    for name in ("f3", "cz", "m1_hand_knob", "inion"):
        assert points[name]["scalp_in_image"] is True, name
    assert plan["dose"]["mt_offset_pct_mso"] is not None


@pytest.mark.parametrize(("removed_gap_mm", "message"), [
    (6.0, "was removed from the image .*before defacing"),
    (30.0, "the image ends .*field of view covers the whole head"),
])
def test_an_entry_near_removed_scalp_is_refused_naming_the_nearer_cause(removed_gap_mm, message):
    # The entry lies 10 mm from the field-of-view cut; the removed face is nearer or farther.
    from navsvc.anatomy.checks import require_entry_in_image
    from navsvc.anatomy.field_of_view import ScalpCut
    from navsvc.errors import InputError

    entry = np.array([0.0, 80.0, 10.0])
    cut = ScalpCut(np.array([[0.0, 80.0, 20.0]]), np.array([[0.0, 80.0 - removed_gap_mm, 10.0]]))
    with pytest.raises(InputError, match=message):
        require_entry_in_image(cut, entry)
    require_entry_in_image(ScalpCut(np.empty((0, 3))), entry)


def test_a_head_shaped_unlike_colin27_over_noise_free_air_has_none():
    # Colin27 deformed by a smooth 5 mm warp, its air still exactly 0: 344 vertices of the
    # zero air's wide stretch lay 8 mm inside Colin27's head, and were taken for a removed
    # face (with the head's rigid move too, a plan was refused as defaced over its DLPFC).
    # Intact skin over zero air mostly follows Colin27's surface; a removed region is an
    # island that mostly lies deep.
    warped = heads.smooth_warp(heads.load_colin27(), np.random.default_rng(5), amplitude_mm=5.0,
                               wavelength_mm=80.0).image
    assert len(_removed(warped)) == 0
