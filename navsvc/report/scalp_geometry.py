"""Geometry of the scalp views: the orthographic camera and the mesh simplification."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Camera:
    """An orthographic view along a direction, matplotlib's 3-D camera convention (roll 0)."""

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

    def project(self, points_mm: np.ndarray) -> np.ndarray:
        """Screen coordinates (N, 2), mm: along ``screen_right`` and ``screen_up``."""
        points_mm = np.atleast_2d(points_mm)
        return np.column_stack([points_mm @ self.screen_right, points_mm @ self.screen_up])


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
    _, cluster, counts = np.unique(_row_keys(cells), return_inverse=True, return_counts=True)
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
    _, unique_rows = np.unique(_row_keys(np.sort(new_faces, axis=1)), return_index=True)
    return new_vertices, new_faces[np.sort(unique_rows)]


def _row_keys(rows: np.ndarray) -> np.ndarray:
    """One int64 per row of three non-negative integers, ordered as the rows lexicographically
    (``np.unique(rows, axis=0)`` is several times slower)."""
    base = int(rows.max()) + 1 if rows.size else 1
    return (rows[:, 0] * base + rows[:, 1]) * base + rows[:, 2]


def outward_face_normals(vertices_mm: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unit face normals, flipped to point away from the mesh's centroid.

    Parameters
    ----------
    vertices_mm : numpy.ndarray, shape (N, 3)
        Vertex positions, mm; the centroid is their mean.
    faces : numpy.ndarray, shape (M, 3)
        Triangles as vertex indices.

    Returns
    -------
    numpy.ndarray, shape (M, 3)
        Zero for a degenerate triangle.
    """
    corners = vertices_mm[faces]
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    lengths = np.linalg.norm(normals, axis=1, keepdims=True)
    normals = normals / np.where(lengths > 0, lengths, 1.0)
    outward = corners.mean(axis=1) - vertices_mm.mean(axis=0)
    flip = np.einsum("ij,ij->i", normals, outward) < 0
    normals[flip] *= -1
    return normals


def vertex_normals(vertices_mm: np.ndarray, faces: np.ndarray, face_normals: np.ndarray) -> np.ndarray:
    """Unit vertex normals: the mean of the (outward) normals of the faces around each vertex.

    Parameters
    ----------
    vertices_mm : numpy.ndarray, shape (N, 3)
        Vertex positions, mm.
    faces : numpy.ndarray, shape (M, 3)
        Triangles as vertex indices.
    face_normals : numpy.ndarray, shape (M, 3)
        Unit normal of each face (:func:`outward_face_normals`).

    Returns
    -------
    numpy.ndarray, shape (N, 3)
        Zero for a vertex of no face.
    """
    normals = np.zeros_like(vertices_mm)
    for corner in range(3):
        np.add.at(normals, faces[:, corner], face_normals)
    lengths = np.linalg.norm(normals, axis=1, keepdims=True)
    return normals / np.where(lengths > 0, lengths, 1.0)
