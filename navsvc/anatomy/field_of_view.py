"""Where the image's field of view cuts the head (or part of it was removed from the
image), and which scalp points that spoils.

Clinical T1s often end before the head does: the vertex, the back of the head or the
face cut off by a small or shifted field of view. The head mask then stops at the
image's edge and the scalp surface closes over the cut with a flat cap. A scalp point
on or near that cap is not the patient's scalp: a coil placed there, a scalp-to-cortex
distance measured to it (the motor hand knob's, which sets the dose suggestion) or a
10-20 landmark projected onto it would be wrong. Such points are found here so that the
plan can refuse them (the entry point) or mark them (landmarks, dose).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy.spatial import cKDTree

from navsvc.anatomy.scalp import NORMAL_PATCH_RADIUS_MM, Scalp
from navsvc.coords import as_points, edge_distance_mm
from navsvc.landmarks.placement import BeamF3

#: a scalp vertex closer than this to the edge of the image lies on the cut, mm
#: (the head mask ends within about one 2 mm working voxel of the edge)
FOV_EDGE_MM = 3.0
#: the coil's scalp must be this far from the cut: its inward normal is averaged over
#: this radius, and a coil spans about as much, mm
COIL_CLEARANCE_MM = NORMAL_PATCH_RADIUS_MM
#: a scalp point (landmark, hand-knob scalp point, Beam tape path) must be this far from
#: the cut: nearer, the nearest "scalp" may be the cap standing in for scalp cut away, mm
POINT_CLEARANCE_MM = 5.0


@dataclass(frozen=True)
class ScalpCut:
    """The scalp vertices that are not the patient's scalp: those on the image's edge
    (none when the head fits) and those over a region removed from the image
    (:mod:`navsvc.anatomy.removed_scalp`: a defaced face)."""

    vertices_ras_mm: np.ndarray
    removed_ras_mm: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))

    @property
    def by_field_of_view(self) -> bool:
        """Whether the field of view cuts the scalp anywhere."""
        return len(self.vertices_ras_mm) > 0

    @property
    def removed(self) -> bool:
        """Whether part of the scalp was removed from the image."""
        return len(self.removed_ras_mm) > 0

    @property
    def is_cut(self) -> bool:
        """Whether any of the scalp is not in the image (cut off or removed)."""
        return self.by_field_of_view or self.removed

    @cached_property
    def _untrusted_tree(self) -> cKDTree:
        return cKDTree(np.vstack([self.vertices_ras_mm, self.removed_ras_mm]))

    def distance_mm(self, points_ras_mm) -> np.ndarray:
        """Distance from each point to the nearest cut or removed vertex, mm (inf when none)."""
        points = as_points(points_ras_mm)
        if not self.is_cut:
            return np.full(len(points), np.inf)
        return self._untrusted_tree.query(points)[0]

    def trusted(self, points_ras_mm, clearance_mm: float = POINT_CLEARANCE_MM) -> np.ndarray:
        """Whether each scalp point is at least ``clearance_mm`` from the cut.

        Parameters
        ----------
        points_ras_mm : array-like, shape (N, 3) or (3,)
            Scalp points, native RAS mm.
        clearance_mm : float
            The distance a point must keep from every cut or removed vertex, mm.

        Returns
        -------
        numpy.ndarray of bool, shape (N,)
            All True when no scalp is cut or removed.
        """
        return self.distance_mm(points_ras_mm) >= clearance_mm


def scalp_cut(scalp: Scalp, shape, affine: np.ndarray, removed_ras_mm=None) -> ScalpCut:
    """Find where the image (``shape``, ``affine``: the input T1's) cuts the scalp.

    Parameters
    ----------
    scalp : Scalp
        The patient's scalp surface.
    shape : sequence of int
        The input image's dimensions.
    affine : numpy.ndarray
        The input image's voxel-to-RAS affine.
    removed_ras_mm : array (N, 3), optional
        Scalp vertices over a region removed from the image
        (:func:`navsvc.anatomy.removed_scalp.removed_scalp_vertices`).

    Returns
    -------
    ScalpCut
    """
    vertices = scalp.vertices_ras_mm
    on_edge = vertices[edge_distance_mm(shape, affine, vertices) < FOV_EDGE_MM]
    return ScalpCut(on_edge) if removed_ras_mm is None else ScalpCut(on_edge, as_points(removed_ras_mm))


def scalp_not_in_image_text(by_field_of_view: bool, removed: bool) -> str:
    """What keeps part of the head out of the image, for warnings (plan input flags).

    Parameters
    ----------
    by_field_of_view : bool
        Whether the field of view cuts the scalp (``input.field_of_view_cuts_scalp``).
    removed : bool
        Whether part of the head was removed from the image (``input.scalp_removed``).

    Returns
    -------
    str
        A lower-case clause without a full stop; the field of view's clause when neither
        flag is set.
    """
    if removed and by_field_of_view:
        return ("the image's field of view cuts off part of the head, and part of it (the face: defaced, "
                "or masked) was removed from the image")
    if removed:
        return "part of the head (the face: defaced, or masked) was removed from the image"
    return "the image's field of view cuts off part of the head"


def landmarks_in_image(cut: ScalpCut, landmarks_ras_mm: dict[str, np.ndarray], beam: BeamF3,
                       five_cm_ras_mm, m1_scalp_ras_mm) -> dict[str, bool]:
    """Whether each scalp landmark of the plan is clear of the field-of-view cut.

    A projected 10-05 point and the motor hand knob's scalp point need their own scalp;
    the Beam F3 site needs every point its tape measurements lay on; the 5-cm site,
    measured from the hand knob along the scalp, needs both ends.

    Parameters
    ----------
    cut : ScalpCut
    landmarks_ras_mm : dict of str to array
        The projected 10-05 points.
    beam : BeamF3
    five_cm_ras_mm, m1_scalp_ras_mm : array-like, shape (3,)

    Returns
    -------
    dict of str to bool
        For every landmark name, plus ``beam_f3``, ``five_cm`` and ``m1_hand_knob``.
    """
    names = list(landmarks_ras_mm) + ["m1_hand_knob", "five_cm"]
    points = np.array([landmarks_ras_mm[n] for n in names[:-2]] + [m1_scalp_ras_mm, five_cm_ras_mm])
    trusted = {name: bool(t) for name, t in zip(names, cut.trusted(points))}
    trusted["five_cm"] = trusted["five_cm"] and trusted["m1_hand_knob"]
    trusted["beam_f3"] = bool(cut.trusted(np.vstack([beam.tape_paths_ras_mm, beam.site_ras_mm])).all())
    return trusted
