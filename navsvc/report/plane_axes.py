"""Drawing a slice plane (:class:`navsvc.report.planes.Plane`) on matplotlib axes: its
image, its millimetre limits, the letters saying which way it faces and points projected
onto it."""

from __future__ import annotations

from matplotlib import patheffects

from navsvc.report.planes import Plane, View

#: a black outline that keeps light text readable on any grey level
OUTLINE = [patheffects.withStroke(linewidth=3, foreground="black")]


def set_limits(ax, view: View, h_range_mm, v_range_mm) -> None:
    """Show the given world ranges, the horizontal one flipped where the view requires it.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The slice panel.
    view : View
        The slice's orientation; with ``invert_horizontal`` (sagittal) the high end of the
        horizontal range is on the left.
    h_range_mm, v_range_mm : pair of float
        (low, high) world coordinates along the view's horizontal and vertical axes, mm.
    """
    low, high = h_range_mm
    ax.set_xlim((high, low) if view.invert_horizontal else (low, high))
    ax.set_ylim(*v_range_mm)


def direction_labels(ax, view: View, explicit: bool) -> None:
    """Write the anatomical direction at each edge of a slice panel.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The slice panel.
    view : View
        The slice's orientation.
    explicit : bool
        True writes the view's words ("patient's LEFT"), the side ones turned along the
        edge; False its single letters (L, R, A, P, S, I).
    """
    if explicit:
        left, right, top, bottom = view.left_label, view.right_label, view.top_label, view.bottom_label
        size, rotate = 9, True
    else:
        left, right, top, bottom = view.short_labels
        size, rotate = 12, False
    style = dict(color="white", fontsize=size, fontweight="bold", transform=ax.transAxes,
                 path_effects=OUTLINE, zorder=20)
    ax.text(0.012, 0.5, left, ha="left", va="center", rotation=90 if rotate else 0, **style)
    ax.text(0.988, 0.5, right, ha="right", va="center", rotation=270 if rotate else 0, **style)
    ax.text(0.5, 0.985, top, ha="center", va="top", **style)
    ax.text(0.5, 0.015, bottom, ha="center", va="bottom", **style)


def point_2d(view: View, point_ras_mm) -> tuple[float, float]:
    """A world point's (horizontal, vertical) coordinates in a slice of ``view``, mm.

    Parameters
    ----------
    view : View
        The slice's orientation.
    point_ras_mm : array-like, shape (3,)
        The point, RAS mm; its coordinate along the slice's normal is ignored.

    Returns
    -------
    tuple of float
    """
    return float(point_ras_mm[view.horizontal_axis]), float(point_ras_mm[view.vertical_axis])


def draw_plane(ax, plane: Plane | None, window, zoomed: bool) -> bool:
    """Draw a grey-level slice; return False (and say so) when the cut misses the image.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The slice panel; its ticks are removed and its background made black.
    plane : Plane or None
        The slice (:meth:`Volume.plane`); None when the cut misses the image.
    window : pair of float
        Grey levels shown as black and white, in the image's units (:attr:`Volume.window`).
    zoomed : bool
        True draws voxels as sharp squares (nearest neighbour), False antialiased.

    Returns
    -------
    bool
        Whether the slice was drawn.
    """
    ax.set_facecolor("black")
    ax.set_xticks([])
    ax.set_yticks([])
    if plane is None:
        ax.text(0.5, 0.5, "slice outside the image", color="white", ha="center",
                va="center", transform=ax.transAxes)
        return False
    ax.imshow(plane.values, cmap="gray", vmin=window[0], vmax=window[1], origin="lower",
              extent=plane.extent_mm, interpolation="nearest" if zoomed else "antialiased",
              aspect="equal")
    return True
