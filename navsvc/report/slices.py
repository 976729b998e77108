"""Tri-planar slices of the patient's T1 through the target, full head and zoomed.

Neurological convention, labelled on every panel (see :mod:`navsvc.report.planes`).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import patheffects  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from navsvc.report.plane_axes import OUTLINE, direction_labels, draw_plane, point_2d, set_limits  # noqa: E402
from navsvc.report.planes import AXIS_NAMES, VIEWS, Volume, sample_planes  # noqa: E402
from navsvc.report.png import figure_png  # noqa: E402
from navsvc.sampling import PointSampler  # noqa: E402

#: Colours of the overlays, shared with the legends and the HTML text.
TARGET_COLOUR = "#ff2a2a"
ENTRY_COLOUR = "#ffd21f"
MAPPED_COLOUR = "#3fd0ff"
DLPFC_COLOUR = "#39ff6a"

#: Half-width of the zoomed views around the target, mm.
ZOOM_HALF_WIDTH_MM = 30.0


def render_target_slices(
    t1,
    dlpfc_mask: PointSampler,
    target_ras_mm,
    entry_ras_mm=None,
    mapped_target_ras_mm=None,
    dpi: int = 90,
) -> bytes:
    """Tri-planar T1 slices through the target, full head and zoomed, as PNG bytes.

    Parameters
    ----------
    t1 : nibabel image or Volume
        The patient's T1 on an axis-aligned RAS grid.
    dlpfc_mask : PointSampler
        Native RAS points -> 1 inside the left-DLPFC region, 0 elsewhere; read on the
        T1's voxel centres of the three slices and drawn as an outline.
    target_ras_mm : array-like, shape (3,)
        The individualized cortical target, RAS mm; every slice passes through it.
    entry_ras_mm : array-like, shape (3,), optional
        The scalp entry point, RAS mm, drawn projected onto each slice.
    mapped_target_ras_mm : array-like, shape (3,), optional
        The strategy's MNI coordinate mapped into the patient, before it was moved
        onto the patient's cortex, RAS mm.
    dpi : int
        Resolution of the PNG, dots per inch.

    Returns
    -------
    bytes
        The PNG image.
    """
    target = np.asarray(target_ras_mm, dtype=float)
    entry = None if entry_ras_mm is None else np.asarray(entry_ras_mm, dtype=float)
    mapped = None if mapped_target_ras_mm is None else np.asarray(mapped_target_ras_mm, dtype=float)
    t1 = Volume.of(t1)
    window, box = t1.window, t1.box_mm
    # the region lies in the brain, well inside the head's box: only that part is read
    mask_planes = sample_planes(dlpfc_mask, t1, [(view, target[view.normal_axis]) for view in VIEWS],
                                crop_mm=box)

    fig, axes = plt.subplots(2, 3, figsize=(13.5, 9.6), facecolor="white",
                             gridspec_kw=dict(height_ratios=(1.0, 0.72)))
    for column, (view, mask_plane) in enumerate(zip(VIEWS, mask_planes)):
        cut_mm = target[view.normal_axis]
        plane = t1.plane(view, cut_mm)
        inside = None if mask_plane is None else mask_plane.values > 0.5
        for row, zoomed in enumerate((False, True)):
            ax = axes[row, column]
            if not draw_plane(ax, plane, window, zoomed):
                continue
            if inside is not None and np.any(inside):
                ax.contour(mask_plane.horizontal_mm, mask_plane.vertical_mm, inside.astype(float),
                           levels=[0.5], colors=DLPFC_COLOUR, linewidths=1.4 if zoomed else 1.0)
            th, tv = point_2d(view, target)
            if entry is not None:
                eh, ev = point_2d(view, entry)
                ax.plot([th, eh], [tv, ev], color=ENTRY_COLOUR, lw=1.2, ls="--", zorder=8)
                ax.plot(eh, ev, marker="D", ms=8 if zoomed else 6, mfc=ENTRY_COLOUR,
                        mec="black", zorder=9)
            if mapped is not None:
                mh, mv = point_2d(view, mapped)
                ax.plot(mh, mv, marker="s", ms=9 if zoomed else 6, mfc="none",
                        mec=MAPPED_COLOUR, mew=1.8, zorder=9)
            ax.plot(th, tv, marker="o", ms=14 if zoomed else 10, mfc="none",
                    mec=TARGET_COLOUR, mew=2.2, zorder=10)
            ax.plot(th, tv, marker="+", ms=22 if zoomed else 16, color=TARGET_COLOUR,
                    mew=1.2, zorder=10)
            if zoomed:
                half = ZOOM_HALF_WIDTH_MM
                set_limits(ax, view, (th - half, th + half), (tv - half, tv + half))
                # butt caps: the default caps would lengthen the bar by its width (0.8 mm at 90 dpi);
                # its outline wider than the bar, or the outline hides under it
                ax.plot([0.04, 0.04 + 10.0 / (2 * half)], [0.07, 0.07], color="white", lw=3,
                        solid_capstyle="butt", transform=ax.transAxes, zorder=20,
                        path_effects=[patheffects.withStroke(linewidth=5, foreground="black")])
                ax.text(0.04, 0.09, "10 mm", color="white", fontsize=9, transform=ax.transAxes,
                        path_effects=OUTLINE, zorder=20)
                ax.set_title(f"zoom ±{half:.0f} mm around the target", fontsize=10)
            else:
                set_limits(ax, view, box[view.horizontal_axis], box[view.vertical_axis])
                ax.set_title(
                    f"{view.name} {AXIS_NAMES[view.normal_axis]} = {cut_mm:.1f} mm\n"
                    f"({view.seen_from})",
                    fontsize=11,
                )
            direction_labels(ax, view, explicit=not zoomed)

    handles = [
        Line2D([], [], marker="o", ls="none", mfc="none", mec=TARGET_COLOUR, mew=2.2, ms=10,
               label="cortical target (slices pass through it)"),
        Line2D([], [], color=DLPFC_COLOUR, lw=1.6, label="left-DLPFC region (outline)"),
    ]
    if entry is not None:
        handles.append(Line2D([], [], marker="D", color=ENTRY_COLOUR, ls="--", mfc=ENTRY_COLOUR,
                              mec="black", ms=7,
                              label="scalp entry point, projected onto the slice"))
    if mapped is not None:
        handles.append(Line2D([], [], marker="s", ls="none", mfc="none", mec=MAPPED_COLOUR,
                              mew=1.8, ms=8,
                              label="strategy MNI point mapped to the patient (before snapping to cortex)"))
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=10, frameon=False)
    fig.suptitle("Neurological convention: patient's LEFT is on the LEFT of axial and coronal "
                 "slices", fontsize=12, fontweight="bold")
    fig.subplots_adjust(left=0.01, right=0.99, top=0.91, bottom=0.09, wspace=0.03, hspace=0.16)
    return figure_png(fig, dpi)
