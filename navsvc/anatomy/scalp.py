"""Head mask and scalp surface (a trimesh mesh with smoothed normals)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import trimesh
from scipy import ndimage
from scipy.spatial import cKDTree
from skimage import filters, measure

from navsvc.coords import unit
from navsvc.grid import WorkingImage

#: marching-cubes step, in voxels of the grid it is given (the pipeline passes the 2 mm grid)
MESH_STEP_VOXELS = 1
#: radius of the scalp patch whose best-fit plane gives the coil normal (coil footprint), mm
NORMAL_PATCH_RADIUS_MM = 15.0


@dataclass(frozen=True)
class Scalp:
    """The scalp surface in native RAS mm and what is asked of it."""

    mesh: trimesh.Trimesh
    head_mask: np.ndarray

    @cached_property
    def vertex_tree(self) -> cKDTree:
        """KD-tree of the mesh vertices (built once per surface)."""
        return cKDTree(self.mesh.vertices)

    @property
    def centre_ras_mm(self) -> np.ndarray:
        """Centroid of the head (volume centroid of the mesh)."""
        return np.asarray(self.mesh.centroid)

    def nearest_point(self, point_ras_mm) -> np.ndarray:
        """The scalp point nearest ``point_ras_mm`` (on the triangles, not just vertices)."""
        closest, _, _ = trimesh.proximity.closest_point(self.mesh, np.atleast_2d(point_ras_mm))
        return closest[0]

    def inward_normal(self, point_ras_mm, radius_mm: float = NORMAL_PATCH_RADIUS_MM) -> np.ndarray:
        """Unit normal pointing into the head, from the best-fit plane of the scalp patch.

        The coil is flat and spans a few centimetres, so the plane fitted to the scalp
        under its footprint is a smoother and physically better normal than one
        triangle's (bumpy skin gives bad coil normals).
        """
        vertices = self.mesh.vertices
        idx = self.vertex_tree.query_ball_point(point_ras_mm, radius_mm)
        patch = vertices[idx]
        if len(patch) < 6:
            raise ValueError("scalp patch too small for a normal")
        centred = patch - patch.mean(axis=0)
        normal = np.linalg.svd(centred, full_matrices=False)[2][-1]
        outward = np.asarray(self.mesh.vertex_normals[idx]).mean(axis=0)
        if np.dot(normal, outward) > 0:
            normal = -normal
        return unit(normal)


def head_mask(t1: WorkingImage) -> np.ndarray:
    """Boolean mask of the head: above the air/tissue threshold, closed, filled, one piece."""
    data = t1.data
    # Otsu over all voxels: a strided subsample is not mirror-symmetric on even-length
    # axes, so a left-right mirrored head got another threshold and another mask.
    positive = data[data > 0]
    threshold = 0.5 * filters.threshold_otsu(positive) if positive.size else 0.0
    mask = ndimage.median_filter(data, size=3) > threshold
    labels, n = ndimage.label(mask)
    if n == 0:
        return mask
    sizes = ndimage.sum(mask, labels, index=np.arange(1, n + 1))
    mask = labels == (1 + int(np.argmax(sizes)))
    radius = max(1, int(round(4.0 / t1.spacing_mm)))
    ball = _ball(radius)
    mask = ndimage.binary_closing(np.pad(mask, radius), structure=ball)[radius:-radius, radius:-radius, radius:-radius]
    mask = _fill_holes_by_slice(mask)
    return ndimage.binary_fill_holes(mask)


def _ball(radius: int) -> np.ndarray:
    r = np.arange(-radius, radius + 1)
    return (r[:, None, None] ** 2 + r[None, :, None] ** 2 + r[None, None, :] ** 2) <= radius**2


def _fill_holes_by_slice(mask: np.ndarray) -> np.ndarray:
    # Sinuses, ear canals and dark skull open to the outside: filling axial slices closes them.
    out = mask.copy()
    for k in range(mask.shape[2]):
        out[:, :, k] = ndimage.binary_fill_holes(mask[:, :, k])
    return out


def scalp_surface(t1: WorkingImage, mask: np.ndarray | None = None) -> Scalp:
    """Marching-cubes scalp mesh (native RAS mm), Taubin-smoothed, with vertex normals."""
    mask = head_mask(t1) if mask is None else mask
    smooth = ndimage.gaussian_filter(mask.astype(np.float32), sigma=1.0 / t1.spacing_mm)
    verts, faces, _, _ = measure.marching_cubes(
        np.pad(smooth, 1), level=0.5, step_size=MESH_STEP_VOXELS, allow_degenerate=False
    )
    verts = (verts - 1.0) * t1.spacing_mm + t1.origin_ras_mm
    mesh = trimesh.Trimesh(vertices=verts, faces=faces[:, ::-1], process=True)
    mesh = max(mesh.split(only_watertight=False), key=lambda m: len(m.faces))
    trimesh.smoothing.filter_taubin(mesh, lamb=0.5, nu=-0.53, iterations=10)
    if mesh.volume < 0:
        mesh.invert()
    return Scalp(mesh=mesh, head_mask=mask)
