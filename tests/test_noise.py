"""Noise measured in the air around the head, relative to the brain's signal.

Colin27 with Rician noise of known sigma: the estimate must equal sigma over the noisy
brain's median (in %), whatever the voxel order; a clean head, a constant background
fill and an offset measure no noise; the limit refuses with the measured level, and an
MP2RAGE-UNI-like air (noise over the whole range) is named as such.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from navsvc.anatomy.air_lattice import air_lattice
from navsvc.anatomy.noise import MAX_NOISE_PCT_OF_BRAIN, MP2RAGE_HINT_PCT, noise_pct_of_brain, require_low_noise
from navsvc.anatomy.template_head import colin_head_distance_mm
from navsvc.coords import voxel_to_world
from navsvc.errors import InputError
from navsvc.testing import heads


def _identity(points):
    return np.asarray(points, dtype=float)


@pytest.fixture(scope="module")
def colin():
    return heads.load_colin27()


@pytest.fixture(scope="module")
def brain_mask():
    return heads.load_colin27_brain_mask()


def _estimate(img, to_colin=_identity):
    return noise_pct_of_brain(air_lattice(np.asanyarray(img.dataobj).astype(np.float32), img.affine, to_colin))


@pytest.mark.parametrize("fraction", [0.02, 0.06, 0.12])
def test_known_rician_noise_is_measured(colin, brain_mask, fraction):
    case = heads.add_rician_noise(colin, np.random.default_rng(1), fraction)
    noisy = np.asanyarray(case.image.dataobj)
    expected_pct = 100.0 * case.parameters["sigma"] / np.median(noisy[brain_mask])
    assert _estimate(case.image) == pytest.approx(expected_pct, rel=0.05)


def test_the_estimate_does_not_depend_on_the_voxel_order(colin):
    noisy = heads.add_rician_noise(colin, np.random.default_rng(2), 0.06)
    reordered = noisy.then(lambda im: heads.reorient(im, (2, 0, 1), (True, False, True)))
    assert _estimate(reordered.image) == pytest.approx(_estimate(noisy.image), rel=0.03)


def test_a_clean_head_and_a_filled_background_measure_no_noise(colin):
    data = np.asanyarray(colin.dataobj).astype(np.float32)
    assert _estimate(colin) < 0.5
    filled = np.where(data > 0, data, 37.0)  # a converter's constant background
    assert _estimate(nib.Nifti1Image(filled, colin.affine)) < 0.5


@pytest.mark.parametrize("ghost_fraction", [0.05, 0.10])
def test_a_phase_encoding_ghost_in_the_air_is_not_taken_for_heavy_noise(colin, ghost_fraction):
    # A ghost (the head repeated half a field of view along the phase-encoding axis, as
    # motion or an N/2 artefact leave it) lies in the air the estimate reads. On a clean
    # head a 10 % ghost measures about 7 %: far from the refusal limit, so an image with a
    # mild ghost is still planned.
    data = np.asanyarray(colin.dataobj).astype(np.float32)
    ghosted = data + ghost_fraction * np.roll(data, data.shape[1] // 2, axis=1)
    estimate = _estimate(nib.Nifti1Image(ghosted, colin.affine))
    assert 0.5 < estimate < 100.0 * ghost_fraction
    assert estimate < MAX_NOISE_PCT_OF_BRAIN / 2


def test_an_intensity_offset_leaves_the_noise_level_unchanged(colin, brain_mask):
    noisy = heads.add_rician_noise(colin, np.random.default_rng(3), 0.06).image
    values = np.asanyarray(noisy.dataobj)
    shifted = nib.Nifti1Image(values + 50.0, colin.affine)
    brain_median = float(np.median(values[brain_mask]))
    # the same sigma, relative to a brain signal raised by the offset
    assert _estimate(shifted) * (brain_median + 50.0) == pytest.approx(_estimate(noisy) * brain_median, rel=0.05)


def test_too_little_air_gives_no_estimate(colin):
    # every voxel mapped far inside Colin27's head: no air at all
    assert _estimate(colin, lambda p: np.zeros_like(np.asarray(p, dtype=float))) is None


def test_the_limit_refuses_with_the_measured_level():
    require_low_noise(None)
    require_low_noise(MAX_NOISE_PCT_OF_BRAIN)
    with pytest.raises(InputError, match=r"too noisy: the noise in the air around the head is 31 % of the "
                                         r"brain's signal \(at most 25 % is accepted"):
        require_low_noise(31.2)
    with pytest.raises(InputError) as refused:
        require_low_noise(31.2)
    assert "MP2RAGE" not in str(refused.value)


def test_an_mp2rage_uni_like_air_is_refused_with_a_request_for_the_denoised_series(colin):
    # MP2RAGE UNI: the air holds noise spread uniformly over the image's whole range
    values = np.asanyarray(colin.dataobj).astype(np.float32)
    ijk = np.indices(values.shape).reshape(3, -1).T
    air = (colin_head_distance_mm(voxel_to_world(colin.affine, ijk)) > 5.0).reshape(values.shape)
    values[air] = np.random.default_rng(3).uniform(0.0, heads.robust_max(values), int(air.sum()))
    measured = _estimate(nib.Nifti1Image(values, colin.affine))
    assert measured > MP2RAGE_HINT_PCT
    with pytest.raises(InputError, match=r"too noisy.*An MP2RAGE UNI image fills the air with noise by design: "
                                         r"upload its background-denoised series \(e\.g\. UNI-DEN\) or an MPRAGE$"):
        require_low_noise(measured)
