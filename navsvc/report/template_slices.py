"""The warped template's slices for the registration check, read only where the brain can be.

Every template value costs a transform evaluation, so the template is read in two
passes: a coarse lattice inside the head finds where the (warped) brain is, then the
nine slices are read on the T1's voxel centres, only within the brain's box and only
near lattice points where the template is not background. Values skipped that way
are 0, which is what the template is there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from navsvc.report.planes import VIEWS, Plane, View, Volume, foreground_box_mm, sample_planes
from navsvc.sampling import PointSampler

#: Spacing of the lattice, in T1 voxels: the brain's box, so the cut positions derived
#: from it, can be off by up to this many voxels.
LATTICE_VOXELS = 6
#: Lattice cells (Chebyshev distance) around a non-zero lattice value whose slice voxels
#: are read: a template structure is missed only if it reaches more than about
#: (READ_REACH_CELLS - 0.5) * LATTICE_VOXELS voxels from every lattice point where the
#: template is non-zero.
READ_REACH_CELLS = 1
#: Slices are read this far beyond the template's foreground box (itself 6 mm beyond the
#: last bright lattice point), so the edge detector sees no artificial border, mm.
EDGE_MARGIN_MM = 6.0


@dataclass(frozen=True)
class TemplateExtent:
    """Where the warped template is, from the lattice.

    Attributes
    ----------
    box_mm : numpy.ndarray, shape (3, 2)
        Foreground box (10 % of the 99th percentile), rows = axes, columns = (min, max), mm.
    axes_mm : tuple of three 1-D arrays
        Lattice coordinates along each world axis, mm.
    near : numpy.ndarray of bool
        Lattice cells within :data:`READ_REACH_CELLS` of a non-zero template value.
    """

    box_mm: np.ndarray
    axes_mm: tuple[np.ndarray, np.ndarray, np.ndarray]
    near: np.ndarray

    def needed(self, points_ras_mm: np.ndarray) -> np.ndarray:
        """True for the points whose nearest lattice cell is near the template's foreground."""
        index = []
        for axis, coords in enumerate(self.axes_mm):
            step = coords[1] - coords[0] if coords.size > 1 else 1.0
            cell = np.rint((points_ras_mm[:, axis] - coords[0]) / step)
            index.append(np.clip(cell, 0, coords.size - 1).astype(np.int64))
        return self.near[tuple(index)]


def template_extent(template: PointSampler, t1: Volume) -> TemplateExtent:
    """Read the template on a lattice of the T1's voxel centres inside the head.

    Parameters
    ----------
    template : PointSampler
        Native RAS points -> template intensity.
    t1 : Volume
        The patient's T1; the lattice is every :data:`LATTICE_VOXELS`-th voxel centre
        along each axis inside its foreground box.

    Returns
    -------
    TemplateExtent
    """
    head = t1.box_mm
    axes = []
    for axis in range(3):
        coords = t1.coordinates_mm(axis)
        inside = coords[(coords >= head[axis, 0]) & (coords <= head[axis, 1])]
        axes.append(inside[::LATTICE_VOXELS] if inside.size else coords[:1])
    lattice = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    values = np.asarray(template(lattice.reshape(-1, 3)), dtype=np.float32).reshape(lattice.shape[:3])
    near = ndimage.binary_dilation(values != 0, structure=np.ones((3, 3, 3), dtype=bool),
                                   iterations=READ_REACH_CELLS)
    return TemplateExtent(foreground_box_mm(values, axes), tuple(axes), near)


def registration_cuts_mm(template_box_mm: np.ndarray, target: np.ndarray, axis: int) -> list[float]:
    """Three cut positions along ``axis``: through the target and two spread over the brain.

    Of the quarter, half and three-quarter positions of the template's extent the one
    nearest the target is dropped, so sagittal cuts usually include the midline.

    Parameters
    ----------
    template_box_mm : numpy.ndarray, shape (3, 2)
        The template's foreground box (:attr:`TemplateExtent.box_mm`), rows = world axes,
        columns = (min, max), mm; its 6 mm margin is taken off before the extent is split.
    target : numpy.ndarray, shape (3,)
        The cortical target, RAS mm.
    axis : int
        World axis the cuts lie along: 0 = x (sagittal), 1 = y (coronal), 2 = z (axial).

    Returns
    -------
    list of float
        The three world coordinates along ``axis``, increasing, mm.
    """
    low, high = template_box_mm[axis]
    low, high = low + 6.0, high - 6.0
    candidates = [low + fraction * (high - low) for fraction in (0.25, 0.5, 0.75)]
    candidates.pop(int(np.argmin([abs(c - target[axis]) for c in candidates])))
    return sorted(candidates + [float(target[axis])])


def template_slices(template: PointSampler, t1: Volume, target_ras_mm
                    ) -> list[tuple[View, float, Plane | None]]:
    """The nine slices of the registration check: three per orientation, one through the target.

    Parameters
    ----------
    template : PointSampler
        Native RAS points -> the warped template's intensity.
    t1 : Volume
        The patient's T1: slices lie on its voxel planes and centres.
    target_ras_mm : array-like, shape (3,)
        The cortical target, RAS mm.

    Returns
    -------
    list of (View, float, Plane or None)
        Orientation, cut coordinate (mm) and the template's slice (cropped to the brain's
        box plus a margin; None where the cut misses the grid), sagittal then coronal
        then axial, each in increasing coordinate.
    """
    target = np.asarray(target_ras_mm, dtype=float)
    extent = template_extent(template, t1)
    cuts = [(view, cut_mm) for view in VIEWS
            for cut_mm in registration_cuts_mm(extent.box_mm, target, view.normal_axis)]
    head = t1.box_mm
    crop = np.column_stack([np.maximum(extent.box_mm[:, 0], head[:, 0]) - EDGE_MARGIN_MM,
                            np.minimum(extent.box_mm[:, 1], head[:, 1]) + EDGE_MARGIN_MM])
    planes = sample_planes(template, t1, cuts, crop_mm=crop, needed=extent.needed)
    return [(view, cut_mm, plane) for (view, cut_mm), plane in zip(cuts, planes)]
