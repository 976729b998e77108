"""3-D views of the scalp with the coil at its planned pose and the scalp landmarks.

Coil convention (SimNIBS ``matsimnibs``, see docs/DESIGN.md §6): the columns of the 4×4
matrix are the coil's x, y and z axes and its centre in world (RAS) mm; z points
into the head, y lies along the handle axis and the handle points to −y. A
figure-8 coil's two wings lie along x, on either side of the centre.

Each view is an orthographic projection drawn on flat matplotlib axes: the scalp (a
copy decimated by vertex clustering, back faces culled) as Gouraud-shaded triangles
painted far to near, in one call; the coil, handle, markers and labels projected on
top, the parts of the coil hidden behind the head dotted. Screen axes follow
matplotlib's 3-D camera (``view_init(elev, azim)``, roll 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LinearSegmentedColormap  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from navsvc.report.png import figure_png  # noqa: E402
from navsvc.report.scalp_geometry import Camera, decimate_mesh, outward_face_normals, vertex_normals  # noqa: E402
from navsvc.report.scalp_labels import OUTLINE, arrow, edge_labels, label_offsets_mm, orientation_arrows  # noqa: E402
from navsvc.report.visibility import hidden_points  # noqa: E402

#: Radius of one wing of the drawn figure-8 coil (outer winding), mm; a typical
#: 70-mm figure-8 coil.
COIL_WING_RADIUS_MM = 35.0
#: Distance from the coil centre to each wing centre, mm.
COIL_WING_OFFSET_MM = 36.0
#: Length of the drawn handle arrow, mm.
HANDLE_ARROW_LENGTH_MM = 70.0
#: Cell size of the vertex clustering that decimates the scalp mesh for plotting, mm.
PLOT_CELL_MM = 4.5

COIL_COLOUR = "#1f5bff"
HANDLE_COLOUR = "#ff7b00"
_SKIN_RGB = np.array([0.93, 0.80, 0.70])


@dataclass(frozen=True)
class Marker:
    """A point drawn on the scalp.

    Parameters
    ----------
    label : str
        Short text written next to the point and in the legend.
    position_ras_mm : numpy.ndarray, shape (3,)
        Position, RAS mm.
    colour : str
        Matplotlib colour.
    symbol : str
        Matplotlib marker symbol.
    description : str
        Longer text for the legend.
    """

    label: str
    position_ras_mm: np.ndarray
    colour: str
    symbol: str
    description: str


def _hidden(vertices_mm: np.ndarray, faces: np.ndarray, camera: Camera, points_mm) -> np.ndarray:
    """True for points hidden behind the scalp in this view (2.5 mm clearance for their own surface)."""
    return hidden_points(vertices_mm, faces, np.atleast_2d(points_mm), camera.direction,
                         camera.screen_right, camera.screen_up, clearance_mm=2.5)


def _coil_outline_mm(coil_matrix: np.ndarray, samples: int = 72) -> list[np.ndarray]:
    """Polylines of the figure-8 coil (two wings) in world mm."""
    x_axis, y_axis, centre = coil_matrix[:3, 0], coil_matrix[:3, 1], coil_matrix[:3, 3]
    angles = np.linspace(0.0, 2 * np.pi, samples)
    wings = []
    for side in (-1.0, 1.0):
        wing_centre = centre + side * COIL_WING_OFFSET_MM * x_axis
        wings.append(wing_centre + COIL_WING_RADIUS_MM
                     * (np.cos(angles)[:, None] * x_axis + np.sin(angles)[:, None] * y_axis))
    return wings


_SKIN_COLOURS = LinearSegmentedColormap.from_list("skin", [(0.0, 0.0, 0.0), tuple(_SKIN_RGB)])  # shade s -> s * skin
#: Half-width of the square each view shows, as a fraction of the head's half-size plus margin.
_VIEW_HALF_WIDTH = 1.2


def _draw_skin(ax, camera: Camera, vertices_mm, faces, face_normals, normals_at_vertices) -> None:
    """The scalp as Gouraud-shaded triangles, back faces culled, painted far to near."""
    towards_viewer = camera.direction
    front = faces[face_normals @ towards_viewer > -0.15]  # back-face culling, as few sorting errors as possible
    depth = (vertices_mm @ towards_viewer)[front].mean(axis=1)  # larger = nearer the viewer
    light = towards_viewer + 0.7 * camera.screen_up - 0.4 * camera.screen_right
    light /= np.linalg.norm(light)
    shade = 0.3 + 0.7 * np.clip(normals_at_vertices @ light, 0.0, 1.0)
    xy = camera.project(vertices_mm)
    ax.tripcolor(xy[:, 0], xy[:, 1], front[np.argsort(depth, kind="stable")], shade, shading="gouraud",
                 cmap=_SKIN_COLOURS, vmin=0.0, vmax=1.0, zorder=1)


def _plot_polyline_with_hidden(ax, camera: Camera, surface, points_mm, colour, width, zorder) -> None:
    """Draw a 3-D polyline solid where visible and faint-dotted where behind the scalp (vertices, faces)."""
    visible = ~_hidden(*surface, camera, points_mm)
    xy = camera.project(points_mm)
    for is_visible in (False, True):
        segment = np.where((visible == is_visible)[:, None], xy, np.nan)
        ax.plot(segment[:, 0], segment[:, 1], color=colour,
                lw=width if is_visible else width * 0.6, ls="-" if is_visible else ":",
                alpha=1.0 if is_visible else 0.45, zorder=zorder)


def _cameras(coil_matrix: np.ndarray) -> list[Camera]:
    towards_viewer = -coil_matrix[:3, 2]  # the coil's z points into the head
    towards_viewer = towards_viewer / np.linalg.norm(towards_viewer)
    elevation = np.degrees(np.arcsin(np.clip(towards_viewer[2], -1.0, 1.0)))
    azimuth = np.degrees(np.arctan2(towards_viewer[1], towards_viewer[0]))
    return [
        Camera("Patient's LEFT side\n(nose points to the left of the image)", 0.0, 180.0),
        Camera("From ABOVE\n(nose at the top, patient's left on the left)", 90.0, -90.0),
        Camera("Looking down the coil axis\n(from outside, over the coil)", elevation, azimuth),
    ]


def render_scalp_views(
    vertices_ras_mm: np.ndarray,
    faces: np.ndarray,
    coil_matrix: np.ndarray | None,
    markers: list[Marker],
    target_ras_mm: np.ndarray | None = None,
    dpi: int = 90,
) -> bytes:
    """Three views of the scalp with the coil, its handle and the scalp sites, as PNG bytes.

    Parameters
    ----------
    vertices_ras_mm : numpy.ndarray, shape (N, 3)
        Scalp mesh vertices, RAS mm.
    faces : numpy.ndarray, shape (M, 3)
        Scalp mesh triangles.
    coil_matrix : numpy.ndarray, shape (4, 4), optional
        Coil pose, SimNIBS ``matsimnibs`` convention, RAS mm. Without it no coil is drawn.
    markers : list of Marker
        Scalp sites to mark (entry, F3, Beam F3, 5-cm site, ...).
    target_ras_mm : numpy.ndarray, shape (3,), optional
        The cortical target; the coil normal is drawn from the coil centre towards it.
    dpi : int
        Resolution of the PNG, dots per inch.

    Returns
    -------
    bytes
        The PNG image.
    """
    vertices, plot_faces = decimate_mesh(
        np.asarray(vertices_ras_mm, float), np.asarray(faces), PLOT_CELL_MM)
    surface = (vertices, plot_faces)
    face_normals = outward_face_normals(vertices, plot_faces)
    normals_at_vertices = vertex_normals(vertices, plot_faces, face_normals)
    centre = (vertices.min(axis=0) + vertices.max(axis=0)) / 2
    half_size = (vertices.max(axis=0) - vertices.min(axis=0)).max() / 2 + 18.0
    coil = None if coil_matrix is None else np.asarray(coil_matrix, dtype=float)
    cameras = _cameras(coil) if coil is not None else _cameras(np.eye(4))[:2]
    positions = [np.asarray(m.position_ras_mm, dtype=float) for m in markers]

    fig = plt.figure(figsize=(5.4 * len(cameras), 6.3), facecolor="white")
    for index, camera in enumerate(cameras):
        ax = fig.add_subplot(1, len(cameras), index + 1)
        _draw_skin(ax, camera, vertices, plot_faces, face_normals, normals_at_vertices)

        drawn = [p[None, :] for p in positions]
        if coil is not None:
            wings = _coil_outline_mm(coil)
            coil_centre, handle = coil[:3, 3], -coil[:3, 1]
            handle_tip = coil_centre + HANDLE_ARROW_LENGTH_MM * handle
            drawn += wings + [np.linspace(coil_centre, handle_tip, 20)]
            for wing in wings:
                _plot_polyline_with_hidden(ax, camera, surface, wing, COIL_COLOUR, 2.4, 5)
            _plot_polyline_with_hidden(ax, camera, surface, np.linspace(coil_centre, handle_tip, 30),
                                       HANDLE_COLOUR, 4.0, 6)
            tail, tip = camera.project(np.vstack([handle_tip - 18.0 * handle, handle_tip]))
            arrow(ax, tail, tip, HANDLE_COLOUR, 4.0, 22.0, 6)
            if target_ras_mm is not None:
                normal_line = camera.project(np.vstack([coil_centre, np.asarray(target_ras_mm, float)]))
                ax.plot(*normal_line.T, color=COIL_COLOUR, lw=1.2, ls="--", zorder=5)

        visible = ~_hidden(vertices, plot_faces, camera, np.array(positions)) if positions else []
        shown = [(m, p) for m, p, seen in zip(markers, positions, visible) if seen]
        offsets = label_offsets_mm(camera, [p for _, p in shown], 11.0)
        for (marker, position), offset in zip(shown, offsets):
            ax.plot(*camera.project(position)[0], marker=marker.symbol, ms=9, mfc=marker.colour,
                    mec="black", ls="none", zorder=8)
            ax.text(*camera.project(position + offset)[0], marker.label, fontsize=8,
                    fontweight="bold", color="black", ha="center", va="center", zorder=9,
                    path_effects=OUTLINE)

        middle = camera.project(centre)[0]
        reach = _VIEW_HALF_WIDTH * half_size
        ax.set_xlim(middle[0] - reach, middle[0] + reach)
        ax.set_ylim(middle[1] - reach, middle[1] + reach)
        ax.set_aspect("equal", adjustable="box")
        ax.set_axis_off()
        ax.set_title(camera.title, fontsize=11, fontweight="bold", y=1.02)
        edge_labels(ax, camera, vertices, centre, half_size)
        orientation_arrows(ax, camera, np.vstack([vertices] + drawn), centre, half_size)

    handles = [Line2D([], [], marker=m.symbol, ls="none", mfc=m.colour, mec="black", ms=9,
                      label=f"{m.label}: {m.description}") for m in markers]
    if coil is not None:
        handles += [
            Line2D([], [], color=COIL_COLOUR, lw=2.4, label="figure-8 coil outline (wings along coil x)"),
            Line2D([], [], color=HANDLE_COLOUR, lw=4.0, label="handle direction (coil −y)"),
            Line2D([], [], color=COIL_COLOUR, lw=1.2, ls="--", label="coil axis to the cortical target"),
            Line2D([], [], color="0.3", lw=1.2, ls=":", label="dotted: hidden behind the head"),
        ]
    handles.append(Line2D([], [], color="0.1", lw=1.6, marker=">", ms=5,
                          label="orientation arrows: L = patient's left, A = anterior, S = superior"))
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=9, frameon=False)
    fig.subplots_adjust(left=0.0, right=1.0, top=0.89, bottom=0.13, wspace=0.0)
    return figure_png(fig, dpi)
