"""Scalp that was removed from the image: a defaced face, a masked-out region.

Defacing tools (and some masking steps) set the voxels of the face to one fill value,
usually 0. The head mask then stops at the removed region and the scalp surface runs over
its boundary, well inside the real head: on a defaced Colin27 copy the nasion landmark
moved 28 mm and was still reported as in the image. In a magnitude MR image the air holds
noise, so a large patch of "scalp" whose outside is exactly the image's minimum, voxel
after voxel, and which lies well inside where Colin27's head, carried by the head affine,
has tissue, is the edge of a removed region. (On an image whose background is mostly the
fill value, as the clean Colin27's is, a removed region cannot be told from air: nothing
is found there.)

Such a patch must also be an island: most of the scalp around it whose outside is the fill
value must lie inside Colin27's head too. Where a noise-free background touches a wide
stretch of intact skin, that stretch mostly follows Colin27's surface, and a part of it
that lies deeper is a head shaped differently from Colin27's (a warped copy of Colin27
with 47 % of its scalp over zero air had 412 such vertices over its DLPFC, and its plan was
refused as defaced).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from navsvc.anatomy.scalp import Scalp
from navsvc.anatomy.template_head import colin_head_distance_mm
from navsvc.coords import edge_distance_mm
from navsvc.sampling import MappedImage, same_points

#: the outside of the scalp is read this far along the outward normal, mm
OUTSIDE_SAMPLES_MM = (2.0, 4.0)
#: the removed edge lies at least this deep inside Colin27's head carried into the patient,
#: mm: defaced Colin27 copies reach 28 mm; intact heads (affine, warped, reoriented copies)
#: mostly stay within 10 mm of it, so air zeroed next to intact skin is not taken for a
#: removed face
MIN_DEPTH_IN_TEMPLATE_HEAD_MM = 8.0
#: when more of the scalp than this has the fill value outside, the air itself is the fill
#: value (a noise-free or masked background) and nothing can be told apart (a defaced
#: Colin27 copy with 2 % noise: 8 % of its scalp)
MAX_REMOVED_FRACTION = 0.5
#: a removed patch has at least this many mesh vertices (about 4 cm² on the 2 mm mesh);
#: a few exact minima among integer-rounded noise do not join into such patches
MIN_PATCH_VERTICES = 200
#: share of a connected stretch of fill-valued outside that must lie that deep for its deep
#: part to be a removed region: defaced Colin27 copies (2-4 % noise, moved, warped) 0.42-0.68;
#: the wide zero air around intact noise-free heads (Colin27 and 12 warped copies) 0-0.08
MIN_DEEP_SHARE = 0.2


def removed_scalp_vertices(scalp: Scalp, data: np.ndarray, affine: np.ndarray, native_to_colin) -> np.ndarray:
    """Scalp vertices whose outside was set to the image's fill value (native RAS mm).

    Parameters
    ----------
    scalp : Scalp
        The patient's scalp surface.
    data : numpy.ndarray, 3-D
        The input T1's voxels, as loaded.
    affine : numpy.ndarray, shape (4, 4)
        Its voxel-to-RAS affine.
    native_to_colin : callable
        Native RAS points (N, 3) -> Colin27 points (N, 3), mm (the head affine).

    Returns
    -------
    numpy.ndarray, shape (N, 3)
        The vertices of every patch of at least :data:`MIN_PATCH_VERTICES` connected
        vertices whose outside samples all lie in the image and all equal its minimum, and
        that lie :data:`MIN_DEPTH_IN_TEMPLATE_HEAD_MM` inside Colin27's head, in a connected
        stretch of such vertices of which at least :data:`MIN_DEEP_SHARE` lie that deep;
        none when more than :data:`MAX_REMOVED_FRACTION` of the scalp has the fill value
        outside.
    """
    vertices = scalp.vertices_ras_mm
    image = MappedImage(data, np.asarray(affine, dtype=float), same_points, order=0)
    fill = data.min()
    normals = np.asarray(scalp.mesh.vertex_normals, dtype=float)
    removed = np.ones(len(vertices), dtype=bool)
    for distance_mm in OUTSIDE_SAMPLES_MM:
        points = vertices + distance_mm * normals
        removed &= (edge_distance_mm(data.shape, affine, points) > 0) & (image(points) == fill)
    if not MIN_PATCH_VERTICES <= removed.sum() <= MAX_REMOVED_FRACTION * len(vertices):
        return np.empty((0, 3))
    deep = colin_head_distance_mm(native_to_colin(vertices)) < -MIN_DEPTH_IN_TEMPLATE_HEAD_MM
    edges = np.asarray(scalp.mesh.edges_unique)
    stretch = _connected_labels(edges, removed)
    count = np.bincount(stretch[removed], minlength=stretch.max() + 1)
    deep_share = np.bincount(stretch[removed], weights=deep[removed], minlength=len(count)) / np.maximum(count, 1)
    removed &= deep & (deep_share[stretch] >= MIN_DEEP_SHARE)
    if removed.sum() < MIN_PATCH_VERTICES:
        return np.empty((0, 3))
    patch = _connected_labels(edges, removed)
    sizes = np.bincount(patch[removed], minlength=patch.max() + 1)
    return vertices[removed & (sizes[patch] >= MIN_PATCH_VERTICES)]


def _connected_labels(edges: np.ndarray, members: np.ndarray) -> np.ndarray:
    """A label per mesh vertex: members joined by mesh edges share one (every other vertex
    has a label of its own)."""
    edges = edges[members[edges].all(axis=1)]
    graph = sparse.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(len(members),) * 2)
    return csgraph.connected_components(graph, directed=False)[1]
