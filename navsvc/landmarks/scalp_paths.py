"""Lengths along the scalp, measured as a tape does: along plane sections of the mesh."""

from __future__ import annotations

import numpy as np
import trimesh

from navsvc.coords import unit
from navsvc.errors import PipelineError


def section_loop(mesh: trimesh.Trimesh, origin, normal, near_ras_mm) -> np.ndarray:
    """The closed scalp section by a plane, as ordered points (the loop nearest ``near_ras_mm``).

    Parameters
    ----------
    mesh : trimesh.Trimesh
        The scalp surface, native RAS mm.
    origin : array-like, shape (3,)
        A point of the plane, RAS mm.
    normal : array-like, shape (3,)
        The plane's normal, any non-zero length.
    near_ras_mm : array-like, shape (3,)
        Where the plane cuts the mesh in several loops, the one passing nearest this point
        is taken.

    Returns
    -------
    numpy.ndarray, shape (n, 3)
        The loop's points in order, RAS mm, its closing point (a repeat of the first) dropped.

    Raises
    ------
    PipelineError
        The plane cuts no loop of more than 3 points out of the mesh.
    """
    path = mesh.section(plane_origin=np.asarray(origin, float), plane_normal=unit(normal))
    loops = [np.asarray(d) for d in path.discrete if len(d) > 3] if path is not None else []
    if not loops:
        raise PipelineError(f"no scalp section through {np.round(origin, 1).tolist()} mm for a tape length: "
                            "the scalp surface is incomplete there (check the head in the QC report)")
    near = np.asarray(near_ras_mm, float)
    loop = min(loops, key=lambda d: np.min(np.linalg.norm(d - near, axis=1)))
    if np.allclose(loop[0], loop[-1]):
        loop = loop[:-1]
    return loop


def _index_nearest(loop: np.ndarray, point) -> int:
    return int(np.argmin(np.linalg.norm(loop - np.asarray(point, float), axis=1)))


def arc(loop: np.ndarray, start, end, via) -> np.ndarray:
    """The part of a closed loop from ``start`` to ``end`` that passes nearest ``via``.

    Parameters
    ----------
    loop : numpy.ndarray, shape (n, 3)
        Ordered points of a closed loop (:func:`section_loop`), mm.
    start, end, via : array-like, shape (3,)
        Points, mm; each stands for the loop point nearest it.

    Returns
    -------
    numpy.ndarray, shape (k, 3)
        The loop's points from ``start`` to ``end``, both included, going the way round
        that passes nearer the loop point nearest ``via`` (forward on a tie).
    """
    i, j, k = (_index_nearest(loop, p) for p in (start, end, via))
    n = len(loop)
    forward = [(i + s) % n for s in range(((j - i) % n) + 1)]
    backward = [(i - s) % n for s in range(((i - j) % n) + 1)]
    def miss(ids):
        return np.min(np.linalg.norm(loop[ids] - loop[k], axis=1))
    return loop[forward] if miss(forward) <= miss(backward) else loop[backward]


def arc_towards(loop: np.ndarray, start, direction) -> np.ndarray:
    """The whole loop, starting at ``start`` and leaving it in ``direction``.

    Parameters
    ----------
    loop : numpy.ndarray, shape (n, 3)
        Ordered points of a closed loop (:func:`section_loop`), mm.
    start : array-like, shape (3,)
        A point, mm; the loop point nearest it starts the path.
    direction : array-like, shape (3,)
        The way to go, any length: the loop's own order is kept unless the point three
        steps along it lies behind the start along ``direction``; then it is reversed.

    Returns
    -------
    numpy.ndarray, shape (n + 1, 3)
        The loop's points, the start repeated at the end.
    """
    i = _index_nearest(loop, start)
    n = len(loop)
    ordered = loop[[(i + s) % n for s in range(n + 1)]]
    if np.dot(ordered[min(3, n - 1)] - ordered[0], direction) < 0:
        ordered = loop[[(i - s) % n for s in range(n + 1)]]
    return ordered


def length_mm(polyline: np.ndarray) -> float:
    """Length of a polyline, mm."""
    return float(np.linalg.norm(np.diff(polyline, axis=0), axis=1).sum())


def point_at(polyline: np.ndarray, distance_mm: float) -> np.ndarray:
    """The point ``distance_mm`` along the polyline from its start (clamped to its end).

    Parameters
    ----------
    polyline : numpy.ndarray, shape (n, 3)
        Points in order, mm.
    distance_mm : float
        Length along the polyline, mm, not negative.

    Returns
    -------
    numpy.ndarray, shape (3,)
        Linearly interpolated between the polyline's points.
    """
    seg = np.linalg.norm(np.diff(polyline, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    if distance_mm >= cum[-1]:
        return polyline[-1].copy()
    # the last k with cum[k] <= distance < cum[-1]: segment k has a length (a repeated point's
    # zero-length segment k would make k + 1 qualify too)
    k = int(np.searchsorted(cum, distance_mm, side="right") - 1)
    t = (distance_mm - cum[k]) / seg[k]
    return polyline[k] + t * (polyline[k + 1] - polyline[k])
