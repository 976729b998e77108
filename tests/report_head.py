"""A synthetic head for the QC report's tests: a spherical scalp shell round a brain whose
patient's-left half is brighter, on an axis-aligned 3 mm RAS grid."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import trimesh

from navsvc.report.document import ReportInputs
from navsvc.sampling import grid_sampler

VOXEL_MM = 3.0
ORIGIN_MM = -96.0
SHAPE = (64, 64, 64)
TARGET_RAS_MM = (-38.0, 44.0, 26.0)
HEAD_RADIUS_MM = 85.0


def grid_affine() -> np.ndarray:
    """Voxel to RAS mm: 3 mm voxels, axis-aligned, the head centred on the origin."""
    affine = np.diag([VOXEL_MM, VOXEL_MM, VOXEL_MM, 1.0])
    affine[:3, 3] = ORIGIN_MM
    return affine


def world_mm() -> np.ndarray:
    """The RAS mm coordinates of every voxel centre, shape SHAPE + (3,)."""
    ijk = np.indices(SHAPE).reshape(3, -1).T
    return nib.affines.apply_affine(grid_affine(), ijk).reshape(SHAPE + (3,))


def synthetic_inputs() -> ReportInputs:
    """A spherical 'head': scalp shell, brain whose patient's-left half is brighter."""
    world = world_mm()
    radius = np.linalg.norm(world, axis=-1)
    t1 = np.zeros(SHAPE, dtype=np.float32)
    t1[(radius < HEAD_RADIUS_MM) & (radius > HEAD_RADIUS_MM - 6)] = 300.0
    brain = radius < HEAD_RADIUS_MM - 15
    t1[brain] = np.where(world[brain][:, 0] < 0, 200.0, 60.0)
    template = (radius < HEAD_RADIUS_MM - 16).astype(np.float32) * 100.0
    mask = (np.linalg.norm(world - np.array(TARGET_RAS_MM), axis=-1) < 15).astype(np.uint8)
    scalp = trimesh.creation.icosphere(subdivisions=4, radius=HEAD_RADIUS_MM)
    affine = grid_affine()
    return ReportInputs(
        t1_img=nib.Nifti1Image(t1, affine),
        template=grid_sampler(nib.Nifti1Image(template, affine)),
        dlpfc_mask=grid_sampler(nib.Nifti1Image(mask, affine), order=0),
        scalp_vertices_ras_mm=np.asarray(scalp.vertices),
        scalp_faces=np.asarray(scalp.faces),
    )
