"""The registration check: the warped template's edges over the patient's T1 in nine slices.

The template is read only where it is shown (see :mod:`navsvc.report.template_slices`).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from skimage.feature import canny  # noqa: E402

from navsvc.report.plane_axes import direction_labels, draw_plane, set_limits  # noqa: E402
from navsvc.report.planes import AXIS_NAMES, Volume  # noqa: E402
from navsvc.report.png import figure_png  # noqa: E402
from navsvc.sampling import PointSampler  # noqa: E402
from navsvc.report.template_slices import template_slices  # noqa: E402

TEMPLATE_EDGE_COLOUR = "#ff3df5"


def _template_edges(plane: np.ndarray) -> np.ndarray:
    """Boolean edge map of a template slice (Canny on the normalized intensities)."""
    finite = plane[np.isfinite(plane)]
    if finite.size == 0 or np.ptp(finite) == 0:
        return np.zeros(plane.shape, dtype=bool)
    low, high = np.percentile(finite, [1, 99])
    scaled = np.clip((plane - low) / max(high - low, 1e-6), 0.0, 1.0)
    return canny(np.nan_to_num(scaled), sigma=1.5, low_threshold=0.08, high_threshold=0.2)


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
    slices = template_slices(template, t1, target)
    edge_rgba = np.array(matplotlib.colors.to_rgba(TEMPLATE_EDGE_COLOUR))

    fig, axes = plt.subplots(3, 3, figsize=(11.0, 11.4), facecolor="white")
    for index, (view, cut_mm, template_plane) in enumerate(slices):
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
