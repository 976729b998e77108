"""Images the report reads at chosen native points instead of resampling whole volumes.

The QC figures show about a dozen slices; warping a template onto the whole 1 mm
working grid to show them took seconds. An image resampled into the patient's grid
holds, at each native voxel centre ``p``, the source image's value at ``T(p)``, where
``T`` maps native points into the source space (for ANTs: the same transform list
``apply_transforms`` takes with the native grid as the fixed image).
:class:`MappedImage` evaluates exactly that, only at the points asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import nibabel as nib
import numpy as np
from scipy import ndimage

#: Native RAS points (N, 3), mm -> one value per point (N,).
PointSampler = Callable[[np.ndarray], np.ndarray]
#: Points (N, 3), mm, in one space -> the same points (N, 3), mm, in another.
PointMap = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, eq=False)
class MappedImage:
    """A source-space image read at native points through a native -> source point map.

    Calling it with native RAS points (N, 3) returns the image values there: trilinear
    (``order=1``, as ANTs' ``linear``) or nearest voxel (``order=0``, rounding half up
    as ITK's ``nearestNeighbor``); 0 outside the image.

    Parameters
    ----------
    data : numpy.ndarray, 3-D
        The source image's voxels.
    affine : numpy.ndarray, shape (4, 4)
        Voxel indices -> source-space world mm (RAS).
    to_source : callable
        Native RAS points (N, 3) -> source-space world points (N, 3), mm.
    order : int
        1 for trilinear interpolation, 0 for the nearest voxel (labels).
    """

    data: np.ndarray
    affine: np.ndarray
    to_source: PointMap
    order: int = 1

    @classmethod
    def load(cls, path, to_source: PointMap, order: int = 1) -> "MappedImage":
        """The image in ``path`` (NIfTI) read through ``to_source``."""
        img = nib.load(str(path))
        data = img.get_fdata(dtype=np.float32) if order == 1 else np.asanyarray(img.dataobj)
        return cls(data, np.asarray(img.affine, dtype=float), to_source, order)

    def __call__(self, points_ras_mm: np.ndarray) -> np.ndarray:
        """The image's values at native RAS points (N, 3), mm."""
        points = np.asarray(points_ras_mm, dtype=float).reshape(-1, 3)
        if len(points) == 0:
            return np.zeros(0, dtype=np.float32)
        ijk = apply_affine_columns(np.linalg.inv(self.affine), self.to_source(points))
        if self.order == 0:
            ijk = np.floor(ijk + 0.5)
        # ITK reads the outer half voxel too (clamping to the edge voxel, as scipy's 'nearest'
        # mode); further out it gives 0, its default value
        inside = np.ones(len(points), dtype=bool)
        for axis, size in enumerate(self.data.shape):
            inside &= (ijk[axis] >= -0.5) & (ijk[axis] < size - 0.5)
        values = np.zeros(len(points), dtype=np.float32 if self.order == 1 else self.data.dtype)
        if self.order == 1:
            values[inside] = ndimage.map_coordinates(self.data, ijk[:, inside], order=1, mode="nearest",
                                                     prefilter=False)
        else:
            values[inside] = self.data[tuple(ijk[:, inside].astype(np.int64))]
        return values


def fitted_affine(point_map: PointMap) -> np.ndarray:
    """The 4×4 matrix of a point map known to be affine, from four of its points.

    Parameters
    ----------
    point_map : callable
        Points (N, 3) -> mapped points (N, 3); must be affine (e.g. an ANTs ``.mat``).

    Returns
    -------
    numpy.ndarray, shape (4, 4)
        ``matrix`` with ``apply_affine(matrix, p) == point_map(p)``.
    """
    basis = np.array([[0.0, 0.0, 0.0], [100.0, 0.0, 0.0], [0.0, 100.0, 0.0], [0.0, 0.0, 100.0]])
    mapped = np.asarray(point_map(basis), dtype=float)
    matrix = np.eye(4)
    matrix[:3, :3] = ((mapped[1:] - mapped[0]) / 100.0).T
    matrix[:3, 3] = mapped[0]
    return matrix


def apply_affine_columns(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``matrix`` (4×4) applied to points (N, 3), returned as coordinates (3, N).

    Written as column multiply-adds: a BLAS product with an inner dimension of 3 gains
    nothing and, multi-threaded, spins its threads on a busy machine.
    """
    points = np.asarray(points, dtype=float).reshape(-1, 3)
    out = np.empty((3, len(points)))
    for row in range(3):
        out[row] = (points[:, 0] * matrix[row, 0] + points[:, 1] * matrix[row, 1]
                    + points[:, 2] * matrix[row, 2] + matrix[row, 3])
    return out


def affine_map(matrix: np.ndarray) -> PointMap:
    """The point map ``p -> matrix @ p`` (4×4 homogeneous matrix)."""
    matrix = np.asarray(matrix, dtype=float)
    return lambda points: apply_affine_columns(matrix, points).T


def grid_sampler(img, order: int = 1) -> MappedImage:
    """Sampler of an image that already lies in native RAS space (identity point map)."""
    data = np.asanyarray(img.dataobj)
    if order == 1:
        data = data.astype(np.float32)
    return MappedImage(data, np.asarray(img.affine, dtype=float), lambda points: points, order)
