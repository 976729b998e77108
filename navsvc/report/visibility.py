"""Which points a surface hides, seen orthographically (the scalp views' dotted coil parts)."""

from __future__ import annotations

import numpy as np


def hidden_points(vertices_mm, faces, points_mm, towards_viewer, screen_right, screen_up,
                  clearance_mm=2.5, cell_mm=8.0):
    """True for points behind a triangle mesh, seen orthographically from ``towards_viewer``.

    A point is hidden when a triangle covers it on screen more than ``clearance_mm`` nearer
    the viewer: the test a ray from the point towards the viewer makes. Triangles are found
    through a grid of ``cell_mm`` screen cells (a 3-D ray tree took longer to build than
    all the tests).

    Parameters
    ----------
    vertices_mm : numpy.ndarray, shape (N, 3)
        Mesh vertices, mm.
    faces : numpy.ndarray, shape (M, 3)
        Triangles as vertex indices.
    points_mm : numpy.ndarray, shape (P, 3)
        The points to test, mm.
    towards_viewer, screen_right, screen_up : numpy.ndarray, shape (3,)
        Orthonormal camera axes: towards the viewer, right and up on the screen.
    clearance_mm : float
        A triangle closer than this in front of a point does not hide it (the point's own
        surface).
    cell_mm : float
        Screen grid cell, mm (about twice the triangles' size).

    Returns
    -------
    numpy.ndarray of bool, shape (P,)
    """
    points_mm = np.atleast_2d(np.asarray(points_mm, dtype=float))
    basis = np.column_stack([screen_right, screen_up])
    screen = vertices_mm @ basis
    depth = vertices_mm @ towards_viewer
    corners = screen[faces]  # (F, 3, 2)
    low = np.floor((corners.min(axis=1) - screen.min(axis=0)) / cell_mm).astype(np.int64)
    high = np.floor((corners.max(axis=1) - screen.min(axis=0)) / cell_mm).astype(np.int64)
    columns = int(high[:, 0].max()) + 1
    # each triangle listed under every cell its screen bounding box touches
    span = high - low + 1
    count = span[:, 0] * span[:, 1]
    face_of = np.repeat(np.arange(len(faces)), count)
    offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    cell_x = low[face_of, 0] + offset % span[face_of, 0]
    cell_y = low[face_of, 1] + offset // span[face_of, 0]
    cell = cell_y * columns + cell_x
    order = np.argsort(cell, kind="stable")
    cell, face_of = cell[order], face_of[order]

    p_screen = points_mm @ basis
    p_depth = points_mm @ towards_viewer + clearance_mm
    p_cell_xy = np.floor((p_screen - screen.min(axis=0)) / cell_mm).astype(np.int64)
    inside_grid = (p_cell_xy >= 0).all(axis=1) & (p_cell_xy[:, 0] < columns)
    p_cell = np.where(inside_grid, p_cell_xy[:, 1] * columns + p_cell_xy[:, 0], -1)
    start = np.searchsorted(cell, p_cell, side="left")
    stop = np.searchsorted(cell, p_cell, side="right")
    stop = np.where(inside_grid, stop, start)
    n = stop - start
    point_of = np.repeat(np.arange(len(points_mm)), n)
    pair_face = face_of[np.repeat(start, n) + (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))]

    a, b, c = (corners[pair_face, k] for k in range(3))
    p = p_screen[point_of]
    v0, v1, v2 = b - a, c - a, p - a
    det = v0[:, 0] * v1[:, 1] - v0[:, 1] * v1[:, 0]
    ok = np.abs(det) > 1e-12
    det = np.where(ok, det, 1.0)
    u = (v2[:, 0] * v1[:, 1] - v2[:, 1] * v1[:, 0]) / det
    v = (v0[:, 0] * v2[:, 1] - v0[:, 1] * v2[:, 0]) / det
    covers = ok & (u >= 0) & (v >= 0) & (u + v <= 1)
    d = depth[faces[pair_face]]
    surface_depth = d[:, 0] + u * (d[:, 1] - d[:, 0]) + v * (d[:, 2] - d[:, 0])
    blocked = covers & (surface_depth > p_depth[point_of])
    hidden = np.zeros(len(points_mm), dtype=bool)
    np.logical_or.at(hidden, point_of[blocked], True)
    return hidden
