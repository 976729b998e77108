"""ANTs transform lists applied to many points at once (vectorized, in memory).

ANTs maps points one call at a time (``ANTsTransform.apply_to_point``) or through files
(``apply_transforms_to_points``, which reads every transform file on each call). A QC
report samples hundreds of thousands of points, so the same maps are evaluated here with
numpy: an affine transform as its 4×4 matrix, a displacement field ``T(p) = p + d(p)``
with ``d`` read from the field's voxels as ITK reads an image (:func:`sample_like_itk`:
trilinear, zero outside). Tests compare every map with ANTs' own point tools.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from navsvc.antspy import ants
from navsvc.coords import apply_affine

#: points probing an affine transform: the origin and the three unit vectors (mm)
_PROBES = np.vstack([np.zeros(3), np.eye(3)])


def sample_like_itk(data: np.ndarray, ijk: np.ndarray, order: int = 1) -> np.ndarray:
    """Values of a 3-D array at continuous voxel indices (3, N), read as ITK reads them.

    ``order=1`` is trilinear (ITK's linear interpolator), ``order=0`` the nearest voxel
    (rounding half up, as ``nearestNeighbor``). ITK reads the outer half voxel too
    (clamping to the edge voxel, as scipy's 'nearest' mode); further out the value is 0.

    Parameters
    ----------
    data : numpy.ndarray, 3-D
        The image's voxels.
    ijk : numpy.ndarray, shape (3, N)
        Continuous voxel indices, one row per axis (the transpose of
        :func:`navsvc.coords.world_to_voxel`'s result).
    order : int
        1 for trilinear interpolation, 0 for the nearest voxel (no other value is supported).

    Returns
    -------
    numpy.ndarray, shape (N,)
        The values: float32 for ``order=1``, ``data``'s dtype for ``order=0``.

    Raises
    ------
    ValueError
        For any other ``order``.
    """
    if order not in (0, 1):
        raise ValueError(f"order must be 0 (nearest voxel) or 1 (trilinear), not {order!r}")
    if order == 0:
        ijk = np.floor(ijk + 0.5)
    inside = np.ones(ijk.shape[1], dtype=bool)
    for axis, size in enumerate(data.shape[:3]):
        inside &= (ijk[axis] >= -0.5) & (ijk[axis] < size - 0.5)
    values = np.zeros(ijk.shape[1], dtype=np.float32 if order == 1 else data.dtype)
    if order == 1:
        values[inside] = ndimage.map_coordinates(data, ijk[:, inside], order=1, mode="nearest", prefilter=False,
                                                 output=np.float32)
    else:
        values[inside] = data[tuple(ijk[:, inside].astype(np.int64))]
    return values


def affine_matrix_lps(path: str, invert: bool = False) -> np.ndarray:
    """The 4×4 matrix (LPS mm) of an ITK affine transform file, or of its inverse.

    Parameters
    ----------
    path : str or Path
        The transform file (``.mat``, as ANTs writes it).
    invert : bool
        Return the inverse matrix instead.

    Returns
    -------
    numpy.ndarray, shape (4, 4)
        Maps LPS points (mm) as the file's transform maps them (for an ANTs registration:
        fixed-space points into the moving space), or back when ``invert`` is true.
    """
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
    vectors_lps_mm : ndarray (3, nx, ny, nz)
        Displacement at each voxel, LPS mm, one contiguous volume per component.
    index_from_lps : ndarray (4, 4)
        Physical LPS point (mm) -> continuous voxel index.
    """

    vectors_lps_mm: np.ndarray
    index_from_lps: np.ndarray

    @classmethod
    def read(cls, path: str) -> "DisplacementField":
        """Read a warp file written by ANTs (a 3-component vector image)."""
        image = ants.image_read(str(path))
        vectors = np.ascontiguousarray(np.moveaxis(image.numpy().astype(np.float32).reshape(*image.shape, 3), -1, 0))
        lps_from_index = np.eye(4)
        lps_from_index[:3, :3] = np.asarray(image.direction) @ np.diag(image.spacing)
        lps_from_index[:3, 3] = image.origin
        return cls(vectors, np.linalg.inv(lps_from_index))

    def displace(self, points_lps_mm: np.ndarray) -> np.ndarray:
        """``p + d(p)`` for (N, 3) LPS points; zero displacement outside the field."""
        ijk = apply_affine(self.index_from_lps, points_lps_mm).T
        displacement = [sample_like_itk(component, ijk) for component in self.vectors_lps_mm]
        return points_lps_mm + np.stack(displacement, axis=1)


def transform_files(files, invert) -> Iterator[tuple[str, bool, bool]]:
    """``(path, is_affine, inverted)`` for each entry of an ``ants.apply_transforms`` list.

    Parameters
    ----------
    files : sequence of str or Path
        The transform files, in ``ants.apply_transforms`` order.
    invert : sequence of bool
        Whether each file is inverted, paired with ``files`` in order.

    Yields
    ------
    tuple of (str, bool, bool)
        The path as a string; whether it is an affine file (its name ends in ``.mat``);
        whether it is inverted.

    Raises
    ------
    ValueError
        If a displacement field is to be inverted (ANTs writes its inverse as its own
        ``InverseWarp`` file), or ``files`` and ``invert`` differ in length.
    """
    for path, inverted in zip(files, invert, strict=True):
        is_affine = str(path).endswith(".mat")
        if inverted and not is_affine:
            raise ValueError(f"{path}: a displacement field is inverted by its own inverse-warp file")
        yield str(path), is_affine, bool(inverted)


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
        self.steps: list[np.ndarray | DisplacementField] = [
            affine_matrix_lps(path, inverted) if is_affine else DisplacementField.read(path)
            for path, is_affine, inverted in transform_files(files, invert)]

    def __call__(self, points_lps_mm: np.ndarray) -> np.ndarray:
        """Map (N, 3) LPS points (mm)."""
        out = np.asarray(points_lps_mm, dtype=np.float64).reshape(-1, 3)
        for step in self.steps:
            if isinstance(step, DisplacementField):
                out = step.displace(out)
            else:
                out = apply_affine(step, out)
        return out
