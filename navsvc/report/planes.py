"""Slice planes of the patient's grid, drawn in the neurological convention.

Every slice is drawn in millimetres of the patient's NIfTI RAS world and says on
the image which way it faces:

* axial slices are seen from above (the patient's left on the left of the image,
  anterior at the top);
* coronal slices are seen from behind (the patient's left on the left, superior at
  the top);
* sagittal slices are seen from the patient's left (anterior on the left, superior
  at the top), the side the left-DLPFC coil sits on.

Radiological displays (patient's left on the right of the screen) are what many
clinicians read every day, so every panel carries its L/R, A/P or S/I letters.

Images other than the T1 (template, DLPFC mask) are not resampled onto the whole
grid: :func:`sample_planes` reads them, through a
:data:`~navsvc.sampling.PointSampler`, only at the voxel centres of the
planes shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from navsvc.sampling import PointSampler

#: Largest number of voxels the grey-level statistics look at (a regular subsample).
_STATISTICS_SAMPLE = 2_000_000

AXIS_NAMES = ("x", "y", "z")


@dataclass(frozen=True)
class View:
    """One slice orientation and how it is laid out on the screen."""

    name: str
    normal_axis: int  # world axis perpendicular to the slice: 0 = x, 1 = y, 2 = z
    horizontal_axis: int
    vertical_axis: int
    invert_horizontal: bool  # True when the world axis increases to the left of the image
    seen_from: str
    left_label: str
    right_label: str
    top_label: str
    bottom_label: str
    short_labels: tuple[str, str, str, str]  # left, right, top, bottom


AXIAL = View(
    "Axial", 2, 0, 1, False, "seen from above",
    "patient's LEFT", "patient's RIGHT", "ANTERIOR (nose)", "POSTERIOR",
    ("L", "R", "A", "P"),
)
CORONAL = View(
    "Coronal", 1, 0, 2, False, "seen from behind",
    "patient's LEFT", "patient's RIGHT", "SUPERIOR", "INFERIOR",
    ("L", "R", "S", "I"),
)
SAGITTAL = View(
    "Sagittal", 0, 1, 2, True, "seen from the patient's left",
    "ANTERIOR (nose)", "POSTERIOR", "SUPERIOR", "INFERIOR",
    ("A", "P", "S", "I"),
)
VIEWS = (SAGITTAL, CORONAL, AXIAL)


@dataclass(frozen=True)
class Plane:
    """A slice as an array indexed [vertical, horizontal] and its imshow extent (voxel edges), mm."""

    values: np.ndarray
    extent_mm: tuple[float, float, float, float]

    @property
    def horizontal_mm(self) -> np.ndarray:
        """Voxel-centre coordinates along the horizontal screen axis, mm."""
        low, high = self.extent_mm[:2]
        step = (high - low) / self.values.shape[1]
        return low + step * (np.arange(self.values.shape[1]) + 0.5)

    @property
    def vertical_mm(self) -> np.ndarray:
        """Voxel-centre coordinates along the vertical screen axis, mm."""
        low, high = self.extent_mm[2:]
        step = (high - low) / self.values.shape[0]
        return low + step * (np.arange(self.values.shape[0]) + 0.5)


class Volume:
    """A 3-D image on an axis-aligned RAS grid, addressed in world millimetres.

    Its grey-level window and foreground box are computed once and shared by every
    figure drawn from it.
    """

    def __init__(self, img) -> None:
        self.data = np.asarray(img.dataobj, dtype=np.float32)
        affine = np.asarray(img.affine, dtype=float)
        self.voxel_size_mm = np.diag(affine)[:3].copy()
        self.origin_mm = affine[:3, 3].copy()

    @classmethod
    def of(cls, img_or_volume) -> "Volume":
        """``img_or_volume`` itself if it is a Volume, else a Volume of the image."""
        return img_or_volume if isinstance(img_or_volume, Volume) else cls(img_or_volume)

    def coordinates_mm(self, axis: int) -> np.ndarray:
        """World coordinates of the voxel centres along ``axis``, mm."""
        return self.origin_mm[axis] + self.voxel_size_mm[axis] * np.arange(self.data.shape[axis])

    def index_of(self, axis: int, coordinate_mm: float) -> int | None:
        """Index of the voxel plane nearest to ``coordinate_mm``, or None outside the grid.

        Parameters
        ----------
        axis : int
            World axis: 0 = x, 1 = y, 2 = z.
        coordinate_mm : float
            World coordinate along ``axis``, mm.

        Returns
        -------
        int or None
        """
        index = int(round((coordinate_mm - self.origin_mm[axis]) / self.voxel_size_mm[axis]))
        return index if 0 <= index < self.data.shape[axis] else None

    def _index_range(self, axis: int, range_mm) -> slice:
        """Voxel indices along ``axis`` whose centres lie in ``range_mm`` (all without a range)."""
        if range_mm is None:
            return slice(0, self.data.shape[axis])
        low = np.ceil((range_mm[0] - self.origin_mm[axis]) / self.voxel_size_mm[axis] - 1e-6)
        high = np.floor((range_mm[1] - self.origin_mm[axis]) / self.voxel_size_mm[axis] + 1e-6)
        return slice(int(max(low, 0)), int(min(high, self.data.shape[axis] - 1)) + 1)

    def _extent(self, view: View, rows: slice, columns: slice) -> tuple[float, float, float, float]:
        h = self.coordinates_mm(view.horizontal_axis)[columns]
        v = self.coordinates_mm(view.vertical_axis)[rows]
        dh = self.voxel_size_mm[view.horizontal_axis] / 2
        dv = self.voxel_size_mm[view.vertical_axis] / 2
        return (h[0] - dh, h[-1] + dh, v[0] - dv, v[-1] + dv)

    def plane(self, view: View, coordinate_mm: float) -> Plane | None:
        """This image's slice through ``coordinate_mm``, or None when the cut misses the grid.

        Parameters
        ----------
        view : View
            The slice's orientation.
        coordinate_mm : float
            World coordinate of the cut along ``view.normal_axis``, mm; the nearest voxel
            plane is taken.

        Returns
        -------
        Plane or None
            The whole slice; its values are a view of this image's data, not a copy.
        """
        index = self.index_of(view.normal_axis, coordinate_mm)
        if index is None:
            return None
        selector = [slice(None)] * 3
        selector[view.normal_axis] = index
        values = self.data[tuple(selector)].T  # a view; remaining axes in increasing order
        everything = slice(None)
        return Plane(values, self._extent(view, everything, everything))

    def plane_points(self, view: View, coordinate_mm: float, crop_mm=None):
        """World points (N, 3) of the voxel centres of a slice, and its [vertical, horizontal] shape.

        ``crop_mm`` (rows = world axes, columns = min, max) keeps only the voxels inside it.
        Returns None when the cut misses the grid or the crop leaves nothing.

        Parameters
        ----------
        view : View
            The slice's orientation.
        coordinate_mm : float
            World coordinate of the cut along ``view.normal_axis``, mm; the nearest voxel
            plane is taken.
        crop_mm : numpy.ndarray, shape (3, 2), optional
            World box, mm; its row along ``view.normal_axis`` is not used. None keeps the
            whole slice.

        Returns
        -------
        tuple or None
            ``(points, shape, extent_mm)``: the voxel centres (N, 3), world mm, rows in
            increasing vertical coordinate; the (vertical, horizontal) shape they reshape
            to; and the imshow extent of those voxels (their edges), mm.
        """
        index = self.index_of(view.normal_axis, coordinate_mm)
        if index is None:
            return None
        crop = [None] * 3 if crop_mm is None else list(crop_mm)
        columns = self._index_range(view.horizontal_axis, crop[view.horizontal_axis])
        rows = self._index_range(view.vertical_axis, crop[view.vertical_axis])
        h = self.coordinates_mm(view.horizontal_axis)[columns]
        v = self.coordinates_mm(view.vertical_axis)[rows]
        if h.size == 0 or v.size == 0:
            return None
        points = np.empty((v.size, h.size, 3))
        points[..., view.normal_axis] = self.coordinates_mm(view.normal_axis)[index]
        points[..., view.horizontal_axis] = h[None, :]
        points[..., view.vertical_axis] = v[:, None]
        return points.reshape(-1, 3), (v.size, h.size), self._extent(view, rows, columns)

    @cached_property
    def _statistics_sample(self) -> np.ndarray:
        flat = self.data.reshape(-1)
        sample = flat[:: max(1, flat.size // _STATISTICS_SAMPLE)]
        return sample[np.isfinite(sample)]

    @cached_property
    def window(self) -> tuple[float, float]:
        """Grey-level window from the robust range of the image's foreground."""
        sample = self._statistics_sample
        if sample.size == 0:
            return 0.0, 1.0
        foreground = sample[sample > np.percentile(sample, 30)]
        if foreground.size == 0:
            foreground = sample
        low, high = np.percentile(foreground, [0.5, 99.5])
        low = min(float(low), float(np.percentile(sample, 1)))
        return low, high if high > low else low + 1.0

    @cached_property
    def box_mm(self) -> np.ndarray:
        """Bounding box of the head (or brain) in world mm, rows = axes, columns = (min, max)."""
        coordinates = [self.coordinates_mm(axis) for axis in range(3)]
        return foreground_box_mm(self.data, coordinates, self._statistics_sample)


def foreground_box_mm(data: np.ndarray, coordinates_mm, sample: np.ndarray | None = None,
                      margin_mm: float = 6.0) -> np.ndarray:
    """Box (rows = axes, columns = min, max; mm) around the voxels brighter than 10 % of the 99th percentile.

    Parameters
    ----------
    data : numpy.ndarray, 3-D
        Values on a grid whose voxel centres along each axis are ``coordinates_mm[axis]``.
    coordinates_mm : sequence of three 1-D arrays
        World coordinates of the voxel centres along each axis, mm.
    sample : numpy.ndarray, optional
        Finite values the percentile is taken from (default: all finite values).
    margin_mm : float
        Added on every side.

    Returns
    -------
    numpy.ndarray, shape (3, 2)
        The whole grid along an axis where nothing is bright.
    """
    if sample is None:
        sample = data[np.isfinite(data)]
    threshold = 0.1 * float(np.percentile(sample, 99)) if sample.size else 0.0
    bright = data > threshold  # NaN compares False
    in_01 = bright.any(axis=2)
    profiles = (in_01.any(axis=1), in_01.any(axis=0), bright.any(axis=(0, 1)))
    box = np.empty((3, 2))
    for axis, (profile, coords) in enumerate(zip(profiles, coordinates_mm)):
        hits = np.flatnonzero(profile)
        if hits.size == 0:
            box[axis] = coords[0], coords[-1]
        else:
            box[axis] = coords[hits[0]] - margin_mm, coords[hits[-1]] + margin_mm
    return box


def sample_planes(sampler: PointSampler, volume: Volume, cuts, crop_mm=None,
                  needed=None) -> list[Plane | None]:
    """Slices of a sampled image on ``volume``'s voxel planes, with one call of ``sampler``.

    Parameters
    ----------
    sampler : PointSampler
        Native RAS points (N, 3) -> values (N,).
    volume : Volume
        The grid the slices are taken on (the T1's): the same voxel planes and centres.
    cuts : sequence of (View, float)
        Orientation and world coordinate of each slice, mm.
    crop_mm : numpy.ndarray, shape (3, 2), optional
        Only the voxels inside this box are read.
    needed : callable, optional
        Points (N, 3) -> bool (N,): only these are read, the others are 0.

    Returns
    -------
    list of Plane or None
        One per cut; None where the cut misses the grid.
    """
    layouts = [volume.plane_points(view, coordinate_mm, crop_mm) for view, coordinate_mm in cuts]
    present = [layout for layout in layouts if layout is not None]
    if not present:
        return [None] * len(layouts)
    points = np.concatenate([points for points, _, _ in present])
    if needed is None:
        values = np.asarray(sampler(points))
    else:
        read = np.asarray(needed(points), dtype=bool)
        values = np.zeros(len(points), dtype=np.float32)
        if read.any():
            values[read] = sampler(points[read])
    planes, start = [], 0
    for layout in layouts:
        if layout is None:
            planes.append(None)
            continue
        points, shape, extent = layout
        planes.append(Plane(values[start:start + len(points)].reshape(shape), extent))
        start += len(points)
    return planes
