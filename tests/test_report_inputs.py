"""The QC report's inputs (navsvc.pipeline.report_inputs): the template and the left DLPFC
read at the shown points equal what warping the whole volumes with ANTs gives."""

from __future__ import annotations

from types import SimpleNamespace

import nibabel as nib
import numpy as np
import trimesh

from navsvc import templates
from navsvc.antspy import ants
from navsvc.grid import WorkingImage
from navsvc.pipeline import report_inputs
from navsvc.registration_maps import Registration
from navsvc.report.planes import VIEWS, Volume, sample_planes
from navsvc.report.template_slices import template_slices


def _tilted_registration(folder) -> Registration:
    """A registration whose native -> MNI map is a rotation, a shift and a smooth warp."""
    rotation = (trimesh.transformations.rotation_matrix(np.radians(20), [0, 0, 1])
                @ trimesh.transformations.rotation_matrix(np.radians(-12), [1, 0, 0]))[:3, :3]
    affine = ants.create_ants_transform(transform_type="AffineTransform", dimension=3,
                                        matrix=rotation, translation=(6.0, -9.0, 4.0))
    affine_path = str(folder / "affine.mat")
    ants.write_transform(affine, affine_path)
    shape, spacing, origin_lps = (50, 60, 50), 4.0, (-100.0, -120.0, -90.0)
    ijk = np.indices(shape).astype(float)
    field = np.stack([4.0 * np.sin(ijk[1] / 7.0), 3.0 * np.cos(ijk[2] / 9.0), 2.5 * np.sin(ijk[0] / 6.0)], axis=-1)
    warp = ants.from_numpy(field.astype(np.float32), origin=origin_lps, spacing=(spacing,) * 3,
                           has_components=True)
    warp_path = str(folder / "warp.nii.gz")
    ants.image_write(warp, warp_path)
    return Registration(head_affine=affine_path, to_mni=(), from_mni=(affine_path, warp_path),
                        from_mni_invert=(True, False), quality_correlation=1.0)


def test_report_inputs_equal_the_full_volume_warps_on_the_shown_planes(tmp_path):
    """The template and left-DLPFC samplers give what warping the whole volumes with ANTs gives."""
    reg = _tilted_registration(tmp_path)
    spacing = 2.0
    origin = np.array([-96.0, -130.0, -80.0])
    grid = WorkingImage(np.zeros((96, 120, 100), dtype=np.float32), origin, spacing)
    ctx = SimpleNamespace(registration=reg, grid=grid,
                          scalp=SimpleNamespace(mesh=trimesh.creation.icosphere(radius=80.0)))
    inputs = report_inputs(ctx)

    full_template = reg.mni_image_to_native(ants.image_read(str(templates.ICBM_T1)), grid)
    labels = reg.colin_image_to_native(ants.image_read(str(templates.BRODMANN_COLIN)), grid, nearest=True)
    world = nib.affines.apply_affine(grid.affine, np.indices(grid.data.shape).reshape(3, -1).T)
    left = (reg.native_to_colin(world)[:, 0] < 0).reshape(grid.data.shape)  # the atlas's own left
    full_dlpfc = np.isin(np.rint(labels), templates.DLPFC_BRODMANN_AREAS) & left

    volume = Volume(inputs.t1_img)
    dlpfc_native = reg.colin_to_native([[-40.0, 40.0, 28.0]])[0]
    cuts = [(view, dlpfc_native[view.normal_axis]) for view in VIEWS]
    for sampled, full, name in ((inputs.template, full_template, "template"),
                                (inputs.dlpfc_mask, full_dlpfc.astype(np.float32), "dlpfc")):
        for plane, (view, cut) in zip(sample_planes(sampled, volume, cuts), cuts):
            expected = Volume(nib.Nifti1Image(full.astype(np.float32), grid.affine)).plane(view, cut).values
            assert expected.max() > 0, (name, view.name)
            difference = np.abs(plane.values.astype(np.float32) - expected)
            if name == "template":
                assert difference.max() < 0.05, (view.name, difference.max())
            else:  # labels: only rounding ties at exactly half a voxel could differ
                assert np.mean(difference > 0) < 1e-3, view.name

    # the registration check's nine slices, read only near the brain, are the same values
    full_volume = Volume(nib.Nifti1Image(full_template.astype(np.float32), grid.affine))
    for view, cut, plane in template_slices(inputs.template, volume, dlpfc_native):
        reference = full_volume.plane(view, cut)
        rows = np.searchsorted(reference.vertical_mm, plane.vertical_mm)
        columns = np.searchsorted(reference.horizontal_mm, plane.horizontal_mm)
        np.testing.assert_allclose(plane.vertical_mm, reference.vertical_mm[rows])
        np.testing.assert_allclose(plane.horizontal_mm, reference.horizontal_mm[columns])
        shown = reference.values[np.ix_(rows, columns)]
        assert np.abs(plane.values - shown).max() < 0.05, (view.name, cut)
        assert plane.values.max() > 0 and reference.values.sum() - shown.sum() < 1e-3 * reference.values.sum()
