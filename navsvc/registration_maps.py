"""What a registration gives: the maps between the patient (native RAS), Colin27's head
and ICBM MNI space, read from ANTs' transform files (:mod:`navsvc.registration` makes them).

:class:`HeadAlignment` is the head stage's affine alone, known before the brain stage's SyN
ends; :class:`Registration` adds the brain stage's maps to and from MNI. Points go to ANTs
in LPS (ITK physical space) and come back as RAS.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from navsvc.antspy import ants
from navsvc.coords import as_points, lps_to_ras, ras_to_lps, turn_deg
from navsvc.grid import WorkingImage
from navsvc.point_maps import PointChain, transform_files

#: central-difference step of the local Jacobian of the MNI-to-native map, mm
JACOBIAN_STEP_MM = 2.0


#: where the head stage's rigid registration started: from the centres of mass with no
#: better start found by the search over orientations; from the centres of mass, kept over
#: the search's result (which ended with lower mutual information); from the search's start
HEAD_STARTS = ("centres of mass", "centres of mass; the search over orientations ran, its result scored lower",
               "search over orientations")


@dataclass(frozen=True)
class HeadAlignment:
    """The head stage's result: the patient's head aligned (affine) to Colin27, known
    before the brain stage's SyN ends."""

    head_affine: str

    @cached_property
    def _points_from_colin(self) -> PointChain:
        return PointChain((self.head_affine,), (False,))

    @cached_property
    def _points_to_colin(self) -> PointChain:
        return PointChain((self.head_affine,), (True,))

    @cached_property
    def _image_from_colin(self) -> ants.ANTsTransform:
        return _composite((self.head_affine,), (True,))

    def colin_to_native(self, points_colin_mm) -> np.ndarray:
        """Map Colin27 head-space points (RAS mm) into native space (affine stage only)."""
        return _map_points(self._points_from_colin, points_colin_mm)

    def native_to_colin(self, points_ras_mm) -> np.ndarray:
        """Map native RAS points (mm) into Colin27 head space (affine stage only)."""
        return _map_points(self._points_to_colin, points_ras_mm)

    def colin_image_to_native(self, image: ants.ANTsImage, grid: WorkingImage, nearest: bool = False) -> np.ndarray:
        """Resample an image defined in Colin27 space onto the native grid (affine stage).

        Parameters
        ----------
        image : ants.ANTsImage
            An image in Colin27 head space (physical space of the Colin27 template files).
        grid : WorkingImage
            The native grid to resample onto (its voxel values are not used).
        nearest : bool
            Nearest-neighbour interpolation (masks, labels) instead of trilinear.

        Returns
        -------
        numpy.ndarray
            Voxels of ``grid``'s shape, in ``image``'s pixel type.
        """
        return _resample(self._image_from_colin, image, grid, nearest)

    def turn_from_upright_deg(self) -> float:
        """How far the patient's head is turned from upright in its image's world, degrees:
        the angle of the rotation nearest to the head stage's linear map from Colin27 (an
        upright, MNI-aligned head) into native space. A few to 25 degrees in scanners."""
        axes_mm = self.colin_to_native(np.vstack([np.zeros(3), 50.0 * np.eye(3)]))
        return turn_deg((axes_mm[1:] - axes_mm[0]).T / 50.0)


@dataclass(frozen=True)
class Registration(HeadAlignment):
    """Transforms between the patient (native RAS) and Colin27 / ICBM (MNI RAS).

    ``to_mni`` / ``from_mni`` are ANTs transform lists in the order
    :func:`ants.apply_transforms` takes them: ``to_mni`` resamples the patient into MNI
    (fixed = MNI, moving = native), ``from_mni`` (with ``from_mni_invert``) resamples MNI
    images onto the patient. Points map with the list that warps images the other way:
    MNI points to native with ``to_mni``, native points to MNI with ``from_mni``.
    """

    to_mni: tuple[str, ...]
    from_mni: tuple[str, ...]
    from_mni_invert: tuple[bool, ...]
    quality_correlation: float
    #: how uneven the head's intensity was (:func:`navsvc.patient_brain.bias_field_spread`)
    bias_field_spread: float = 1.0
    #: where the head stage's rigid registration started (one of :data:`HEAD_STARTS`)
    head_start: str = HEAD_STARTS[0]

    # -- in-memory transforms (each file is read once, not on every mapping) -----
    @cached_property
    def _points_to_mni(self) -> PointChain:
        return PointChain(self.from_mni, self.from_mni_invert)

    @cached_property
    def _points_from_mni(self) -> PointChain:
        return PointChain(self.to_mni, (False,) * len(self.to_mni))

    @cached_property
    def _image_from_mni(self) -> ants.ANTsTransform:
        return _composite(self.from_mni, self.from_mni_invert)

    # -- points ---------------------------------------------------------------
    def mni_to_native(self, points_mni_mm) -> np.ndarray:
        """Map ICBM MNI points (RAS mm) into the patient's native RAS space."""
        # A point maps with the transforms that warp images the other way.
        return _map_points(self._points_from_mni, points_mni_mm)

    def native_to_mni(self, points_ras_mm) -> np.ndarray:
        """Map native RAS points (mm) into ICBM MNI space."""
        return _map_points(self._points_to_mni, points_ras_mm)

    def jacobian_determinant_from_mni(self, points_mni_mm, step_mm: float = JACOBIAN_STEP_MM) -> np.ndarray:
        """Local volume ratio native/MNI of the MNI-to-native map at each point (central
        differences, ``step_mm`` to each side): 1 keeps volume, <= 0 mirrors or folds space.

        Parameters
        ----------
        points_mni_mm : array-like, shape (3,) or (N, 3)
            Points, ICBM MNI RAS mm.
        step_mm : float
            Offset of the differenced points from each point, mm, either way along each
            MNI axis (so the two points of a difference lie ``2 * step_mm`` apart).

        Returns
        -------
        numpy.ndarray, shape (N,)
        """
        points = as_points(points_mni_mm)
        offsets = np.vstack([np.eye(3), -np.eye(3)]) * step_mm
        mapped = self.mni_to_native((points[:, None, :] + offsets[None]).reshape(-1, 3)).reshape(len(points), 6, 3)
        return np.linalg.det((mapped[:, :3] - mapped[:, 3:]) / (2.0 * step_mm))

    # -- images ---------------------------------------------------------------
    def mni_image_to_native(self, image: ants.ANTsImage, grid: WorkingImage, nearest: bool = False) -> np.ndarray:
        """Resample an image defined in ICBM space onto the native working grid.

        Parameters
        ----------
        image : ants.ANTsImage
            An image in ICBM 2009a MNI space (physical space of the ICBM template files).
        grid : WorkingImage
            The native grid to resample onto (its voxel values are not used).
        nearest : bool
            Nearest-neighbour interpolation (masks, labels) instead of trilinear.

        Returns
        -------
        numpy.ndarray
            Voxels of ``grid``'s shape, in ``image``'s pixel type.
        """
        return _resample(self._image_from_mni, image, grid, nearest)

    def save(self, folder: Path) -> dict[str, str]:
        """Copy the transform files into ``folder``; return role -> file name."""
        folder.mkdir(parents=True, exist_ok=True)
        names = {
            "native_to_colin27_affine": (self.head_affine, "native_to_colin27_0GenericAffine.mat"),
            "native_to_mni_affine": (self.to_mni[1], "native_to_mni_0GenericAffine.mat"),
            "native_to_mni_warp": (self.to_mni[0], "native_to_mni_1Warp.nii.gz"),
            "mni_to_native_warp": (self.from_mni[1], "native_to_mni_1InverseWarp.nii.gz"),
        }
        for src, name in names.values():
            shutil.copyfile(src, folder / name)
        return {role: name for role, (_, name) in names.items()}


def _composite(files: tuple[str, ...], invert: tuple[bool, ...]) -> ants.ANTsTransform:
    """The transform list of :func:`ants.apply_transforms` (same order, same meaning) as one
    in-memory ANTs transform, for resampling images."""
    parts = []
    for path, is_affine, inverted in transform_files(files, invert):
        if is_affine:
            affine = ants.read_transform(path)
            parts.append(affine.invert() if inverted else affine)
        else:
            parts.append(ants.transform_from_displacement_field(ants.image_read(path)))
    return ants.compose_ants_transforms(parts)


def _map_points(chain: PointChain, points_ras_mm) -> np.ndarray:
    return lps_to_ras(chain(ras_to_lps(as_points(points_ras_mm))))


def _resample(transform: ants.ANTsTransform, image: ants.ANTsImage, grid: WorkingImage, nearest: bool) -> np.ndarray:
    out = transform.apply_to_image(image, grid.to_ants(), "nearestneighbor" if nearest else "linear")
    return out.numpy()
