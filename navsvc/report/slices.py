"""Slice figures of the QC report: the target in the patient's T1 and the registration check.

Every slice is drawn in millimetres of the patient's NIfTI RAS world, in the
*neurological* convention, and says so on the image:

* axial slices are seen from above (the patient's left on the left of the image,
  anterior at the top);
* coronal slices are seen from behind (the patient's left on the left, superior at
  the top);
* sagittal slices are seen from the patient's left (anterior on the left, superior
  at the top), the side the left-DLPFC coil sits on.

Radiological displays (patient's left on the right of the screen) are what many
clinicians read every day, so every panel carries its L/R, A/P or S/I letters.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import patheffects  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from skimage.feature import canny  # noqa: E402

#: Colours of the overlays, shared with the legends and the HTML text.
TARGET_COLOUR = "#ff2a2a"
ENTRY_COLOUR = "#ffd21f"
MAPPED_COLOUR = "#3fd0ff"
DLPFC_COLOUR = "#39ff6a"
TEMPLATE_EDGE_COLOUR = "#ff3df5"

#: Half-width of the zoomed views around the target, mm.
ZOOM_HALF_WIDTH_MM = 30.0

_OUTLINE = [patheffects.withStroke(linewidth=3, foreground="black")]


@dataclass(frozen=True)
class _View:
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


_AXIAL = _View(
    "Axial", 2, 0, 1, False, "seen from above",
    "patient's LEFT", "patient's RIGHT", "ANTERIOR (nose)", "POSTERIOR",
    ("L", "R", "A", "P"),
)
_CORONAL = _View(
    "Coronal", 1, 0, 2, False, "seen from behind",
    "patient's LEFT", "patient's RIGHT", "SUPERIOR", "INFERIOR",
    ("L", "R", "S", "I"),
)
_SAGITTAL = _View(
    "Sagittal", 0, 1, 2, True, "seen from the patient's left",
    "ANTERIOR (nose)", "POSTERIOR", "SUPERIOR", "INFERIOR",
    ("A", "P", "S", "I"),
)
_VIEWS = (_SAGITTAL, _CORONAL, _AXIAL)
_AXIS_NAMES = ("x", "y", "z")


class _Volume:
    """A 3-D image on an axis-aligned RAS grid, addressed in world millimetres."""

    def __init__(self, img) -> None:
        self.data = np.asarray(img.dataobj, dtype=np.float32)
        affine = np.asarray(img.affine, dtype=float)
        self.voxel_size_mm = np.diag(affine)[:3].copy()
        self.origin_mm = affine[:3, 3].copy()

    def coordinates_mm(self, axis: int) -> np.ndarray:
        """World coordinates of the voxel centres along ``axis``, mm."""
        return self.origin_mm[axis] + self.voxel_size_mm[axis] * np.arange(self.data.shape[axis])

    def index_of(self, axis: int, coordinate_mm: float) -> int | None:
        """Index of the voxel plane nearest to ``coordinate_mm``, or None outside the grid."""
        index = int(round((coordinate_mm - self.origin_mm[axis]) / self.voxel_size_mm[axis]))
        return index if 0 <= index < self.data.shape[axis] else None

    def plane(self, view: _View, coordinate_mm: float) -> np.ndarray | None:
        """Slice through ``coordinate_mm`` as an array indexed [vertical, horizontal]."""
        index = self.index_of(view.normal_axis, coordinate_mm)
        if index is None:
            return None
        selector = [slice(None)] * 3
        selector[view.normal_axis] = index
        plane = self.data[tuple(selector)]  # a view; remaining axes in increasing order
        return plane.T

    def extent_mm(self, view: _View) -> tuple[float, float, float, float]:
        """imshow extent (voxel edges) of a slice of ``view``, mm."""
        h = self.coordinates_mm(view.horizontal_axis)
        v = self.coordinates_mm(view.vertical_axis)
        dh = self.voxel_size_mm[view.horizontal_axis] / 2
        dv = self.voxel_size_mm[view.vertical_axis] / 2
        return (h[0] - dh, h[-1] + dh, v[0] - dv, v[-1] + dv)


def _display_range(data: np.ndarray) -> tuple[float, float]:
    """Grey-level window from the robust range of the image's foreground."""
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        return 0.0, 1.0
    sample = finite[:: max(1, finite.size // 2_000_000)]
    foreground = sample[sample > np.percentile(sample, 30)]
    if foreground.size == 0:
        foreground = sample
    low, high = np.percentile(foreground, [0.5, 99.5])
    low = min(float(low), float(np.percentile(sample, 1)))
    return low, high if high > low else low + 1.0


def _foreground_box_mm(volume: _Volume) -> np.ndarray:
    """Bounding box of the head (or brain) in world mm, rows = axes, columns = (min, max)."""
    data = volume.data
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        threshold = 0.0
    else:
        threshold = 0.1 * float(np.percentile(finite[:: max(1, finite.size // 2_000_000)], 99))
    box = np.empty((3, 2))
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        profile = np.nanmax(data, axis=other) > threshold
        coords = volume.coordinates_mm(axis)
        hits = np.flatnonzero(profile)
        if hits.size == 0:
            box[axis] = coords[0], coords[-1]
        else:
            box[axis] = coords[hits[0]] - 6.0, coords[hits[-1]] + 6.0
    return box


def _set_limits(ax, view: _View, h_range_mm, v_range_mm) -> None:
    low, high = h_range_mm
    ax.set_xlim((high, low) if view.invert_horizontal else (low, high))
    ax.set_ylim(*v_range_mm)


def _direction_labels(ax, view: _View, explicit: bool) -> None:
    """Write the anatomical direction at each edge of a slice panel."""
    if explicit:
        left, right, top, bottom = view.left_label, view.right_label, view.top_label, view.bottom_label
        size, rotate = 9, True
    else:
        left, right, top, bottom = view.short_labels
        size, rotate = 12, False
    style = dict(color="white", fontsize=size, fontweight="bold", transform=ax.transAxes,
                 path_effects=_OUTLINE, zorder=20)
    ax.text(0.012, 0.5, left, ha="left", va="center", rotation=90 if rotate else 0, **style)
    ax.text(0.988, 0.5, right, ha="right", va="center", rotation=270 if rotate else 0, **style)
    ax.text(0.5, 0.985, top, ha="center", va="top", **style)
    ax.text(0.5, 0.015, bottom, ha="center", va="bottom", **style)


def _point_2d(view: _View, point_ras_mm) -> tuple[float, float]:
    return float(point_ras_mm[view.horizontal_axis]), float(point_ras_mm[view.vertical_axis])


def _draw_plane(ax, volume: _Volume, view: _View, coordinate_mm: float, window, zoomed: bool) -> bool:
    """Draw the grey-level slice; return False (and say so) when the cut misses the image."""
    plane = volume.plane(view, coordinate_mm)
    ax.set_facecolor("black")
    ax.set_xticks([])
    ax.set_yticks([])
    if plane is None:
        ax.text(0.5, 0.5, "slice outside the image", color="white", ha="center",
                va="center", transform=ax.transAxes)
        return False
    ax.imshow(plane, cmap="gray", vmin=window[0], vmax=window[1], origin="lower",
              extent=volume.extent_mm(view), interpolation="nearest" if zoomed else "antialiased",
              aspect="equal")
    return True


def _figure_png(fig, dpi: int) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor=fig.get_facecolor())
    plt.close(fig)
    return buffer.getvalue()


def render_target_slices(
    t1_img,
    dlpfc_mask_img,
    target_ras_mm,
    entry_ras_mm=None,
    mapped_target_ras_mm=None,
    dpi: int = 90,
) -> bytes:
    """Tri-planar T1 slices through the target, full head and zoomed, as PNG bytes.

    Parameters
    ----------
    t1_img : nibabel image
        The patient's T1 on an axis-aligned RAS grid.
    dlpfc_mask_img : nibabel image
        0/1 left-DLPFC region on the same grid, drawn as an outline.
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
    t1 = _Volume(t1_img)
    mask = _Volume(dlpfc_mask_img)
    window = _display_range(t1.data)
    box = _foreground_box_mm(t1)

    fig, axes = plt.subplots(2, 3, figsize=(13.5, 9.6), facecolor="white",
                             gridspec_kw=dict(height_ratios=(1.0, 0.72)))
    for column, view in enumerate(_VIEWS):
        cut_mm = target[view.normal_axis]
        for row, zoomed in enumerate((False, True)):
            ax = axes[row, column]
            if not _draw_plane(ax, t1, view, cut_mm, window, zoomed):
                continue
            mask_plane = mask.plane(view, cut_mm)
            if mask_plane is not None and np.any(mask_plane > 0.5):
                h = mask.coordinates_mm(view.horizontal_axis)
                v = mask.coordinates_mm(view.vertical_axis)
                ax.contour(h, v, (mask_plane > 0.5).astype(float), levels=[0.5],
                           colors=DLPFC_COLOUR, linewidths=1.4 if zoomed else 1.0)
            th, tv = _point_2d(view, target)
            if entry is not None:
                eh, ev = _point_2d(view, entry)
                ax.plot([th, eh], [tv, ev], color=ENTRY_COLOUR, lw=1.2, ls="--", zorder=8)
                ax.plot(eh, ev, marker="D", ms=8 if zoomed else 6, mfc=ENTRY_COLOUR,
                        mec="black", zorder=9)
            if mapped is not None:
                mh, mv = _point_2d(view, mapped)
                ax.plot(mh, mv, marker="s", ms=9 if zoomed else 6, mfc="none",
                        mec=MAPPED_COLOUR, mew=1.8, zorder=9)
            ax.plot(th, tv, marker="o", ms=14 if zoomed else 10, mfc="none",
                    mec=TARGET_COLOUR, mew=2.2, zorder=10)
            ax.plot(th, tv, marker="+", ms=22 if zoomed else 16, color=TARGET_COLOUR,
                    mew=1.2, zorder=10)
            if zoomed:
                half = ZOOM_HALF_WIDTH_MM
                _set_limits(ax, view, (th - half, th + half), (tv - half, tv + half))
                ax.plot([0.04, 0.04 + 10.0 / (2 * half)], [0.07, 0.07], color="white", lw=3,
                        transform=ax.transAxes, zorder=20, path_effects=_OUTLINE)
                ax.text(0.04, 0.09, "10 mm", color="white", fontsize=9, transform=ax.transAxes,
                        path_effects=_OUTLINE, zorder=20)
                ax.set_title(f"zoom ±{half:.0f} mm around the target", fontsize=10)
            else:
                _set_limits(ax, view, box[view.horizontal_axis], box[view.vertical_axis])
                ax.set_title(
                    f"{view.name} {_AXIS_NAMES[view.normal_axis]} = {cut_mm:.1f} mm\n"
                    f"({view.seen_from})",
                    fontsize=11,
                )
            _direction_labels(ax, view, explicit=not zoomed)

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
    return _figure_png(fig, dpi)


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


def render_registration_check(t1_img, template_img, target_ras_mm, dpi: int = 80) -> bytes:
    """The warped template's edges over the patient's T1 in nine slices, as PNG bytes.

    Parameters
    ----------
    t1_img : nibabel image
        The patient's T1 on an axis-aligned RAS grid.
    template_img : nibabel image
        The MNI template warped into the same grid.
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
    t1 = _Volume(t1_img)
    template = _Volume(template_img)
    window = _display_range(t1.data)
    box = _foreground_box_mm(t1)
    template_box = _foreground_box_mm(template)
    edge_rgba = np.array(matplotlib.colors.to_rgba(TEMPLATE_EDGE_COLOUR))

    fig, axes = plt.subplots(3, 3, figsize=(11.0, 11.4), facecolor="white")
    for row, view in enumerate(_VIEWS):
        for column, cut_mm in enumerate(_registration_cuts_mm(template_box, target, view.normal_axis)):
            ax = axes[row, column]
            if not _draw_plane(ax, t1, view, cut_mm, window, zoomed=False):
                continue
            template_plane = template.plane(view, cut_mm)
            if template_plane is not None:
                edges = _template_edges(template_plane)
                overlay = np.zeros(edges.shape + (4,))
                overlay[edges] = edge_rgba
                ax.imshow(overlay, origin="lower", extent=template.extent_mm(view),
                          interpolation="nearest", aspect="equal", zorder=5)
            _set_limits(ax, view, box[view.horizontal_axis], box[view.vertical_axis])
            through = " (target)" if np.isclose(cut_mm, target[view.normal_axis]) else ""
            ax.set_title(f"{view.name} {_AXIS_NAMES[view.normal_axis]} = {cut_mm:.0f} mm{through}",
                         fontsize=10)
            _direction_labels(ax, view, explicit=False)
    fig.suptitle("Template edges (magenta) over the patient's T1 — they should follow the brain "
                 "outline, ventricles and major sulci\nL/R = patient's left/right (neurological: "
                 "left on the left); sagittal slices seen from the patient's left",
                 fontsize=11)
    fig.subplots_adjust(left=0.01, right=0.99, top=0.92, bottom=0.01, wspace=0.03, hspace=0.12)
    return _figure_png(fig, dpi)
