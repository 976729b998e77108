"""Ground-truth transformations of real heads, for tests and benchmarks.

Every transformation takes a NIfTI image of a head and returns a
:class:`TransformedHead`: a new in-memory NIfTI image **and** the two point maps
between the world (NIfTI RAS, mm) coordinates of the original and of the new image:

* ``original_to_new(p)``: where the anatomy found at world point ``p`` of the
  original image lies in the world space of the new image;
* ``new_to_original(q)``: the inverse.

A test runs the pipeline on the new image and compares its world-space outputs with
``original_to_new`` applied to the outputs on the original (or to a known position).

Two kinds of transformation:

* the head stays where it is in world space, only the voxel grid or the intensities
  change (:func:`reorient`, :func:`resample`, :func:`add_rician_noise`,
  :func:`multiply_bias_field`): both maps are the identity;
* the head moves in world space (:func:`rigid`, :func:`oblique_affine`, which change
  only the affine, and :func:`smooth_warp`, which resamples the voxel data).

Real heads: :func:`load_colin27` (Colin27 full head, 1 mm, RAS, shipped in
``atlases/``) and :func:`load_icbm_template` (ICBM 2009a, brain only, from nilearn).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import nibabel as nib
import numpy as np
from nibabel.orientations import apply_orientation, inv_ornt_aff
from scipy import ndimage

from navsvc import templates
from navsvc.coords import apply_affine, as_points, rotation_deg_to_matrix, unit, voxel_to_world, world_to_voxel
from navsvc.io.loader import LoadedT1

PointMap = Callable[[np.ndarray], np.ndarray]

#: fixed-point iterations allowed when inverting a smooth warp
WARP_MAX_ITERATIONS = 2000
#: convergence tolerance of the warp inversion, mm
WARP_TOLERANCE_MM = 1e-6
#: largest bound on the warp displacement's Jacobian norm accepted: below 1 the warp is
#: invertible (no folding) and the fixed-point inversion converges
WARP_MAX_LIPSCHITZ = 0.95


def _identity_map(points_ras_mm) -> np.ndarray:
    return as_points(points_ras_mm).copy()


@dataclass(frozen=True)
class TransformedHead:
    """A transformed copy of a head image and the ground-truth point maps.

    Attributes
    ----------
    image : nibabel.Nifti1Image
        The new image (in memory).
    original_to_new : callable
        ``(N, 3)`` world RAS mm of the original image -> ``(N, 3)`` world RAS mm of the
        same anatomy in ``image``.
    new_to_original : callable
        The inverse map, new world RAS mm -> original world RAS mm.
    description : str
        Human-readable summary, for test ids and benchmark tables.
    world_affine : ndarray (4, 4) or None
        The 4x4 matrix of ``original_to_new`` when that map is affine (identity for
        transformations that do not move the head), else None.
    parameters : dict
        The drawn parameters (angles in degrees, lengths in mm), for logging.
    """

    image: nib.Nifti1Image
    original_to_new: PointMap
    new_to_original: PointMap
    description: str
    world_affine: np.ndarray | None = None
    parameters: dict = field(default_factory=dict)

    def then(self, step: Callable[[nib.Nifti1Image], "TransformedHead"]) -> "TransformedHead":
        """Apply a further transformation to ``image`` and compose the point maps.

        Parameters
        ----------
        step : callable
            Takes a NIfTI image, returns a :class:`TransformedHead` (e.g.
            ``lambda im: add_rician_noise(im, rng, 0.03)``).

        Returns
        -------
        TransformedHead
            The result of ``step``, with maps from this head's *original* world space.
        """
        second = step(self.image)
        first = self
        affine = None
        if first.world_affine is not None and second.world_affine is not None:
            affine = second.world_affine @ first.world_affine
        return TransformedHead(
            image=second.image,
            original_to_new=lambda p: second.original_to_new(first.original_to_new(p)),
            new_to_original=lambda q: first.new_to_original(second.new_to_original(q)),
            description=f"{first.description} + {second.description}",
            world_affine=affine,
            parameters={**first.parameters, **second.parameters},
        )


# ----------------------------------------------------------------------------- sources


def load_colin27() -> nib.Nifti1Image:
    """Colin27 full-head T1 (1 mm, 181x217x181, RAS, MNI305-aligned), from ``atlases/``."""
    return nib.load(str(templates.require(templates.COLIN_HEAD)))


def load_icbm_template() -> nib.Nifti1Image:
    """ICBM 2009a nonlinear symmetric T1 (brain only, 1 mm, RAS), from nilearn's package data."""
    return nib.load(str(templates.require(templates.ICBM_T1)))


def image_data(img: nib.Nifti1Image) -> np.ndarray:
    """The voxel values of ``img`` with the header's scaling applied (dtype kept when unscaled)."""
    return np.asanyarray(img.dataobj)


def as_loaded_t1(img: nib.Nifti1Image) -> LoadedT1:
    """Wrap an in-memory image as the :class:`~navsvc.io.loader.LoadedT1` the pipeline stages take.

    No file is written and no input checks run; ``sha256`` is the checksum of the
    float32 voxel data and the affine.
    """
    data = np.asarray(image_data(img), dtype=np.float32)
    affine = np.asarray(img.affine, dtype=np.float64)
    digest = hashlib.sha256(data.tobytes() + affine.tobytes()).hexdigest()
    return LoadedT1(data, affine, digest, "nifti")


def _new_image(data: np.ndarray, affine: np.ndarray) -> nib.Nifti1Image:
    img = nib.Nifti1Image(data, np.asarray(affine, dtype=np.float64))
    img.header.set_xyzt_units("mm")
    return img


def _grid_world(affine: np.ndarray, ijk: list[np.ndarray]) -> list[np.ndarray]:
    """World RAS mm (x, y, z arrays) of voxel index arrays ``ijk`` (element-wise, no BLAS)."""
    return [affine[d, 0] * ijk[0] + affine[d, 1] * ijk[1] + affine[d, 2] * ijk[2] + affine[d, 3] for d in range(3)]


def grid_centre_ras_mm(img: nib.Nifti1Image) -> np.ndarray:
    """World (RAS mm) position of the centre of the voxel grid of ``img``."""
    centre_ijk = (np.asarray(img.shape[:3], float) - 1.0) / 2.0
    return voxel_to_world(img.affine, centre_ijk)[0]


# ------------------------------------------------------------------- voxel order only


def all_orientations() -> Iterator[tuple[tuple[int, int, int], tuple[bool, bool, bool]]]:
    """The 48 voxel-axis permutations and flips, as ``(perm, flips)`` (identity first).

    See :func:`reorient` for their meaning.
    """
    for perm in itertools.permutations(range(3)):
        for flips in itertools.product((False, True), repeat=3):
            yield tuple(perm), tuple(flips)


def orientation_label(perm, flips) -> str:
    """Short id of an orientation, e.g. ``'p201-f010'`` (for test ids)."""
    return "p" + "".join(str(int(p)) for p in perm) + "-f" + "".join(str(int(bool(f))) for f in flips)


def reorient(img: nib.Nifti1Image, perm, flips) -> TransformedHead:
    """Permute and flip the voxel array, updating the affine so the head stays put in world space.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    perm : sequence of 3 int
        New array axis ``k`` is old array axis ``perm[k]``.
    flips : sequence of 3 bool
        New array axis ``k`` is reversed if ``flips[k]``.

    Returns
    -------
    TransformedHead
        Same voxel values in another order (dtype kept); both point maps are the
        identity: every voxel keeps its world (RAS mm) position.
    """
    perm = tuple(int(p) for p in perm)
    flips = tuple(bool(f) for f in flips)
    if sorted(perm) != [0, 1, 2] or len(flips) != 3:
        raise ValueError(f"perm must be a permutation of (0, 1, 2) and flips 3 booleans, got {perm}, {flips}")
    data = image_data(img)
    # nibabel's orientation: row = input axis, [output axis, +1 keep / -1 reverse]
    ornt = np.zeros((3, 2))
    for new_axis, old_axis in enumerate(perm):
        ornt[old_axis] = [new_axis, -1.0 if flips[new_axis] else 1.0]
    new_data = np.ascontiguousarray(apply_orientation(data, ornt))
    # inv_ornt_aff maps the new array's indices to the old array's indices
    new_affine = np.asarray(img.affine) @ inv_ornt_aff(ornt, data.shape)
    new_img = _new_image(new_data, new_affine)
    axcodes = "".join(nib.aff2axcodes(new_affine))
    return TransformedHead(new_img, _identity_map, _identity_map,
                           f"reorient {orientation_label(perm, flips)} ({axcodes})", np.eye(4),
                           {"perm": perm, "flips": flips, "axcodes": axcodes})


# ------------------------------------------------------------- head moved, affine only


def _about_centre(linear: np.ndarray, centre_ras_mm, translation_mm) -> np.ndarray:
    """4x4 world map ``p -> centre + linear (p - centre) + translation``."""
    matrix = np.eye(4)
    matrix[:3, :3] = linear
    centre = np.asarray(centre_ras_mm, float)
    matrix[:3, 3] = centre - linear @ centre + np.asarray(translation_mm, float)
    return matrix


def move_in_world(img: nib.Nifti1Image, world_affine: np.ndarray, description: str,
                  parameters: dict | None = None) -> TransformedHead:
    """Move the head in world space by a 4x4 by changing only the affine (no resampling).

    The new affine is ``world_affine @ img.affine``: the voxel that was at world point
    ``p`` is now at ``world_affine @ p``.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    world_affine : ndarray (4, 4)
        Invertible map from original world RAS mm to new world RAS mm.
    description : str
        Summary for the result.
    parameters : dict, optional
        Parameters to record.

    Returns
    -------
    TransformedHead
        Same voxel array; maps are ``world_affine`` and its inverse.
    """
    world_affine = np.asarray(world_affine, dtype=np.float64)
    inverse = np.linalg.inv(world_affine)
    new_img = _new_image(image_data(img), world_affine @ np.asarray(img.affine))
    return TransformedHead(
        new_img,
        lambda p: apply_affine(world_affine, p),
        lambda q: apply_affine(inverse, q),
        description, world_affine.copy(), dict(parameters or {}),
    )


def rigid(img: nib.Nifti1Image, rotation_deg=(0.0, 0.0, 0.0), translation_mm=(0.0, 0.0, 0.0),
          centre_ras_mm=None) -> TransformedHead:
    """Rotate and translate the head in world space (affine changed, voxels untouched).

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    rotation_deg : sequence of 3 float
        Rotation about the world x, then y, then z axis, degrees (right-hand rule;
        :func:`navsvc.coords.rotation_deg_to_matrix`).
    translation_mm : sequence of 3 float
        Translation in world RAS mm, applied after the rotation.
    centre_ras_mm : sequence of 3 float, optional
        Centre of rotation, world RAS mm (default: centre of the voxel grid).

    Returns
    -------
    TransformedHead
        ``original_to_new(p) = R (p - c) + c + t``.
    """
    centre = grid_centre_ras_mm(img) if centre_ras_mm is None else np.asarray(centre_ras_mm, float)
    rotation = rotation_deg_to_matrix(*rotation_deg)
    matrix = _about_centre(rotation, centre, translation_mm)
    rot = [round(float(a), 2) for a in rotation_deg]
    shift = [round(float(t), 2) for t in translation_mm]
    return move_in_world(img, matrix, f"rigid rot={rot} deg shift={shift} mm",
                         {"rotation_deg": rot, "translation_mm": shift, "centre_ras_mm": centre.tolist()})


def mirror_left_right(img: nib.Nifti1Image, plane_x_mm: float = 0.0) -> TransformedHead:
    """Mirror the head across the world plane ``x = plane_x_mm`` (affine changed only).

    The patient's left becomes the right: the worst failure a navigation system can
    make, so tests need a head on which it is the *right* answer.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    plane_x_mm : float
        World x of the mirror plane, RAS mm (Colin27's midsagittal plane is about 0).

    Returns
    -------
    TransformedHead
        Maps: ``(x, y, z) -> (2 plane_x_mm - x, y, z)`` (its own inverse).
    """
    matrix = np.diag([-1.0, 1.0, 1.0, 1.0])
    matrix[0, 3] = 2.0 * float(plane_x_mm)
    return move_in_world(img, matrix, f"mirror left-right about x = {plane_x_mm} mm",
                         {"mirror_plane_x_mm": float(plane_x_mm)})


def oblique_affine(img: nib.Nifti1Image, rng: np.random.Generator, max_rot_deg: float = 30.0,
                   max_shift_mm: float = 30.0, max_scale: float = 0.10, max_shear: float = 0.10,
                   centre_ras_mm=None) -> TransformedHead:
    """Random 12-parameter affine move of the head in world space (affine changed only).

    The world map is ``p -> c + R Sh Z (p - c) + t`` with R a rotation of uniform
    random angles in ``[-max_rot_deg, max_rot_deg]`` about x, y, z; Sh an upper
    triangular shear with off-diagonal terms uniform in ``[-max_shear, max_shear]``;
    Z = diag of per-axis scales uniform in ``[1 - max_scale, 1 + max_scale]``; t a
    translation uniform in ``[-max_shift_mm, max_shift_mm]`` per axis; c the centre of
    the voxel grid (or ``centre_ras_mm``). The head is really rotated, sheared and
    scaled in world space, so the voxel axes end up oblique and non-orthogonal.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    rng : numpy.random.Generator
        Source of the random parameters.
    max_rot_deg, max_shift_mm, max_scale, max_shear : float
        Bounds of the parameters (degrees, mm, fraction, fraction).
    centre_ras_mm : sequence of 3 float, optional
        Centre of the linear part, world RAS mm.

    Returns
    -------
    TransformedHead
        Maps: the 4x4 above and its inverse.
    """
    angles = rng.uniform(-max_rot_deg, max_rot_deg, 3)
    shift = rng.uniform(-max_shift_mm, max_shift_mm, 3)
    scales = rng.uniform(1.0 - max_scale, 1.0 + max_scale, 3)
    shears = rng.uniform(-max_shear, max_shear, 3)
    shear = np.eye(3)
    shear[0, 1], shear[0, 2], shear[1, 2] = shears
    linear = rotation_deg_to_matrix(*angles) @ shear @ np.diag(scales)
    centre = grid_centre_ras_mm(img) if centre_ras_mm is None else np.asarray(centre_ras_mm, float)
    matrix = _about_centre(linear, centre, shift)
    params = {"rotation_deg": np.round(angles, 2).tolist(), "translation_mm": np.round(shift, 2).tolist(),
              "scales": np.round(scales, 4).tolist(), "shears": np.round(shears, 4).tolist()}
    return move_in_world(img, matrix, f"oblique affine {params}", params)


# ------------------------------------------------------------------ resampled voxels


def resample(img: nib.Nifti1Image, voxel_size_mm=(1.2, 1.2, 1.5)) -> TransformedHead:
    """Resample onto a grid of other voxel sizes along the same axes (world unchanged).

    The new grid keeps the axis directions of ``img`` and covers its field of view
    (voxel edges to voxel edges). Before trilinear interpolation the data are
    smoothed along each axis that gets coarser with a Gaussian of standard deviation
    ``0.4 * sqrt(s**2 - 1)`` old voxels (s = new/old size), roughly the partial-volume
    blur of a scan acquired at the coarser resolution.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    voxel_size_mm : sequence of 3 float
        New voxel edge lengths along the array axes, mm.

    Returns
    -------
    TransformedHead
        float32 data; both point maps are the identity.
    """
    old_mm = np.sqrt((np.asarray(img.affine)[:3, :3] ** 2).sum(axis=0))
    new_mm = np.asarray(voxel_size_mm, dtype=np.float64)
    if new_mm.shape != (3,) or np.any(new_mm <= 0):
        raise ValueError(f"voxel_size_mm must be 3 positive lengths, got {voxel_size_mm}")
    step = new_mm / old_mm  # new voxel step in old voxel units
    shape = np.asarray(img.shape[:3])
    new_shape = tuple(int(n) for n in np.ceil(shape / step - 1e-9))
    # new index j sits at old index step*j + offset: first new voxel centre half a new
    # voxel inside the old grid's first voxel edge (old index -0.5)
    offset = -0.5 + step / 2.0
    new_to_old = np.eye(4)
    new_to_old[:3, :3] = np.diag(step)
    new_to_old[:3, 3] = offset
    data = np.asarray(image_data(img), dtype=np.float32)
    sigma = 0.4 * np.sqrt(np.clip(step**2 - 1.0, 0.0, None))
    if np.any(sigma > 0):
        data = ndimage.gaussian_filter(data, sigma=sigma, mode="nearest")
    new_data = ndimage.affine_transform(data, np.diag(step), offset=offset, output_shape=new_shape,
                                        order=1, mode="nearest")
    new_img = _new_image(new_data.astype(np.float32), np.asarray(img.affine) @ new_to_old)
    sizes = [round(float(v), 3) for v in new_mm]
    return TransformedHead(new_img, _identity_map, _identity_map, f"resample {sizes} mm", np.eye(4),
                           {"voxel_size_mm": sizes})


@dataclass(frozen=True)
class SinusoidalWarp:
    """A smooth displacement field ``u(y)`` in world RAS mm.

    Component ``d`` of the displacement is
    ``amplitude_mm * sin(2 pi (y . direction_d) / wavelength_mm + phase_d)``, so each
    component is bounded by ``amplitude_mm`` and ``|u| <= sqrt(3) * amplitude_mm``.
    """

    amplitude_mm: float
    wavelength_mm: float
    directions: np.ndarray  # (3, 3), row d = unit wave vector of component d
    phases_rad: np.ndarray  # (3,)

    @property
    def lipschitz_bound(self) -> float:
        """Upper bound on the spectral norm of the displacement's Jacobian (dimensionless)."""
        return float(np.sqrt(3.0) * 2.0 * np.pi * self.amplitude_mm / self.wavelength_mm)

    def displacement_mm(self, points_ras_mm) -> np.ndarray:
        """Displacement ``u(y)`` (N, 3) mm at world points ``y`` (N, 3) RAS mm."""
        pts = as_points(points_ras_mm)
        arg = 2.0 * np.pi * (pts @ self.directions.T) / self.wavelength_mm + self.phases_rad
        return self.amplitude_mm * np.sin(arg)

    def new_to_original(self, points_ras_mm) -> np.ndarray:
        """``y -> y + u(y)``: where the anatomy at new-image point ``y`` was in the original."""
        pts = as_points(points_ras_mm)
        return pts + self.displacement_mm(pts)

    def original_to_new(self, points_ras_mm) -> np.ndarray:
        """Inverse of :meth:`new_to_original`: solve ``y + u(y) = p`` by fixed-point iteration.

        Converges because ``u`` is a contraction (:attr:`lipschitz_bound` < 1).
        """
        target = as_points(points_ras_mm)
        y = target.copy()
        for _ in range(WARP_MAX_ITERATIONS):
            y_next = target - self.displacement_mm(y)
            change = np.max(np.abs(y_next - y)) if len(y) else 0.0
            y = y_next
            if change < WARP_TOLERANCE_MM:
                return y
        raise RuntimeError("smooth warp inversion did not converge")


def smooth_warp(img: nib.Nifti1Image, rng: np.random.Generator, amplitude_mm: float = 4.0,
                wavelength_mm: float = 60.0) -> TransformedHead:
    """Deform the head by a smooth random nonlinear warp (voxel data resampled, grid kept).

    The warp is a :class:`SinusoidalWarp` with random wave directions and phases. The
    new image on the original grid is ``new(y) = original(y + u(y))`` (trilinear), i.e.
    ``u`` is a pull-back displacement: the anatomy at new world point ``y`` came from
    ``y + u(y)``. Hence ``new_to_original(y) = y + u(y)`` is explicit and
    ``original_to_new`` is its inverse, computed by fixed-point iteration.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    rng : numpy.random.Generator
        Source of the wave directions and phases.
    amplitude_mm : float
        Peak value of each displacement component, mm (``|u|`` up to ``sqrt(3)`` times).
    wavelength_mm : float
        Wavelength of the sinusoids, mm.

    Returns
    -------
    TransformedHead
        float32 data on the original grid; ``parameters['max_displacement_mm']`` is the
        largest ``|u|`` over the voxels brighter than 10 % of the robust maximum.

    Raises
    ------
    ValueError
        If the warp could fold (``sqrt(3) * 2 pi * amplitude / wavelength`` >= 0.95;
        at the default 60 mm wavelength amplitudes up to 5.2 mm are accepted).
    """
    directions = np.array([unit(v) for v in rng.normal(size=(3, 3))])
    phases = rng.uniform(0.0, 2.0 * np.pi, 3)
    warp = SinusoidalWarp(float(amplitude_mm), float(wavelength_mm), directions, phases)
    if warp.lipschitz_bound >= WARP_MAX_LIPSCHITZ:
        raise ValueError(
            f"warp amplitude {amplitude_mm} mm at wavelength {wavelength_mm} mm could fold the head "
            f"(Jacobian bound {warp.lipschitz_bound:.2f} >= {WARP_MAX_LIPSCHITZ}): lower the amplitude "
            "or lengthen the wavelength"
        )
    data = np.asarray(image_data(img), dtype=np.float32)
    affine = np.asarray(img.affine, dtype=np.float64)
    inv_affine = np.linalg.inv(affine)
    linear_inv = inv_affine[:3, :3]
    out = np.empty(data.shape, dtype=np.float32)
    robust_max_value = robust_max(data[::2, ::2, ::2])
    head_max_sq = 0.0
    # Element-wise on one slab of slices at a time (bounded memory, no BLAS calls on
    # long thin arrays, which are slow when the cores are busy).
    slab = max(1, 400_000 // (data.shape[1] * data.shape[2]))
    for start in range(0, data.shape[0], slab):
        stop = min(start + slab, data.shape[0])
        ijk = np.meshgrid(np.arange(start, stop, dtype=np.float64), np.arange(data.shape[1], dtype=np.float64),
                          np.arange(data.shape[2], dtype=np.float64), indexing="ij")
        y = _grid_world(affine, ijk)
        u = [warp.amplitude_mm * np.sin(2.0 * np.pi / warp.wavelength_mm
                                        * sum(warp.directions[d, e] * y[e] for e in range(3)) + warp.phases_rad[d])
             for d in range(3)]
        # source voxel index: inv(A) (y + u) = ijk + inv(A)[:3, :3] u
        src = np.stack([ijk[e] + sum(linear_inv[e, d] * u[d] for d in range(3)) for e in range(3)])
        out[start:stop] = ndimage.map_coordinates(data, src, order=1, mode="constant", cval=0.0)
        head = data[start:stop] > 0.1 * robust_max_value
        if head.any():
            head_max_sq = max(head_max_sq, float((u[0] ** 2 + u[1] ** 2 + u[2] ** 2)[head].max()))
    max_disp = float(np.sqrt(head_max_sq))
    params = {"amplitude_mm": float(amplitude_mm), "wavelength_mm": float(wavelength_mm),
              "max_displacement_mm": round(max_disp, 3)}
    return TransformedHead(_new_image(out, affine), warp.original_to_new, warp.new_to_original,
                           f"smooth warp {amplitude_mm} mm / {wavelength_mm} mm (max |u| {max_disp:.1f} mm)",
                           None, {**params, "directions": np.round(directions, 6).tolist(),
                                  "phases_rad": np.round(phases, 6).tolist()})


# ---------------------------------------------------------------- intensities only


def robust_max(data: np.ndarray) -> float:
    """99.5th percentile of the voxel values (about the brightest tissue, ignoring outliers)."""
    return float(np.percentile(data, 99.5))


def add_rician_noise(img: nib.Nifti1Image, rng: np.random.Generator, sigma_fraction: float = 0.03) -> TransformedHead:
    """Rician noise, as in a magnitude MR image: ``sqrt((s + n1)^2 + n2^2)``.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    rng : numpy.random.Generator
        Noise source.
    sigma_fraction : float
        Standard deviation of the Gaussian noise ``n1``, ``n2`` in each channel, as a
        fraction of :func:`robust_max` of the image (dimensionless).

    Returns
    -------
    TransformedHead
        float32 data; world unchanged (identity maps); ``parameters['sigma']`` in
        image intensity units.
    """
    if sigma_fraction < 0:
        raise ValueError("sigma_fraction must be >= 0")
    data = np.asarray(image_data(img), dtype=np.float32)
    sigma = float(sigma_fraction) * robust_max(data)
    real = data + rng.normal(0.0, sigma, data.shape).astype(np.float32)
    imag = rng.normal(0.0, sigma, data.shape).astype(np.float32)
    noisy = np.sqrt(real * real + imag * imag)
    return TransformedHead(_new_image(noisy, img.affine), _identity_map, _identity_map,
                           f"rician noise {sigma_fraction:.3f}", np.eye(4),
                           {"sigma_fraction": float(sigma_fraction), "sigma": sigma})


def bias_field(img: nib.Nifti1Image, rng: np.random.Generator, strength: float = 0.3) -> np.ndarray:
    """A smooth random multiplicative field on the voxel grid of ``img``, in ``[1 - strength, 1 + strength]``.

    ``1 + strength * g(q)`` with ``g`` a random polynomial of degree 2 (no constant
    term, standard normal coefficients) of the world coordinates ``q`` normalised to
    ``[-1, 1]`` over the world bounding box of the head (voxels brighter than 10 % of
    :func:`robust_max`; box of the corners of their voxel-index box), scaled so that ``max |g| = 1`` over the head's voxels; outside
    the head the field is clipped to the same range. Built from world coordinates, so
    it is the same field in world space whatever the voxel order.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image (its grid, affine and foreground are used).
    rng : numpy.random.Generator
        Source of the coefficients.
    strength : float
        Largest relative deviation from 1, in ``[0, 1)``.

    Returns
    -------
    ndarray, float32, shape of ``img``
    """
    if not 0.0 <= strength < 1.0:
        raise ValueError(f"strength must be in [0, 1), got {strength}")
    data = np.asarray(image_data(img), dtype=np.float32)
    affine = np.asarray(img.affine, dtype=np.float64)
    shape = data.shape
    head = data > 0.1 * robust_max(data)
    if not head.any():
        head = np.ones(shape, dtype=bool)
    # world bounding box of the corners of the head's voxel-index bounding box
    idx = [np.flatnonzero(head.any(axis=tuple(a for a in range(3) if a != ax))) for ax in range(3)]
    corners = np.array(list(itertools.product(*[(i[0], i[-1]) for i in idx])), float)
    world_corners = apply_affine(affine, corners)
    lo, hi = world_corners.min(axis=0), world_corners.max(axis=0)
    centre, half = (lo + hi) / 2.0, np.maximum((hi - lo) / 2.0, 1e-6)
    exponents = [e for e in itertools.product(range(3), repeat=3) if 1 <= sum(e) <= 2]
    coefficients = rng.normal(size=len(exponents))

    def g_world(points_ras_mm: np.ndarray) -> np.ndarray:
        q = (points_ras_mm - centre) / half
        return sum(c * q[:, 0] ** e[0] * q[:, 1] ** e[1] * q[:, 2] ** e[2] for c, e in zip(coefficients, exponents))

    # World is affine in the voxel index, so g is also a quadratic polynomial of (i, j, k):
    # recover its coefficients exactly from samples, then evaluate it on the grid cheaply.
    sample_ijk = rng.uniform(0.0, 1.0, size=(40, 3)) * (np.asarray(shape) - 1)
    terms = _quadratic_terms(sample_ijk)
    ijk_coefficients = np.linalg.lstsq(terms, g_world(apply_affine(affine, sample_ijk)), rcond=None)[0]
    i, j, k = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij", sparse=True)
    c = ijk_coefficients  # order of _quadratic_terms: 1, i, j, k, ii, jj, kk, ij, ik, jk
    g = (c[0] + c[1] * i + c[4] * i * i) + (c[2] * j + c[5] * j * j + c[7] * i * j) \
        + k * (c[3] + c[6] * k + c[8] * i + c[9] * j)
    peak = np.max(np.abs(g[head]))
    if peak > 0:
        g /= peak
    return np.clip(1.0 + strength * g, 1.0 - strength, 1.0 + strength).astype(np.float32)


def _quadratic_terms(ijk: np.ndarray) -> np.ndarray:
    """Monomials ``1, i, j, k, i^2, j^2, k^2, ij, ik, jk`` of (N, 3) points, as (N, 10)."""
    i, j, k = ijk[:, 0], ijk[:, 1], ijk[:, 2]
    return np.column_stack([np.ones_like(i), i, j, k, i * i, j * j, k * k, i * j, i * k, j * k])


def multiply_bias_field(img: nib.Nifti1Image, rng: np.random.Generator, strength: float = 0.3) -> TransformedHead:
    """Multiply the intensities by a smooth random :func:`bias_field` (world unchanged).

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    rng : numpy.random.Generator
        Source of the field's coefficients.
    strength : float
        The field lies in ``[1 - strength, 1 + strength]``.

    Returns
    -------
    TransformedHead
        float32 data; identity maps.
    """
    field_ = bias_field(img, rng, strength)
    data = np.asarray(image_data(img), dtype=np.float32) * field_
    return TransformedHead(_new_image(data, img.affine), _identity_map, _identity_map,
                           f"bias field {strength:.2f}", np.eye(4), {"bias_strength": float(strength)})


# ------------------------------------------------------------------------- markers


def add_marker(img: nib.Nifti1Image, centre_ras_mm, value: float | None = None,
               half_width_vox: int = 1) -> tuple[nib.Nifti1Image, np.ndarray]:
    """Add a bright cube of ``(2 h + 1)^3`` voxels around the voxel nearest a world point.

    Parameters
    ----------
    img : nibabel.Nifti1Image
        A 3-D image.
    centre_ras_mm : sequence of 3 float
        Wanted marker position, world RAS mm.
    value : float, optional
        Added intensity (default: 5 x :func:`robust_max`).
    half_width_vox : int
        ``h``: the cube spans ``2 h + 1`` voxels per axis.

    Returns
    -------
    image : nibabel.Nifti1Image
        float32 copy with the marker added.
    centre_ras_mm : ndarray (3,)
        World position of the marker's centre voxel (its exact centroid).
    """
    data = np.array(image_data(img), dtype=np.float32)
    ijk = np.round(world_to_voxel(img.affine, centre_ras_mm)[0]).astype(int)
    h = int(half_width_vox)
    if np.any(ijk - h < 0) or np.any(ijk + h >= np.asarray(data.shape)):
        raise ValueError(f"marker at {centre_ras_mm} mm falls outside the image")
    amount = 5.0 * robust_max(data) if value is None else float(value)
    data[ijk[0] - h: ijk[0] + h + 1, ijk[1] - h: ijk[1] + h + 1, ijk[2] - h: ijk[2] + h + 1] += amount
    return _new_image(data, img.affine), voxel_to_world(img.affine, ijk)[0]


def weighted_centroid_ras_mm(weights: np.ndarray, affine: np.ndarray, min_fraction: float = 0.01) -> np.ndarray:
    """World (RAS mm) centroid of the positive ``weights`` (voxels below ``min_fraction`` of the peak ignored)."""
    w = np.asarray(weights, dtype=np.float64)
    keep = w > min_fraction * w.max()
    ijk = np.argwhere(keep).astype(np.float64)
    centroid_ijk = (ijk * w[keep][:, None]).sum(axis=0) / w[keep].sum()
    return voxel_to_world(affine, centroid_ijk)[0]
