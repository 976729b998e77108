"""Labels of the scalp views: direction words, the orientation triad, marker label placement."""

from __future__ import annotations

import numpy as np
from matplotlib import patheffects

from navsvc.report.scalp_geometry import Camera

#: White halo that keeps dark labels legible over the skin.
OUTLINE = [patheffects.withStroke(linewidth=3, foreground="white")]


def arrow(ax, start_xy, end_xy, colour, width: float, head: float, zorder: int) -> None:
    """A straight arrow on screen from ``start_xy`` to ``end_xy`` (mm), head at the end.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The view's axes, in screen mm (:meth:`Camera.project`).
    start_xy, end_xy : array-like, shape (2,)
        Tail and tip on screen, mm.
    colour : str or tuple
        Any matplotlib colour.
    width : float
        Line width, points.
    head : float
        Size of the arrow head (matplotlib's ``mutation_scale``), points.
    zorder : int
        Drawing order.
    """
    ax.annotate("", xy=tuple(end_xy), xytext=tuple(start_xy), zorder=zorder, annotation_clip=False,
                arrowprops=dict(arrowstyle="-|>", color=colour, lw=width, mutation_scale=head,
                                shrinkA=0.0, shrinkB=0.0))


def edge_labels(ax, camera: Camera, vertices_mm: np.ndarray, centre_mm: np.ndarray,
                 half_size_mm: float) -> None:
    """Anatomical direction words just outside the head's silhouette, where each points on screen.

    Only drawn for views along an anatomical axis (left side, top), where every
    edge of the image is one anatomical direction.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The view's axes, in screen mm.
    camera : Camera
        The view; nothing is drawn unless it looks within about 18 degrees of an axis.
    vertices_mm : numpy.ndarray, shape (N, 3)
        Scalp mesh vertices, RAS mm: each word sits 15 mm (above or below) or 24 mm
        (beside) beyond the head's farthest vertex in its direction.
    centre_mm : numpy.ndarray, shape (3,)
        Centre of the plotted head, RAS mm.
    half_size_mm : float
        Half the side of the plotted cube, mm: no word lies farther than 0.9 of it from
        the centre.
    """
    if np.abs(camera.direction).max() < 0.95:
        return
    words = {
        (-1.0, 0.0, 0.0): "patient's\nLEFT", (1.0, 0.0, 0.0): "patient's\nRIGHT",
        (0.0, 1.0, 0.0): "ANTERIOR\n(nose)", (0.0, -1.0, 0.0): "POSTERIOR",
        (0.0, 0.0, 1.0): "SUPERIOR", (0.0, 0.0, -1.0): "INFERIOR",
    }
    for direction, word in words.items():
        direction = np.asarray(direction)
        on_screen = camera.project(direction)[0]
        if np.linalg.norm(on_screen) < 0.9:
            continue
        vertical = abs(on_screen[1]) > abs(on_screen[0])
        reach_mm = float(np.max((vertices_mm - centre_mm) @ direction))
        distance_mm = min(reach_mm + (15.0 if vertical else 24.0), 0.9 * half_size_mm)  # stay in view
        ax.text(*camera.project(centre_mm + distance_mm * direction)[0], word, fontsize=9,
                fontweight="bold", color="0.15", ha="center", va="center", zorder=12,
                path_effects=OUTLINE)


def orientation_arrows(ax, camera: Camera, occupied_mm: np.ndarray, centre_mm: np.ndarray,
                        half_size_mm: float) -> None:
    """A triad (patient's left, anterior, superior) in the emptiest corner of a view.

    ``occupied_mm`` are the points already drawn (mesh, coil, markers), RAS mm.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The view's axes, in screen mm.
    camera : Camera
        The view; an axis seen nearly end-on is written as text ("A towards you").
    occupied_mm : numpy.ndarray, shape (N, 3)
        The points already drawn, RAS mm.
    centre_mm : numpy.ndarray, shape (3,)
        Centre of the plotted head, RAS mm: the corners are placed from it.
    half_size_mm : float
        Half the side of the plotted cube, mm; the arrows are 0.2 of it long.
    """
    length_mm = 0.2 * half_size_mm
    screen_mm = camera.project(occupied_mm - centre_mm)
    # candidate positions of the triad's origin, in half-sizes of the plotted cube, preferred first
    corners = [(-0.95, -0.85), (0.6, -0.85), (-0.95, 0.65), (0.6, 0.65), (0.8, -0.85), (0.8, 0.65),
               (-0.95, 0.0), (0.8, 0.0)]

    def crowding(corner) -> int:
        origin = np.array(corner) * half_size_mm
        low = origin + np.array([-12.0, -22.0])
        high = origin + np.array([55.0, length_mm + 12.0])
        return int(np.sum(np.all((screen_mm > low) & (screen_mm < high), axis=1)))

    corner = min(corners, key=crowding)  # min keeps the first of equally empty corners
    origin = camera.project(centre_mm)[0] + np.array(corner) * half_size_mm
    end_on = []
    for direction, word in (((-1.0, 0.0, 0.0), "L"), ((0.0, 1.0, 0.0), "A"), ((0.0, 0.0, 1.0), "S")):
        direction = np.asarray(direction)
        on_screen = camera.project(direction)[0]
        if np.linalg.norm(on_screen) < 0.3:
            end_on.append(f"{word} {'towards you' if direction @ camera.direction > 0 else 'away'}")
            continue
        tip = origin + length_mm * on_screen
        arrow(ax, origin, tip, "0.1", 1.6, 9.0, 12)
        label_at = tip + 7.0 * on_screen / np.linalg.norm(on_screen)
        ax.text(*label_at, word, fontsize=9, fontweight="bold", color="0.1", ha="center",
                va="center", zorder=12)
    if end_on:
        ax.text(origin[0], origin[1] - 6.0, "\n".join(end_on), fontsize=7.5, color="0.25", ha="left",
                va="top", zorder=12)


def label_offsets_mm(
    camera: Camera, positions_mm: list[np.ndarray], radius_mm: float
) -> list[np.ndarray]:
    """Offsets that keep the marker labels apart on screen (greedy, 8 directions).

    Parameters
    ----------
    camera : Camera
        The view.
    positions_mm : list of numpy.ndarray, shape (3,)
        The markers, RAS mm.
    radius_mm : float
        Distance of each label from its marker on screen, mm.

    Returns
    -------
    list of numpy.ndarray, shape (3,)
        One per marker, in order: RAS mm in the screen plane, to add to its position. Each
        label takes the direction farthest from every marker and every label placed before.
    """
    right, up = camera.screen_right, camera.screen_up
    screen = [np.array([p @ right, p @ up]) for p in positions_mm]
    occupied = list(screen)
    angles = np.radians([90, 30, 150, 0, 180, -30, -150, -90])
    offsets = []
    for point in screen:
        best, best_score = None, -np.inf
        for angle in angles:
            candidate = point + radius_mm * np.array([np.cos(angle), np.sin(angle)])
            score = min(np.linalg.norm(candidate - other) for other in occupied)
            if score > best_score + 1e-6:
                best, best_score = candidate, score
        occupied.append(best)
        delta = best - point
        offsets.append(delta[0] * right + delta[1] * up)
    return offsets
