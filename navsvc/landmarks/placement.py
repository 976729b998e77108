"""Landmarks on this patient's scalp: projected 10-05 positions, Beam F3, the 5-cm site."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from navsvc.anatomy.scalp import Scalp
from navsvc.coords import unit
from navsvc.landmarks import scalp_paths
from navsvc.landmarks.beam import beam_distances
from navsvc.landmarks.montage import landmark_positions_colin_mm
from navsvc.registration_maps import HeadAlignment

#: distance of the 5-cm rule, mm
FIVE_CM_MM = 50.0


@dataclass(frozen=True)
class HeadFrame:
    """The patient's anatomical axes in native RAS (unit vectors, orthonormal)."""

    right: np.ndarray
    anterior: np.ndarray
    superior: np.ndarray


def head_frame(head: HeadAlignment) -> HeadFrame:
    """Anatomical axes from the head-to-Colin27 alignment (its rotation part)."""
    pts = head.colin_to_native(np.array([[0, 0, 0], [0, 50, 0], [0, 0, 50]], float))
    anterior, superior = (unit(p - pts[0]) for p in pts[1:])
    superior = unit(superior - np.dot(superior, anterior) * anterior)
    right = np.cross(anterior, superior)  # R = A x S in a right-handed RAS frame
    return HeadFrame(right, anterior, superior)


def project_montage(scalp: Scalp, head: HeadAlignment) -> dict[str, np.ndarray]:
    """10-05 landmarks (Colin27 head) carried into the patient and put on their scalp.

    Parameters
    ----------
    scalp : Scalp
        The patient's scalp surface.
    head : HeadAlignment
        The head-to-Colin27 alignment; its affine map carries the positions (the pipeline
        passes the whole :class:`Registration`, whose head stage it is).

    Returns
    -------
    dict of str to numpy.ndarray
        The plan's landmark names (:data:`~navsvc.landmarks.montage.LANDMARK_LABELS`) ->
        the scalp point nearest each carried position, shape (3,), native RAS mm.
    """
    colin = landmark_positions_colin_mm()
    names = list(colin)
    native = head.colin_to_native(np.array([colin[n] for n in names]))
    return {name: scalp.nearest_point(p) for name, p in zip(names, native)}


@dataclass(frozen=True)
class BeamF3:
    """Beam F3 site and the tape measurements it came from, mm."""

    site_ras_mm: np.ndarray
    tragus_tragus_mm: float
    nasion_inion_mm: float
    head_circumference_mm: float
    x_from_fpz_mm: float
    y_from_cz_mm: float
    cz_ras_mm: np.ndarray
    tape_paths_ras_mm: np.ndarray  # every point the tape lay on (NI, TT, HC and Cz-to-site arcs)


@dataclass(frozen=True)
class LandmarkSet:
    """The plan's scalp landmarks (native RAS mm) and whether each lies on scalp the image holds."""

    points_ras_mm: dict[str, np.ndarray]  # projected 10-05 positions, by name
    beam: BeamF3
    five_cm_ras_mm: np.ndarray
    scalp_in_image: dict[str, bool]  # every point name, plus beam_f3, five_cm and m1_hand_knob


def beam_f3(scalp: Scalp, points: dict[str, np.ndarray], frame: HeadFrame) -> BeamF3:
    """The Beam F3 site measured on the scalp mesh as a technician's tape would.

    NI: nasion to inion over the vertex (midsagittal section); TT: pre-auricular to
    pre-auricular over the vertex (coronal section); HC: circumference through Fpz, T7,
    T8; Cz at half the NI arc. F3 lies Y from Cz on the arc from Cz to the point X along
    the circumference from Fpz towards the patient's left.

    Parameters
    ----------
    scalp : Scalp
        The patient's scalp surface.
    points : dict of str to numpy.ndarray
        Projected landmarks (:func:`project_montage`), native RAS mm; ``nasion``,
        ``inion``, ``lpa``, ``rpa``, ``fpz``, ``t7`` and ``t8`` are used.
    frame : HeadFrame
        The patient's anatomical axes.

    Returns
    -------
    BeamF3
        The site (on the scalp), the tape lengths and distances, mm, Cz and the tape paths.
    """
    mesh = scalp.mesh
    nasion, inion = points["nasion"], points["inion"]
    ni_loop = scalp_paths.section_loop(mesh, nasion, np.cross(inion - nasion, frame.superior), nasion)
    ni_arc = scalp_paths.arc(ni_loop, nasion, inion, _highest(ni_loop, frame))
    tt_loop = scalp_paths.section_loop(mesh, points["lpa"], np.cross(points["rpa"] - points["lpa"], frame.superior), points["lpa"])
    tt_arc = scalp_paths.arc(tt_loop, points["lpa"], points["rpa"], _highest(tt_loop, frame))
    fpz, t7, t8 = points["fpz"], points["t7"], points["t8"]
    hc_loop = scalp_paths.section_loop(mesh, fpz, np.cross(t7 - fpz, t8 - fpz), fpz)
    ni, tt, hc = (scalp_paths.length_mm(p) for p in (ni_arc, tt_arc, np.vstack([hc_loop, hc_loop[:1]])))
    dist = beam_distances(tt, ni, hc)
    cz = scalp_paths.point_at(ni_arc, ni / 2)
    left = -frame.right
    circumference = scalp_paths.arc_towards(hc_loop, fpz, left)
    x_point = scalp_paths.point_at(circumference, dist.x_from_fpz)
    cz_loop = scalp_paths.section_loop(mesh, cz, np.cross(x_point - cz, scalp.centre_ras_mm - cz), cz)
    cz_arc = scalp_paths.arc(cz_loop, cz, x_point, 0.5 * (cz + x_point))  # the short way
    site = scalp.nearest_point(scalp_paths.point_at(cz_arc, dist.y_from_cz))
    paths = np.vstack([ni_arc, tt_arc, hc_loop, cz_arc])
    return BeamF3(site, tt, ni, hc, dist.x_from_fpz, dist.y_from_cz, cz, paths)


def _highest(loop: np.ndarray, frame: HeadFrame) -> np.ndarray:
    return loop[int(np.argmax(loop @ frame.superior))]


def five_cm_site(scalp: Scalp, m1_scalp_ras_mm, frame: HeadFrame) -> np.ndarray:
    """5 cm anterior to the M1 scalp point along the scalp, in its parasagittal plane.

    Parameters
    ----------
    scalp : Scalp
        The patient's scalp surface.
    m1_scalp_ras_mm : array-like, shape (3,)
        The scalp point above the motor hand knob, native RAS mm.
    frame : HeadFrame
        The patient's anatomical axes: the plane is normal to ``right``, and the tape
        leaves the M1 point towards ``anterior``.

    Returns
    -------
    numpy.ndarray, shape (3,)
        The scalp point nearest the end of :data:`FIVE_CM_MM` of tape, native RAS mm.
    """
    loop = scalp_paths.section_loop(scalp.mesh, m1_scalp_ras_mm, frame.right, m1_scalp_ras_mm)
    forward = scalp_paths.arc_towards(loop, m1_scalp_ras_mm, frame.anterior)
    return scalp.nearest_point(scalp_paths.point_at(forward, FIVE_CM_MM))
