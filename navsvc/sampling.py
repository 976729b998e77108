"""Images read at chosen native points through a point map, instead of resampled whole.

An image resampled into the patient's grid holds, at each native voxel centre ``p``, the
source image's value at ``T(p)``, where ``T`` maps native points into the source space
(for ANTs: the same transform list ``apply_transforms`` takes with the native grid as the
fixed image). :class:`MappedImage` evaluates exactly that, only at the points asked for:
the anatomy checks read Colin27's head and brain masks near the scalp, and the QC report
reads about a dozen slices (warping a template onto the whole 1 mm grid took seconds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import nibabel as nib
import numpy as np

from navsvc.coords import world_to_voxel
from navsvc.point_maps import sample_like_itk

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
        """The image in ``path`` (NIfTI) read through ``to_source``.

        Parameters
        ----------
        path : str or Path
            The NIfTI file; its affine gives the source-space world coordinates (RAS mm).
        to_source : callable
            Native RAS points (N, 3) -> source-space world points (N, 3), mm.
        order : int
            1 for trilinear interpolation (voxels read as float32), 0 for the nearest voxel
            (labels; voxels keep the file's data type).

        Returns
        -------
        MappedImage
            The image, loaded whole into memory.
        """
        img = nib.load(str(path))
        data = img.get_fdata(dtype=np.float32) if order == 1 else np.asanyarray(img.dataobj)
        return cls(data, np.asarray(img.affine, dtype=float), to_source, order)

    def __call__(self, points_ras_mm: np.ndarray) -> np.ndarray:
        """The image's values at native RAS points (N, 3), mm."""
        points = np.asarray(points_ras_mm, dtype=float).reshape(-1, 3)
        if len(points) == 0:
            return np.zeros(0, dtype=np.float32)
        ijk = world_to_voxel(self.affine, self.to_source(points)).T
        return sample_like_itk(self.data, ijk, self.order)


def same_points(points: np.ndarray) -> np.ndarray:
    """The identity point map: for images that already lie in the space of the points."""
    return points


def grid_sampler(img, order: int = 1) -> MappedImage:
    """Sampler of an image that already lies in native RAS space (identity point map).

    Parameters
    ----------
    img : nibabel.spatialimages.SpatialImage
        The image (e.g. a ``nibabel.Nifti1Image``); its affine maps voxels to native RAS mm.
    order : int
        1 for trilinear interpolation (voxels converted to float32), 0 for the nearest voxel
        (labels; voxels keep their data type).

    Returns
    -------
    MappedImage
        Callable with native RAS points (N, 3), mm; 0 outside the image.
    """
    data = np.asanyarray(img.dataobj)
    if order == 1:
        data = data.astype(np.float32)
    return MappedImage(data, np.asarray(img.affine, dtype=float), same_points, order)
