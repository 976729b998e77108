"""ANTs transform lists applied to many points at once (vectorized, in memory).

ANTs maps points one call at a time (``ANTsTransform.apply_to_point``) or through files
(``apply_transforms_to_points``, which reads every transform file on each call). A QC
report samples hundreds of thousands of points, so the same maps are evaluated here with
numpy: an affine transform as its 4×4 matrix, a displacement field ``T(p) = p + d(p)``
with ``d`` trilinearly interpolated in the field's voxel grid and zero outside it (ITK's
``DisplacementFieldTransform`` with its linear interpolator). Tests compare every map
with ANTs' own point tools.
"""

from __future__ import annotations

from dataclasses import dataclass

import ants
import numpy as np
from scipy import ndimage

#: points probing an affine transform: the origin and the three unit vectors (mm)
_PROBES = np.vstack([np.zeros(3), np.eye(3)])


def affine_matrix_lps(path: str, invert: bool = False) -> np.ndarray:
    """The 4×4 matrix (LPS mm) of an ITK affine transform file, or of its inverse."""
    transform = ants.read_transform(str(path))
    images = np.array([transform.apply_to_point(tuple(p)) for p in _PROBES], dtype=np.float64)
    matrix = np.eye(4)
    matrix[:3, 3] = images[0]
    matrix[:3, :3] = (images[1:] - images[0]).T
    return np.linalg.inv(matrix) if invert else matrix


@dataclass(frozen=True)
class DisplacementField:
    """A displacement field image (ITK/ANTs warp file) as arrays.

    Attributes
    ----------
    vectors_lps_mm : ndarray (nx, ny, nz, 3)
        Displacement at each voxel, LPS mm.
    index_from_lps : ndarray (4, 4)
        Physical LPS point (mm) -> continuous voxel index.
    """

    vectors_lps_mm: np.ndarray
    index_from_lps: np.ndarray

    @classmethod
    def read(cls, path: str) -> "DisplacementField":
        """Read a warp file written by ANTs (a 3-component vector image)."""
        image = ants.image_read(str(path))
        vectors = image.numpy().astype(np.float64).reshape(*image.shape, 3)
        lps_from_index = np.eye(4)
        lps_from_index[:3, :3] = np.asarray(image.direction) @ np.diag(image.spacing)
        lps_from_index[:3, 3] = image.origin
        return cls(vectors, np.linalg.inv(lps_from_index))

    def displace(self, points_lps_mm: np.ndarray) -> np.ndarray:
        """``p + d(p)`` for (N, 3) LPS points; zero displacement outside the field."""
        ijk = points_lps_mm @ self.index_from_lps[:3, :3].T + self.index_from_lps[:3, 3]
        shape = np.array(self.vectors_lps_mm.shape[:3])
        # ITK interpolates up to half a voxel beyond the outer voxel centres (edge values there)
        inside = np.all((ijk >= -0.5) & (ijk <= shape - 0.5), axis=1)
        out = np.array(points_lps_mm, dtype=np.float64, copy=True)
        if inside.any():
            coords = ijk[inside].T
            for axis in range(3):
                out[inside, axis] += ndimage.map_coordinates(
                    self.vectors_lps_mm[..., axis], coords, order=1, mode="nearest")
        return out


class PointChain:
    """An ``ants.apply_transforms`` list (same order, same meaning) for points: it maps
    fixed-space points into the moving space, applying the listed transforms in order.

    Parameters
    ----------
    files : sequence of str
        ``.mat`` affine files and warp (``.nii.gz``) files.
    invert : sequence of bool
        Whether each is inverted (only affine files can be).
    """

    def __init__(self, files, invert) -> None:
        self.steps: list[np.ndarray | DisplacementField] = []
        for path, inverted in zip(files, invert):
            if str(path).endswith(".mat"):
                self.steps.append(affine_matrix_lps(path, inverted))
            elif inverted:
                raise ValueError(f"{path}: a displacement field is inverted by its own inverse-warp file")
            else:
                self.steps.append(DisplacementField.read(path))

    def __call__(self, points_lps_mm: np.ndarray) -> np.ndarray:
        """Map (N, 3) LPS points (mm)."""
        out = np.asarray(points_lps_mm, dtype=np.float64).reshape(-1, 3)
        for step in self.steps:
            if isinstance(step, DisplacementField):
                out = step.displace(out)
            else:
                out = out @ step[:3, :3].T + step[:3, 3]
        return out
