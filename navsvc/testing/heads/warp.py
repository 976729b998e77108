"""Smooth nonlinear warps of the head with an exactly invertible point map."""

from __future__ import annotations

from dataclasses import dataclass

import nibabel as nib
import numpy as np
from scipy import ndimage

from navsvc.coords import as_points, unit
from navsvc.testing.heads.base import TransformedHead, _grid_world, _new_image, image_data
from navsvc.testing.heads.intensity import robust_max


#: fixed-point iterations allowed when inverting a smooth warp
WARP_MAX_ITERATIONS = 2000
#: convergence tolerance of the warp inversion, mm
WARP_TOLERANCE_MM = 1e-6
#: largest bound on the warp displacement's Jacobian norm accepted: below 1 the warp is
#: invertible (no folding) and the fixed-point inversion converges
WARP_MAX_LIPSCHITZ = 0.95


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
