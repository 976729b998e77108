"""The registration check: the warped template's edges over the patient's T1 in nine slices.

The template is read only where it is shown (see :func:`navsvc.report.planes.sample_planes`):
a coarse lattice to find the brain's extent, then the nine slices inside that extent.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from skimage.feature import canny  # noqa: E402

from navsvc.report.planes import (  # noqa: E402
    AXIS_NAMES, VIEWS, Volume, direction_labels, draw_plane, figure_png, foreground_box_mm,
    sample_planes, set_limits,
)
from navsvc.report.sampling import PointSampler  # noqa: E402

TEMPLATE_EDGE_COLOUR = "#ff3df5"
#: Spacing of the lattice the template's extent is found on, in T1 voxels (each point
#: costs a transform evaluation); the brain's box, so the cut positions, can be off by
#: up to this many voxels.
EXTENT_LATTICE_VOXELS = 6
#: Template slices are read this far beyond the template's foreground box (itself 6 mm
#: beyond the last bright lattice point), so that, with the lattice's own uncertainty,
#: the edge detector sees no artificial border where the template is not background, mm.
EDGE_MARGIN_MM = 6.0


def _registration_cuts_mm(template_box_mm: np.ndarray, target: np.ndarray, axis: int) -> list[float]:
    """Three cut positions along ``axis``: through the target and two spread over the brain.

    Of the quarter, half and three-quarter positions of the template's extent the one
    nearest the target is dropped, so sagittal cuts usually include the midline.
    """
    low, high = template_box_mm[axis]
    low, high = low + 6.0, high - 6.0
    candidates = [low + fraction * (high - low) for fraction in (0.25, 0.5, 0.75)]
    candidates.pop(int(np.argmin([abs(c - target[axis]) for c in candidates])))
    return sorted(candidates + [float(target[axis])])


def _template_edges(plane: np.ndarray) -> np.ndarray:
    """Boolean edge map of a template slice (Canny on the normalized intensities)."""
    finite = plane[np.isfinite(plane)]
    if finite.size == 0 or np.ptp(finite) == 0:
        return np.zeros(plane.shape, dtype=bool)
    low, high = np.percentile(finite, [1, 99])
    scaled = np.clip((plane - low) / max(high - low, 1e-6), 0.0, 1.0)
    return canny(np.nan_to_num(scaled), sigma=1.5, low_threshold=0.08, high_threshold=0.2)


def template_box_mm(template: PointSampler, t1: Volume) -> np.ndarray:
    """The warped template's foreground box in native mm, from a coarse lattice inside the head.

    Parameters
    ----------
    template : PointSampler
        Native RAS points -> template intensity.
    t1 : Volume
        The patient's T1; the lattice is its voxel centres, every
        :data:`EXTENT_LATTICE_VOXELS`-th along each axis, inside its foreground box.

    Returns
    -------
    numpy.ndarray, shape (3, 2)
        Rows = axes, columns = (min, max), mm (the lattice's extent where the template is empty).
    """
    head = t1.box_mm
    axes = []
    for axis in range(3):
        coords = t1.coordinates_mm(axis)
        coords = coords[(coords >= head[axis, 0]) & (coords <= head[axis, 1])]
        axes.append(coords[::EXTENT_LATTICE_VOXELS] if coords.size else t1.coordinates_mm(axis)[:1])
    lattice = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    values = np.asarray(template(lattice.reshape(-1, 3)), dtype=np.float32).reshape(lattice.shape[:3])
    return foreground_box_mm(values, axes)


def render_registration_check(t1, template: PointSampler, target_ras_mm, dpi: int = 80) -> bytes:
    """The warped template's edges over the patient's T1 in nine slices, as PNG bytes.

    Parameters
    ----------
    t1 : nibabel image or Volume
        The patient's T1 on an axis-aligned RAS grid.
    template : PointSampler
        Native RAS points -> the MNI template's intensity there (the value the template
        warped onto the T1's grid has).
    target_ras_mm : array-like, shape (3,)
        The cortical target, RAS mm; one cut of each orientation passes through it.
    dpi : int
        Resolution of the PNG, dots per inch.

    Returns
    -------
    bytes
        The PNG image.
    """
    target = np.asarray(target_ras_mm, dtype=float)
    t1 = Volume.of(t1)
    window, box = t1.window, t1.box_mm
    brain_box = template_box_mm(template, t1)
    cuts = [(view, cut_mm) for view in VIEWS
            for cut_mm in _registration_cuts_mm(brain_box, target, view.normal_axis)]
    # outside the brain's box the template is background: read only inside it (and the head's)
    crop = np.column_stack([np.maximum(brain_box[:, 0], box[:, 0]) - EDGE_MARGIN_MM,
                            np.minimum(brain_box[:, 1], box[:, 1]) + EDGE_MARGIN_MM])
    template_planes = sample_planes(template, t1, cuts, crop_mm=crop)
    edge_rgba = np.array(matplotlib.colors.to_rgba(TEMPLATE_EDGE_COLOUR))

    fig, axes = plt.subplots(3, 3, figsize=(11.0, 11.4), facecolor="white")
    for index, ((view, cut_mm), template_plane) in enumerate(zip(cuts, template_planes)):
        ax = axes[index // 3, index % 3]
        if not draw_plane(ax, t1.plane(view, cut_mm), window, zoomed=False):
            continue
        if template_plane is not None:
            edges = _template_edges(template_plane.values)
            overlay = np.zeros(edges.shape + (4,))
            overlay[edges] = edge_rgba
            ax.imshow(overlay, origin="lower", extent=template_plane.extent_mm,
                      interpolation="nearest", aspect="equal", zorder=5)
        set_limits(ax, view, box[view.horizontal_axis], box[view.vertical_axis])
        through = " (target)" if np.isclose(cut_mm, target[view.normal_axis]) else ""
        ax.set_title(f"{view.name} {AXIS_NAMES[view.normal_axis]} = {cut_mm:.0f} mm{through}",
                     fontsize=10)
        direction_labels(ax, view, explicit=False)
    fig.suptitle("Template edges (magenta) over the patient's T1 — they should follow the brain "
                 "outline, ventricles and major sulci\nL/R = patient's left/right (neurological: "
                 "left on the left); sagittal slices seen from the patient's left",
                 fontsize=11)
    fig.subplots_adjust(left=0.01, right=0.99, top=0.92, bottom=0.01, wspace=0.03, hspace=0.12)
    return figure_png(fig, dpi)
