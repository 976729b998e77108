"""The input's voxels on a regular lattice, placed against Colin27's head by the head stage:
where the air around the head lies and where the brain does, for the measures read from the
air (noise, ghosting), sampled and mapped once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from navsvc import templates
from navsvc.anatomy.template_head import colin_head_distance_mm
from navsvc.coords import voxel_to_world
from navsvc.sampling import MappedImage, same_points

#: air is farther than this from Colin27's head carried into the patient, mm (covers
#: differences in head shape the head affine leaves)
AIR_MARGIN_MM = 15.0
#: the input's voxels are sampled on a lattice of about this many points
SAMPLE_POINTS = 400_000


@dataclass(frozen=True)
class AirLattice:
    """Lattice samples of the input, flat in the lattice's C order.

    Attributes
    ----------
    shape : tuple of 3 int
        The lattice's shape (its samples reshape to it).
    values : numpy.ndarray, float64
        The input's voxel values, as loaded (not resampled: interpolation averages noise away).
    head_distance_mm : numpy.ndarray
        Distance from Colin27's head carried into the patient, mm: positive outside, 0 beyond
        Colin27's field of view (neither head nor air).
    in_brain : numpy.ndarray of bool
        Inside Colin27's brain mask carried into the patient.
    """

    shape: tuple[int, int, int]
    values: np.ndarray
    head_distance_mm: np.ndarray
    in_brain: np.ndarray

    @property
    def air(self) -> np.ndarray:
        """Farther than :data:`AIR_MARGIN_MM` outside the head."""
        return self.head_distance_mm > AIR_MARGIN_MM


def air_lattice(data: np.ndarray, affine: np.ndarray, native_to_colin) -> AirLattice:
    """Sample the input on a regular lattice of about :data:`SAMPLE_POINTS` voxels and place
    the samples against Colin27's head and brain.

    Parameters
    ----------
    data : numpy.ndarray, 3-D
        The input T1's voxels, as loaded (ghosts lie along its voxel axes, noise is not yet
        averaged by a resampling).
    affine : numpy.ndarray, shape (4, 4)
        Its voxel-to-RAS affine.
    native_to_colin : callable
        Native RAS points (N, 3) -> Colin27 points (N, 3), mm (the head affine).

    Returns
    -------
    AirLattice
    """
    stride = max(1, int(round((np.prod(data.shape[:3]) / SAMPLE_POINTS) ** (1 / 3))))
    axes = [np.arange(0, n, stride) for n in data.shape[:3]]
    ijk = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    colin_points = np.asarray(native_to_colin(voxel_to_world(affine, ijk)), dtype=float)
    brain_mask = MappedImage.load(templates.require(templates.COLIN_BRAIN_MASK), same_points, order=0)
    return AirLattice(tuple(len(a) for a in axes), data[tuple(ijk.T)].astype(np.float64),
                      colin_head_distance_mm(colin_points), brain_mask(colin_points) > 0)
