"""Images and meshes the QC report draws, besides the plan dictionary."""

from __future__ import annotations

from dataclasses import dataclass

import nibabel as nib
import numpy as np

from navsvc.sampling import PointSampler


@dataclass(frozen=True, eq=False)
class ReportInputs:
    """What :func:`navsvc.report.document.write_report` needs besides the plan.

    The T1 lies on an axis-aligned RAS grid (affine with a positive diagonal and an
    origin), whose world coordinates are the patient's NIfTI RAS millimetres, the space
    every ``*_ras_mm`` value of the plan refers to. The template and the DLPFC region
    are not resampled onto that whole grid: they are functions of native points, read
    only on the voxel centres of the slices shown (see :mod:`navsvc.sampling`).

    Parameters
    ----------
    t1_img : nibabel.Nifti1Image
        The patient's T1-weighted image resampled on the RAS grid.
    template : PointSampler
        Native RAS points (N, 3) -> the MNI template T1's intensity there, i.e. the value
        the template warped onto the native grid has (registration check).
    dlpfc_mask : PointSampler
        Native RAS points (N, 3) -> 1 inside the patient's left-DLPFC region, 0 elsewhere.
    scalp_vertices_ras_mm : numpy.ndarray, shape (N, 3)
        Vertices of the patient's scalp mesh, RAS mm.
    scalp_faces : numpy.ndarray, shape (M, 3)
        Triangles of the scalp mesh, as indices into ``scalp_vertices_ras_mm``.
    """

    t1_img: nib.spatialimages.SpatialImage
    template: PointSampler
    dlpfc_mask: PointSampler
    scalp_vertices_ras_mm: np.ndarray
    scalp_faces: np.ndarray

    def __post_init__(self) -> None:
        if len(self.t1_img.shape) != 3:
            raise ValueError(f"t1_img must be a 3-D image, got shape {self.t1_img.shape}")
        for name in ("template", "dlpfc_mask"):
            if not callable(getattr(self, name)):
                raise ValueError(f"{name} must be a function of native RAS points (N, 3) -> values (N,)")
        rotation_zoom = np.asarray(self.t1_img.affine, dtype=float)[:3, :3]
        off_diagonal = rotation_zoom - np.diag(np.diag(rotation_zoom))
        if np.abs(off_diagonal).max() > 1e-3 or np.any(np.diag(rotation_zoom) <= 0):
            raise ValueError(
                "t1_img must lie on an axis-aligned RAS grid (affine diag(+s, +s, +s) with origin); "
                f"got affine {np.round(self.t1_img.affine, 3).tolist()}"
            )
        vertices = np.asarray(self.scalp_vertices_ras_mm, dtype=float)
        faces = np.asarray(self.scalp_faces)
        if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) < 3:
            raise ValueError("scalp_vertices_ras_mm must be an (N, 3) array with N >= 3")
        if faces.ndim != 2 or faces.shape[1] != 3 or len(faces) < 1:
            raise ValueError("scalp_faces must be an (M, 3) array with M >= 1")
        if not np.issubdtype(faces.dtype, np.integer) or faces.min() < 0 or faces.max() >= len(vertices):
            raise ValueError("scalp_faces must hold integer indices into scalp_vertices_ras_mm")
        object.__setattr__(self, "scalp_vertices_ras_mm", vertices)
        object.__setattr__(self, "scalp_faces", faces.astype(np.int64))
