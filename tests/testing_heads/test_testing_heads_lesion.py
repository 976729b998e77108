"""The fluid-filled ball of ``navsvc.testing.heads``: where it is, in world space, whatever
the voxel order."""

from __future__ import annotations

import nibabel as nib
import numpy as np

from navsvc.coords import voxel_to_world
from navsvc.testing import heads


def _world_of_changed(original: nib.Nifti1Image, changed: nib.Nifti1Image) -> np.ndarray:
    """World RAS mm of the voxels whose value differs."""
    ijk = np.argwhere(heads.image_data(changed) != heads.image_data(original))
    return voxel_to_world(original.affine, ijk)


def test_the_ball_lies_at_its_world_centre_in_any_voxel_order():
    img = heads.reorient(heads.load_colin27(), (2, 0, 1), (True, False, True)).image
    centre = np.array([-39.0, 45.0, 30.0])
    ball = heads.add_fluid_ball(img, centre, 10.0, 30.0)
    assert np.array_equal(ball.image.affine, img.affine)
    assert ball.original_to_new(centre[None]).tolist() == [centre.tolist()]
    changed = _world_of_changed(img, ball.image)
    assert np.linalg.norm(changed - centre, axis=1).max() <= 5.0
    assert np.linalg.norm(changed.mean(axis=0) - centre) < 0.5  # not mirrored, not shifted
    assert np.all(heads.image_data(ball.image)[heads.image_data(ball.image) != heads.image_data(img)] == 30.0)
    # 1 mm voxels: as many voxels set as the ball's volume in mm^3
    assert abs(ball.parameters["voxels"] - 4 / 3 * np.pi * 5.0 ** 3) < 0.1 * 4 / 3 * np.pi * 5.0 ** 3


def test_only_the_voxels_within_change():
    img = heads.load_colin27()
    within = np.zeros(img.shape, bool)
    within[:, :, : img.shape[2] // 2] = True  # world z below the grid's middle (Colin27 is RAS)
    middle_z = voxel_to_world(img.affine, np.array([[0, 0, img.shape[2] // 2]]))[0, 2]
    ball = heads.add_fluid_ball(img, [0.0, 0.0, middle_z], 20.0, 30.0, within=within)
    changed = _world_of_changed(img, ball.image)
    assert len(changed) and changed[:, 2].max() < middle_z
