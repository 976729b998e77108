"""The transformed-head record (image + ground-truth point maps) and the real heads."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import nibabel as nib
import numpy as np

from navsvc import templates
from navsvc.coords import as_points, voxel_to_world
from navsvc.io.loader import LoadedT1
from navsvc.io.nifti_orientation import world_space

PointMap = Callable[[np.ndarray], np.ndarray]

#: the intensity of Colin27's cerebrospinal fluid (its grey matter reads about 85, white matter 113)
COLIN_FLUID_VALUE = 30.0


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


def load_colin27_brain_mask() -> np.ndarray:
    """Colin27's brain mask (bool, with its sulcal fluid), from ``atlases/``, on the grid of :func:`load_colin27`."""
    return np.asanyarray(nib.load(str(templates.require(templates.COLIN_BRAIN_MASK))).dataobj) > 0


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
    return LoadedT1(data, affine, digest, "nifti", world_space(img))


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
