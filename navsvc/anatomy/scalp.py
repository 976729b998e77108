"""Head mask and scalp surface (a trimesh mesh with smoothed normals)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import trimesh
from scipy import ndimage
from scipy.spatial import ConvexHull, cKDTree
from skimage import filters, measure

from navsvc.coords import unit
from navsvc.errors import InputError, PipelineError
from navsvc.grid import WorkingImage

#: marching-cubes step, in voxels of the grid it is given (the pipeline passes the 2 mm grid)
MESH_STEP_VOXELS = 1
#: radius of the scalp patch whose best-fit plane gives the coil normal (coil footprint), mm
NORMAL_PATCH_RADIUS_MM = 15.0
#: the smallest piece above the head threshold that may be a scalp around the brain, mL
ENCLOSING_PIECE_MIN_ML = 20.0
#: how often the head threshold may be halved to join a scalp to the brain it encloses
MAX_THRESHOLD_HALVINGS = 2
#: what a refusal for a scalp that cannot be told from the air or the brain asks for
PLAIN_T1_REQUEST = ("Plan on the scanner's plain T1-weighted series of the whole head, without fat suppression "
                    "or intensity windowing")


@dataclass(frozen=True)
class Scalp:
    """The scalp surface in native RAS mm and what is asked of it."""

    mesh: trimesh.Trimesh
    head_mask: np.ndarray

    @cached_property
    def vertices_ras_mm(self) -> np.ndarray:
        """The mesh vertices as a plain array (trimesh re-hashes its arrays on each access)."""
        return np.array(self.mesh.vertices, dtype=np.float64)

    @cached_property
    def _vertex_normals(self) -> np.ndarray:
        return np.array(self.mesh.vertex_normals, dtype=np.float64)

    @cached_property
    def vertex_tree(self) -> cKDTree:
        """KD-tree of the mesh vertices (built once per surface)."""
        return cKDTree(self.vertices_ras_mm)

    @cached_property
    def _triangles(self) -> tuple[np.ndarray, np.ndarray, float]:
        """Triangle corners (F, 3, 3), the faces of each vertex (CSR: order, offsets), longest edge."""
        faces = np.asarray(self.mesh.faces)
        corner_order = np.argsort(faces.ravel(), kind="stable")
        order = corner_order // 3
        offsets = np.searchsorted(faces.ravel()[corner_order], np.arange(len(self.vertices_ras_mm) + 1))
        corners = self.vertices_ras_mm[faces]
        edges = np.linalg.norm(corners - np.roll(corners, 1, axis=1), axis=2)
        return corners, (order, offsets), float(edges.max())

    @cached_property
    def _hull_planes(self) -> np.ndarray:
        """Facets of the surface's convex hull as rows (n, d): n·x + d <= 0 inside, n outward, unit."""
        return ConvexHull(self.vertices_ras_mm).equations

    def depth_below_hull_mm(self, point_ras_mm) -> float:
        """How far a point lies inside the convex hull of the scalp surface, mm (0 on or outside it).

        The skin a coil can touch lies on or near that hull (the head is nearly convex);
        a surface deep inside it is a cavity's wall, not skin.
        """
        planes = self._hull_planes
        point = np.asarray(point_ras_mm, dtype=np.float64).reshape(3)
        return max(0.0, -float((planes[:, :3] @ point + planes[:, 3]).max()))

    @property
    def centre_ras_mm(self) -> np.ndarray:
        """Centre of the head: the area-weighted centroid of the scalp surface (trimesh ``centroid``)."""
        return np.asarray(self.mesh.centroid)

    def nearest_point(self, point_ras_mm) -> np.ndarray:
        """The scalp point nearest ``point_ras_mm`` (on the triangles, not just vertices).

        Exact: the nearest surface point lies on a triangle whose corners are all within
        (distance to the nearest vertex + longest edge) of the point, so only the
        triangles around those vertices are searched.
        """
        point = np.asarray(point_ras_mm, dtype=np.float64).reshape(3)
        corners, (order, offsets), longest_edge_mm = self._triangles
        nearest_vertex_mm, _ = self.vertex_tree.query(point)
        near = np.asarray(self.vertex_tree.query_ball_point(point, nearest_vertex_mm + longest_edge_mm + 1e-9))
        faces = np.unique(np.concatenate([order[offsets[v]:offsets[v + 1]] for v in near]))
        candidates = trimesh.triangles.closest_point(corners[faces], np.repeat(point[None], len(faces), axis=0))
        return candidates[np.argmin(np.linalg.norm(candidates - point, axis=1))]

    def inward_normal(self, point_ras_mm, radius_mm: float = NORMAL_PATCH_RADIUS_MM) -> np.ndarray:
        """Unit normal pointing into the head, from the best-fit plane of the scalp patch.

        The coil is flat and spans a few centimetres, so the plane fitted to the scalp
        under its footprint is a smoother and physically better normal than one
        triangle's (bumpy skin gives bad coil normals).

        Parameters
        ----------
        point_ras_mm : array-like, shape (3,)
            A point on or near the scalp, native RAS mm.
        radius_mm : float
            The patch is every mesh vertex within this distance of the point, mm.

        Returns
        -------
        numpy.ndarray, shape (3,)
            Unit vector in native RAS, on the side opposite the patch's mean vertex normal.

        Raises
        ------
        PipelineError
            Fewer than 6 vertices lie within ``radius_mm`` of the point.
        """
        vertices = self.vertices_ras_mm
        idx = self.vertex_tree.query_ball_point(point_ras_mm, radius_mm)
        patch = vertices[idx]
        if len(patch) < 6:
            raise PipelineError(f"too little scalp within {radius_mm:g} mm of {np.round(point_ras_mm, 1).tolist()} "
                                "mm to fit the coil's plane: the scalp surface is incomplete there")
        centred = patch - patch.mean(axis=0)
        normal = np.linalg.svd(centred, full_matrices=False)[2][-1]
        outward = self._vertex_normals[idx].mean(axis=0)
        if np.dot(normal, outward) > 0:
            normal = -normal
        return unit(normal)


def median3_above(data: np.ndarray, threshold: float) -> np.ndarray:
    """``ndimage.median_filter(data, size=3) > threshold``, computed as a vote.

    The median of the 27 neighbours exceeds the threshold exactly when at least 14 of
    them do: a separable box count gives the same mask about 20 times faster.

    Parameters
    ----------
    data : numpy.ndarray, 3-D
        Image intensities.
    threshold : float
        In the units of ``data``.

    Returns
    -------
    numpy.ndarray of bool
        Same shape as ``data`` (edges reflected, as ``median_filter``'s default).
    """
    above = (data > threshold).astype(np.float32)
    return ndimage.uniform_filter(above, size=3, mode="reflect") * 27.0 > 13.5


def scale_free_otsu(values: np.ndarray) -> float:
    """Otsu's threshold of ``values``, the same for any positive scaling of them.

    skimage's Otsu squares class means weighted by voxel counts in the values' own float
    type: on float32 it overflowed for intensities above about 1e12 and underflowed below
    about 1e-20, and Colin27 scaled so gave another head mask (entry 1.6 mm, nasion 2.4 mm
    away). The values are brought near 1 by a power of two, which is exact in floating
    point, so the threshold of every image in the safe range is unchanged bit for bit.

    Parameters
    ----------
    values : numpy.ndarray
        Finite intensities, at least one of them non-zero.

    Returns
    -------
    float
        The threshold, in the units of ``values``.
    """
    exponent = int(np.frexp(np.max(np.abs(values)))[1])
    scaled = np.ldexp(values, -exponent)
    return float(np.ldexp(filters.threshold_otsu(scaled), exponent))


def head_threshold(t1: WorkingImage) -> float:
    """The air/tissue intensity threshold of the head mask: half Otsu's threshold of the
    image's positive voxels (0 when there are none)."""
    # Otsu over all voxels: a strided subsample is not mirror-symmetric on even-length
    # axes, so a left-right mirrored head got another threshold and another mask.
    positive = t1.data[t1.data > 0]
    return 0.5 * scale_free_otsu(positive) if positive.size else 0.0


def head_mask(t1: WorkingImage) -> np.ndarray:
    """Boolean mask of the head: above the air/tissue threshold, closed, filled, one piece.

    When the largest piece above the threshold is enclosed by another large piece, the
    brain has come apart from the scalp around it: the skin and muscle that join them are
    dimmer than the threshold (another T1 contrast than Colin27's, or another windowing),
    and a mask of that piece alone would put the scalp on the brain. The threshold is then
    halved, up to :data:`MAX_THRESHOLD_HALVINGS` times; a head still in pieces is refused.
    """
    threshold = head_threshold(t1)
    for _ in range(MAX_THRESHOLD_HALVINGS + 1):
        mask, enclosed = _largest_piece(median3_above(t1.data, threshold), t1.spacing_mm)
        if not enclosed:
            break
        threshold *= 0.5
    else:
        raise InputError(
            "the scalp in this image is apart from the brain: the skin and muscle that join them are far "
            "darker than in a T1-weighted image (MPRAGE or SPGR), so the scalp surface and the entry point "
            f"cannot be found. {PLAIN_T1_REQUEST}"
        )
    radius = max(1, int(round(4.0 / t1.spacing_mm)))
    ball = _ball(radius)
    mask = ndimage.binary_closing(np.pad(mask, radius), structure=ball)[radius:-radius, radius:-radius, radius:-radius]
    mask = _fill_holes_by_slice(mask)
    return ndimage.binary_fill_holes(mask)


def _largest_piece(above: np.ndarray, spacing_mm: float) -> tuple[np.ndarray, bool]:
    """The largest connected piece of the mask ``above``, and whether another piece of at
    least :data:`ENCLOSING_PIECE_MIN_ML` encloses it (:func:`_encloses`)."""
    labels, n = ndimage.label(above)
    if n == 0:
        return above, False
    sizes = ndimage.sum(above, labels, index=np.arange(1, n + 1))
    order = np.argsort(-sizes, kind="stable")  # on a tie the first label, as argmax
    largest = labels == (1 + int(order[0]))
    min_voxels = ENCLOSING_PIECE_MIN_ML * 1000.0 / spacing_mm**3
    enclosed = any(_encloses(labels == (1 + int(k)), largest) for k in order[1:] if sizes[k] >= min_voxels)
    return largest, enclosed


def _encloses(piece: np.ndarray, inner: np.ndarray) -> bool:
    """Whether the bounding box of ``piece`` reaches past that of ``inner`` on at least five
    of its six sides (on the sixth, the neck's, a scalp opens or the field of view cuts it).
    Objects beside the head (a phantom, padding, a marker) do not."""
    sides_past = 0
    for axis in range(3):
        others = tuple(a for a in range(3) if a != axis)
        piece_at, inner_at = np.flatnonzero(piece.any(axis=others)), np.flatnonzero(inner.any(axis=others))
        sides_past += int(piece_at[0] < inner_at[0]) + int(piece_at[-1] > inner_at[-1])
    return sides_past >= 5


def _ball(radius: int) -> np.ndarray:
    r = np.arange(-radius, radius + 1)
    return (r[:, None, None] ** 2 + r[None, :, None] ** 2 + r[None, None, :] ** 2) <= radius**2


def _fill_holes_by_slice(mask: np.ndarray) -> np.ndarray:
    # Sinuses, ear canals and dark skull open to the outside: filling axial slices closes them.
    out = mask.copy()
    for k in range(mask.shape[2]):
        out[:, :, k] = ndimage.binary_fill_holes(mask[:, :, k])
    return out


def scalp_surface(t1: WorkingImage, mask: np.ndarray | None = None) -> Scalp:
    """Marching-cubes scalp mesh (native RAS mm), Taubin-smoothed, with vertex normals.

    Parameters
    ----------
    t1 : WorkingImage
        The T1 on a working grid (the pipeline passes its 2 mm grid).
    mask : numpy.ndarray of bool, optional
        The head mask on ``t1``'s grid; None computes it (:func:`head_mask`). The mesh is
        its 0.5 level after a Gaussian blur (sigma 1 mm).

    Returns
    -------
    Scalp
        The largest connected piece of the mesh, and the head mask it came from.

    Raises
    ------
    InputError
        No head in the image: the blurred mask never exceeds 0.5.
    """
    mask = head_mask(t1) if mask is None else mask
    smooth = ndimage.gaussian_filter(mask.astype(np.float32), sigma=1.0 / t1.spacing_mm)
    if not smooth.max() > 0.5:  # marching cubes would fail on a level outside the data
        raise InputError("no head was found in the image: nothing in it stands out from the background "
                         "as a head does. Check the T1 in a viewer")
    verts, faces, _, _ = measure.marching_cubes(
        np.pad(smooth, 1), level=0.5, step_size=MESH_STEP_VOXELS, allow_degenerate=False
    )
    verts = (verts - 1.0) * t1.spacing_mm + t1.origin_ras_mm
    mesh = trimesh.Trimesh(vertices=verts, faces=faces[:, ::-1], process=True)
    mesh = max(mesh.split(only_watertight=False), key=lambda m: len(m.faces))
    trimesh.smoothing.filter_taubin(mesh, lamb=0.5, nu=-0.53, iterations=10)
    if mesh.volume < 0:
        mesh.invert()
    return Scalp(mesh=mesh, head_mask=mask)
