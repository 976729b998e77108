"""The local tissue model: template priors are probabilities, and the patient's GM is found."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from navsvc import templates
from navsvc.anatomy.tissue import (BRAIN_SUPPORT_MIN, GM_THRESHOLD, LocalTissue, _m_step, _priors,
                                   _warped_template_tissue, crop, segment_locally)
from navsvc.antspy import ants
from navsvc.grid import WorkingImage
from navsvc.registration_maps import Registration


@pytest.fixture(scope="module")
def identity_registration(tmp_path_factory) -> Registration:
    """Native space == MNI space (the ICBM template is the patient)."""
    path = str(tmp_path_factory.mktemp("identity") / "identity.mat")
    ants.write_transform(ants.create_ants_transform(transform_type="AffineTransform", dimension=3), path)
    return Registration(head_affine=path, to_mni=(path,), from_mni=(path,), from_mni_invert=(False,),
                        quality_correlation=1.0)


def _icbm_box(centre_ras_mm, half_mm: float = 8.0) -> WorkingImage:
    img = nib.load(str(templates.ICBM_T1))
    origin = np.asarray(centre_ras_mm, float) - half_mm
    ijk = np.rint(nib.affines.apply_affine(np.linalg.inv(img.affine), origin)).astype(int)
    n = int(2 * half_mm) + 1
    data = np.asanyarray(img.dataobj)[ijk[0]:ijk[0] + n, ijk[1]:ijk[1] + n, ijk[2]:ijk[2] + n]
    return WorkingImage(data.astype(np.float32), nib.affines.apply_affine(img.affine, ijk), 1.0)


def _prior(box: WorkingImage, registration: Registration) -> np.ndarray:
    return _priors(box, *_warped_template_tissue(box, registration))


def test_priors_are_the_template_probabilities(identity_registration):
    """Deep white matter gets a WM prior near 1 and a GM prior near 0 (the uint8 maps are
    scaled by 255, not clipped: clipping made every tissue voxel 'certainly GM and WM')."""
    box = _icbm_box([-26.0, -10.0, 30.0], half_mm=2.0)  # left centrum semiovale
    csf, gm, wm = _prior(box, identity_registration).mean(axis=(1, 2, 3))
    assert wm > 0.8 and gm < 0.15 and csf < 0.1, (csf, gm, wm)


def test_priors_sum_to_one_and_allow_every_class_in_the_brain(identity_registration):
    box = _icbm_box([-38.0, 44.0, 26.0])
    prior = _prior(box, identity_registration)
    assert np.allclose(prior.sum(axis=0), 1.0, atol=1e-5)
    template = sum(identity_registration.mni_image_to_native(ants.image_read(str(path)), box) / 255.0
                   for path in (templates.ICBM_GM, templates.ICBM_WM))
    assert prior[:, template > BRAIN_SUPPORT_MIN].min() > 0.0


def test_no_grey_or_white_matter_away_from_the_brain(identity_registration):
    # MNI (-72, 40, 30) is in the scalp, beyond the 4 mm margin round the template's brain:
    # skin has grey matter's T1 intensity, so only the prior keeps it from passing for cortex
    prior = _prior(_icbm_box([-72.0, 40.0, 30.0], half_mm=2.0), identity_registration)
    assert np.allclose(prior[0], 1.0) and prior[1:].max() == 0.0


def test_grey_matter_found_at_the_template_cortex(identity_registration):
    """On the template itself the model's GM agrees with the template's GM map."""
    centre = [-38.0, 44.0, 26.0]
    tissue = segment_locally(_icbm_box(centre, 20.0), identity_registration, centre, radius_mm=20.0)
    template_gm = identity_registration.mni_image_to_native(
        ants.image_read(str(templates.ICBM_GM)), tissue.grid) / 255.0
    found = tissue.posterior[1] > 0.5
    expected = template_gm > 0.5
    dice = 2 * np.sum(found & expected) / (found.sum() + expected.sum())
    assert dice > 0.6, dice


def test_the_template_brain_and_the_fluid_found_at_the_template_cortex(identity_registration):
    """The box keeps the warped template's GM + WM (the fluid check's "where a brain should
    be"), and marks as fluid only voxels darker than grey matter."""
    centre = [-38.0, 44.0, 26.0]
    tissue = segment_locally(_icbm_box(centre, 20.0), identity_registration, centre, radius_mm=20.0)
    gm, wm = _warped_template_tissue(tissue.grid, identity_registration)
    assert np.allclose(tissue.template_brain, gm + wm, atol=1e-6)
    values = tissue.grid.data
    gm_mean = float((tissue.posterior[1] * values).sum() / tissue.posterior[1].sum())
    assert 0.02 < tissue.fluid_intensity.mean() < 0.5
    assert values[tissue.fluid_intensity].max() < gm_mean < values[~tissue.fluid_intensity].max()


def test_the_box_is_the_grid_within_the_radius_clipped_to_the_image():
    """On a 2 mm grid of 20 x 30 x 40 voxels: each voxel keeps its world position and value,
    and a box reaching past the image's edge stops there."""
    data = np.arange(20 * 30 * 40, dtype=np.float32).reshape(20, 30, 40)
    image = WorkingImage(data, np.array([-30.0, 10.0, -50.0]), 2.0)
    centre = image.world_ras_mm([10, 15, 20])
    box = crop(image, centre, 6.0)
    assert box.data.shape == (7, 7, 7) and box.spacing_mm == 2.0
    assert np.array_equal(box.world_ras_mm([3, 3, 3]), centre)
    assert box.data[3, 3, 3] == data[10, 15, 20] and box.data[0, 0, 0] == data[7, 12, 17]
    edge = crop(image, image.world_ras_mm([1, 28, 2]), 6.0)
    assert edge.data.shape == (5, 5, 6)
    assert np.array_equal(edge.origin_ras_mm, image.world_ras_mm([0, 25, 0]))
    assert edge.data[0, 0, 0] == data[0, 25, 0] and edge.data[-1, -1, -1] == data[4, 29, 5]


def test_grey_matter_points_are_the_world_positions_of_grey_matter_voxels():
    grid = WorkingImage(np.zeros((4, 5, 6), np.float32), np.array([-30.0, 10.0, -50.0]), 2.0)
    posterior = np.zeros((3, 4, 5, 6), np.float32)
    posterior[0] = 1.0
    for ijk, gm in (((1, 2, 3), 0.9), ((3, 0, 5), GM_THRESHOLD + 0.01), ((2, 2, 2), GM_THRESHOLD)):
        posterior[:, ijk[0], ijk[1], ijk[2]] = [1.0 - gm, gm, 0.0]
    posterior[2, 0, 4, 1], posterior[0, 0, 4, 1] = 0.9, 0.1  # white matter is not grey
    tissue = LocalTissue(grid, posterior, np.ones(grid.data.shape, np.float32), np.zeros(grid.data.shape, bool))
    assert tissue.gm_points_ras_mm().tolist() == [[-28.0, 14.0, -44.0], [-24.0, 10.0, -40.0]]


def test_m_step_keeps_each_class_variance_with_its_mean_when_labels_swap():
    # grey-matter weights on the bright (white-matter-like) voxels and the reverse: the means
    # are put back in T1 order CSF < GM < WM and each spread must travel with its own mean
    rng = np.random.default_rng(3)
    csf, dim, bright = rng.normal(10, 2, 400), rng.normal(50, 10, 400), rng.normal(100, 1, 400)
    values = np.concatenate([csf, dim, bright]).reshape(12, 10, 10)
    weights = np.zeros((3, 1200))
    weights[0, :400], weights[1, 800:], weights[2, 400:800] = 1.0, 1.0, 1.0
    means, sds = _m_step(values, weights.reshape(3, 12, 10, 10))
    assert np.allclose(means, [csf.mean(), dim.mean(), bright.mean()])
    assert np.allclose(sds, [csf.std(), dim.std(), bright.std()])
