"""3-D views of the scalp with the coil at its planned pose and the scalp landmarks.

Coil convention (SimNIBS ``matsimnibs``, see DESIGN.md §6): the columns of the 4×4
matrix are the coil's x, y and z axes and its centre in world (RAS) mm; z points
into the head, y lies along the handle axis and the handle points to −y. A
figure-8 coil's two wings lie along x, on either side of the centre.

Drawn with matplotlib's 3-D axes in orthographic projection on a decimated copy of
the mesh (vertex clustering), so a report renders in about a second.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import trimesh  # noqa: E402
from matplotlib import patheffects  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from mpl_toolkits.mplot3d.art3d import Poly3DCollection  # noqa: E402

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
_OUTLINE = [patheffects.withStroke(linewidth=3, foreground="white")]


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


@dataclass(frozen=True)
class _Camera:
    title: str
    elevation_deg: float
    azimuth_deg: float

    @property
    def direction(self) -> np.ndarray:
        """Unit vector from the head towards the viewer, RAS."""
        elev, azim = np.radians(self.elevation_deg), np.radians(self.azimuth_deg)
        return np.array([np.cos(elev) * np.cos(azim), np.cos(elev) * np.sin(azim), np.sin(elev)])

    @property
    def screen_right(self) -> np.ndarray:
        """Unit vector, RAS, that points to the right of the image (matplotlib, roll 0)."""
        azim = np.radians(self.azimuth_deg)
        return np.array([-np.sin(azim), np.cos(azim), 0.0])

    @property
    def screen_up(self) -> np.ndarray:
        """Unit vector, RAS, that points to the top of the image (matplotlib, roll 0)."""
        return np.cross(self.direction, self.screen_right)


def decimate_mesh(
    vertices_mm: np.ndarray, faces: np.ndarray, cell_mm: float
) -> tuple[np.ndarray, np.ndarray]:
    """Simplify a triangle mesh by vertex clustering on a regular grid.

    Every vertex is replaced by the mean of the vertices in its grid cell; faces
    whose corners fall in fewer than three cells, and duplicate faces, are dropped.

    Parameters
    ----------
    vertices_mm : numpy.ndarray, shape (N, 3)
        Vertex positions, mm.
    faces : numpy.ndarray, shape (M, 3)
        Triangles as vertex indices.
    cell_mm : float
        Edge length of the clustering grid, mm.

    Returns
    -------
    vertices_mm : numpy.ndarray, shape (N', 3)
    faces : numpy.ndarray, shape (M', 3)
    """
    cells = np.floor((vertices_mm - vertices_mm.min(axis=0)) / cell_mm).astype(np.int64)
    _, cluster, counts = np.unique(cells, axis=0, return_inverse=True, return_counts=True)
    cluster = cluster.ravel()
    sums = np.zeros((len(counts), 3))
    np.add.at(sums, cluster, vertices_mm)
    new_vertices = sums / counts[:, None]
    new_faces = cluster[faces]
    keep = (
        (new_faces[:, 0] != new_faces[:, 1])
        & (new_faces[:, 1] != new_faces[:, 2])
        & (new_faces[:, 0] != new_faces[:, 2])
    )
    new_faces = new_faces[keep]
    _, unique_rows = np.unique(np.sort(new_faces, axis=1), axis=0, return_index=True)
    return new_vertices, new_faces[np.sort(unique_rows)]


def _outward_face_normals(vertices_mm: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unit face normals, flipped to point away from the mesh's centroid."""
    corners = vertices_mm[faces]
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    lengths = np.linalg.norm(normals, axis=1, keepdims=True)
    normals = normals / np.where(lengths > 0, lengths, 1.0)
    outward = corners.mean(axis=1) - vertices_mm.mean(axis=0)
    flip = np.einsum("ij,ij->i", normals, outward) < 0
    normals[flip] *= -1
    return normals


def _visible(mesh: trimesh.Trimesh, points_mm: np.ndarray, towards_viewer: np.ndarray) -> np.ndarray:
    """True for points not hidden behind the scalp, seen from ``towards_viewer`` (orthographic)."""
    points_mm = np.atleast_2d(points_mm)
    origins = points_mm + 2.5 * towards_viewer
    directions = np.repeat(towards_viewer[None, :], len(points_mm), axis=0)
    return ~mesh.ray.intersects_any(origins, directions)


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


def _plot_polyline_with_hidden(ax, mesh, points_mm, towards_viewer, colour, width, zorder) -> None:
    """Draw a 3-D polyline solid where visible and faint-dashed where behind the scalp."""
    visible = _visible(mesh, points_mm, towards_viewer)
    for is_visible in (False, True):
        segment = np.where(visible == is_visible, 1.0, np.nan)[:, None] * points_mm
        ax.plot(segment[:, 0], segment[:, 1], segment[:, 2], color=colour,
                lw=width if is_visible else width * 0.6, ls="-" if is_visible else ":",
                alpha=1.0 if is_visible else 0.45, zorder=zorder)


def _edge_labels(ax, camera: "_Camera", vertices_mm: np.ndarray, centre_mm: np.ndarray,
                 half_size_mm: float) -> None:
    """Anatomical direction words just outside the head's silhouette, where each points on screen.

    Only drawn for views along an anatomical axis (left side, top), where every
    edge of the image is one anatomical direction.
    """
    if np.abs(camera.direction).max() < 0.95:
        return
    words = {
        (-1.0, 0.0, 0.0): "patient's\nLEFT", (1.0, 0.0, 0.0): "patient's\nRIGHT",
        (0.0, 1.0, 0.0): "ANTERIOR\n(nose)", (0.0, -1.0, 0.0): "POSTERIOR",
        (0.0, 0.0, 1.0): "SUPERIOR", (0.0, 0.0, -1.0): "INFERIOR",
    }
    right, up = camera.screen_right, camera.screen_up
    for direction, word in words.items():
        direction = np.asarray(direction)
        on_screen = np.array([direction @ right, direction @ up])
        if np.linalg.norm(on_screen) < 0.9:
            continue
        vertical = abs(on_screen[1]) > abs(on_screen[0])
        reach_mm = float(np.max((vertices_mm - centre_mm) @ direction))
        distance_mm = min(reach_mm + (15.0 if vertical else 24.0), 0.9 * half_size_mm)  # stay in view
        position = centre_mm + distance_mm * direction
        ax.text(*position, word, fontsize=9, fontweight="bold", color="0.15", ha="center",
                va="center", zorder=12, path_effects=_OUTLINE)


def _orientation_arrows(ax, camera: "_Camera", occupied_mm: np.ndarray, centre_mm: np.ndarray,
                        half_size_mm: float) -> None:
    """A 3-D triad (patient's left, anterior, superior) in the emptiest corner of a view.

    ``occupied_mm`` are the points already drawn (mesh, coil, markers), RAS mm.
    """
    right, up = camera.screen_right, camera.screen_up
    length_mm = 0.2 * half_size_mm
    screen_mm = np.column_stack([(occupied_mm - centre_mm) @ right, (occupied_mm - centre_mm) @ up])
    # candidate positions of the triad's origin, in half-sizes of the plotted cube, preferred first
    corners = [(-0.95, -0.85), (0.6, -0.85), (-0.95, 0.65), (0.6, 0.65), (0.8, -0.85), (0.8, 0.65),
               (-0.95, 0.0), (0.8, 0.0)]

    def crowding(corner) -> int:
        origin = np.array(corner) * half_size_mm
        low = origin + np.array([-12.0, -22.0])
        high = origin + np.array([55.0, length_mm + 12.0])
        return int(np.sum(np.all((screen_mm > low) & (screen_mm < high), axis=1)))

    corner = min(corners, key=crowding)  # min keeps the first of equally empty corners
    origin = centre_mm + corner[0] * half_size_mm * right + corner[1] * half_size_mm * up
    end_on = []
    for direction, word in (((-1.0, 0.0, 0.0), "L"), ((0.0, 1.0, 0.0), "A"), ((0.0, 0.0, 1.0), "S")):
        direction = np.asarray(direction)
        on_screen = direction - (direction @ camera.direction) * camera.direction
        if np.linalg.norm(on_screen) < 0.3:
            end_on.append(f"{word} {'towards you' if direction @ camera.direction > 0 else 'away'}")
            continue
        ax.quiver(*origin, *(length_mm * direction), color="0.1", linewidth=1.6,
                  arrow_length_ratio=0.25, zorder=12)
        label_at = origin + length_mm * direction + 7.0 * on_screen / np.linalg.norm(on_screen)
        ax.text(*label_at, word, fontsize=9, fontweight="bold", color="0.1", ha="center",
                va="center", zorder=12)
    if end_on:
        ax.text(*(origin - 6.0 * up), "\n".join(end_on), fontsize=7.5, color="0.25", ha="left",
                va="top", zorder=12)


def _label_offsets_mm(
    camera: "_Camera", positions_mm: list[np.ndarray], radius_mm: float
) -> list[np.ndarray]:
    """Offsets that keep the marker labels apart on screen (greedy, 8 directions)."""
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


def _cameras(coil_matrix: np.ndarray) -> list[_Camera]:
    towards_viewer = -coil_matrix[:3, 2]  # the coil's z points into the head
    towards_viewer = towards_viewer / np.linalg.norm(towards_viewer)
    elevation = np.degrees(np.arcsin(np.clip(towards_viewer[2], -1.0, 1.0)))
    azimuth = np.degrees(np.arctan2(towards_viewer[1], towards_viewer[0]))
    return [
        _Camera("Patient's LEFT side\n(nose points to the left of the image)", 0.0, 180.0),
        _Camera("From ABOVE\n(nose at the top, patient's left on the left)", 90.0, -90.0),
        _Camera("Looking down the coil axis\n(from outside, over the coil)", elevation, azimuth),
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
    mesh = trimesh.Trimesh(vertices, plot_faces, process=False)
    normals = _outward_face_normals(vertices, plot_faces)
    centre = (vertices.min(axis=0) + vertices.max(axis=0)) / 2
    half_size = (vertices.max(axis=0) - vertices.min(axis=0)).max() / 2 + 18.0
    coil = None if coil_matrix is None else np.asarray(coil_matrix, dtype=float)
    cameras = _cameras(coil) if coil is not None else _cameras(np.eye(4))[:2]

    fig = plt.figure(figsize=(5.4 * len(cameras), 6.3), facecolor="white")
    for index, camera in enumerate(cameras):
        towards_viewer = camera.direction
        ax = fig.add_subplot(1, len(cameras), index + 1, projection="3d", computed_zorder=False)
        ax.set_proj_type("ortho")
        ax.view_init(elev=camera.elevation_deg, azim=camera.azimuth_deg)
        facing = normals @ towards_viewer
        front = facing > -0.15  # back-face culling: halves the work and the sorting errors
        light = towards_viewer + 0.7 * camera.screen_up - 0.4 * camera.screen_right
        light /= np.linalg.norm(light)
        shade = 0.3 + 0.7 * np.clip(normals[front] @ light, 0.0, 1.0)
        colours = np.clip(shade[:, None] * _SKIN_RGB, 0, 1)
        surface = Poly3DCollection(vertices[plot_faces[front]], facecolors=colours,
                                   edgecolors=colours, linewidths=0.3, zorder=1)
        ax.add_collection3d(surface)

        drawn = [np.asarray(m.position_ras_mm, dtype=float)[None, :] for m in markers]
        if coil is not None:
            drawn += _coil_outline_mm(coil)
            drawn.append(np.linspace(coil[:3, 3], coil[:3, 3] - HANDLE_ARROW_LENGTH_MM * coil[:3, 1],
                                     20))
            for wing in _coil_outline_mm(coil):
                _plot_polyline_with_hidden(ax, mesh, wing, towards_viewer, COIL_COLOUR, 2.4, 5)
            coil_centre, handle = coil[:3, 3], -coil[:3, 1]
            handle_tip = coil_centre + HANDLE_ARROW_LENGTH_MM * handle
            handle_line = np.linspace(coil_centre, handle_tip, 30)
            _plot_polyline_with_hidden(ax, mesh, handle_line, towards_viewer, HANDLE_COLOUR, 4.0, 6)
            ax.quiver(*(handle_tip - 18.0 * handle), *(18.0 * handle), color=HANDLE_COLOUR,
                      linewidth=4.0, arrow_length_ratio=0.9, zorder=6)
            if target_ras_mm is not None:
                normal_line = np.vstack([coil_centre, np.asarray(target_ras_mm, float)])
                ax.plot(*normal_line.T, color=COIL_COLOUR, lw=1.2, ls="--", zorder=5)

        shown = [m for m in markers
                 if _visible(mesh, np.asarray(m.position_ras_mm, float), towards_viewer)[0]]
        positions = [np.asarray(m.position_ras_mm, dtype=float) for m in shown]
        offsets = _label_offsets_mm(camera, positions, 11.0)
        for marker, position, offset in zip(shown, positions, offsets):
            ax.plot(*position[:, None], marker=marker.symbol, ms=9, mfc=marker.colour, mec="black",
                    ls="none", zorder=8)
            ax.text(*(position + offset + 6.0 * towards_viewer), marker.label, fontsize=8,
                    fontweight="bold", color="black", ha="center", va="center", zorder=9,
                    path_effects=_OUTLINE)

        for axis in range(3):
            getattr(ax, f"set_{'xyz'[axis]}lim")(centre[axis] - half_size, centre[axis] + half_size)
        ax.set_box_aspect((1, 1, 1), zoom=1.35)
        ax.set_axis_off()
        ax.set_title(camera.title, fontsize=11, fontweight="bold", y=1.02)
        _edge_labels(ax, camera, vertices, centre, half_size)
        _orientation_arrows(ax, camera, np.vstack([vertices] + drawn), centre, half_size)

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
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    plt.close(fig)
    return buffer.getvalue()
