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


def _coil_matrix(entry_ras_mm: np.ndarray) -> np.ndarray:
    """SimNIBS-convention pose over ``entry``: z into the head, handle (−y) posterior."""
    z_axis = -entry_ras_mm / np.linalg.norm(entry_ras_mm)
    handle = np.array([-np.sqrt(0.5), -np.sqrt(0.5), 0.0])
    handle -= z_axis * (handle @ z_axis)
    y_axis = -handle / np.linalg.norm(handle)
    x_axis = np.cross(y_axis, z_axis)
    matrix = np.eye(4)
    matrix[:3, 0], matrix[:3, 1], matrix[:3, 2] = x_axis, y_axis, z_axis
    matrix[:3, 3] = entry_ras_mm - 4.0 * z_axis
    return matrix


def synthetic_plan() -> dict:
    """A plan for the synthetic head: the target at TARGET_RAS_MM, its entry and landmarks on the
    scalp sphere."""
    target = np.array(TARGET_RAS_MM)
    entry = target / np.linalg.norm(target) * HEAD_RADIUS_MM

    def on_scalp(point):
        point = np.asarray(point, dtype=float)
        return (point / np.linalg.norm(point) * HEAD_RADIUS_MM).round(2).tolist()

    return {
        "plan_id": "plan-0042",
        "navsvc_version": "0.1.0",
        "created_at": "2025-06-01T10:00:00Z",
        "input": {"sha256": "ab" * 32, "shape": list(SHAPE), "voxel_size_mm": [3.0, 3.0, 3.0],
                  "orientation": "RAS"},
        "registration": {"template": "ICBM 2009c nonlinear symmetric",
                         "quality": {"measure": "correlation", "value": 0.87, "threshold": 0.6},
                         "seconds": 12.5},
        "target": {"strategy": "fox2012", "citation": "Fox et al. 2012 Biol Psychiatry 72:595",
                   "mni_mm": [-38.0, 44.0, 26.0], "native_ras_mm": [-37.25, 43.5, 27.0],
                   "cortex_ras_mm": list(TARGET_RAS_MM), "cortex_mni_mm": [-39.5, 45.25, 25.75],
                   "cortex_voxel_ijk": [19, 47, 41], "in_grey_matter": True},
        "entry": {"scalp_ras_mm": entry.round(2).tolist(),
                  "scalp_to_cortex_mm": round(float(HEAD_RADIUS_MM - np.linalg.norm(target)), 2)},
        "coil": {"matrix": _coil_matrix(entry).tolist(), "distance_to_scalp_mm": 4.0,
                 "handle_angle_deg": 45.0},
        "landmarks": {
            "points": {
                "f3": {"ras_mm": on_scalp([-50.2, 53.1, 42.2])},
                "beam_f3": {"ras_mm": on_scalp([-45.0, 45.0, 50.0])},
                "five_cm": {"ras_mm": on_scalp([-41.0, 16.0, 54.0])},
                "cz": {"ras_mm": [0.0, 0.0, HEAD_RADIUS_MM]},
                "nasion": {"ras_mm": on_scalp([0.0, 86.8, -40.0])},
                "m1_hand_knob": {"ras_mm": [-46.9, -49.3, 103.8], "cortex_ras_mm": [-36.7, -49.8, 88.3],
                                 "mni_mm": [-37.0, -21.0, 58.0]},
            },
            "distances_mm": {"f3": 17.35, "beam_f3": 23.45, "five_cm": 41.65},
        },
        "dose": {"scalp_to_cortex_target_mm": 21.65, "scalp_to_cortex_m1_mm": 18.95,
                 "stokes_slope_pct_mso_per_mm": 2.8, "mt_offset_pct_mso": 7.56},
        "parameters": {"strategy": "fox2012", "coil_distance_mm": 4.0, "handle_angle_deg": 45.0},
        "timing_s": {"load": 0.5, "registration": 12.5, "total": 14.25},
    }
