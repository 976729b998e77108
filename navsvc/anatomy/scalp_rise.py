"""How far the scalp rises above its own smooth shape near a point: a marker capsule taped to
the skin, or anything else lying on it, is part of the scalp surface the coil is placed on.

Skin over the skull is smooth on the scale of a coil's footprint. Around a scalp point,
rays 1 mm apart over a disk of the coil normal's radius come in along the normal, and each
stops where half the 3 x 3 x 3 voxels around it first reach the head mask's air/tissue
threshold (the mask's own median vote, so that a noisy voxel in the air is not skin;
interpolated between samples 0.25 mm apart), within a voxel of the head mask: the outer
skin as a height field, on the 1 mm image (the 2 mm scalp mesh smooths a small capsule
away). A quadratic surface is fitted to the heights, refitted without those
standing out of it (so a bump does not pull the fit up), and the rise is how far the skin
stands outward of it. The head mask keeps out what does not touch the head (a capsule off
the skin is not part of the scalp, and moves nothing) and noise in the air.

Measured 2026-12-05 (``benchmarks/scalp_marker_caution.py``): at the entry and M1 points of
Colin27 and of its 12 transformed copies (rigid, oblique, warped by 5 mm, resampled, noisy,
biased), the skin rose at most 0.6 mm, and at the noisiest the pipeline accepts (12 %
Rician noise) 1.5 mm; capsules of 6 x 4 mm and larger taped over the entry rose 2.9 mm and
more, so the caution starts at 2 mm. A 5 x 3 mm capsule (0.5 mm: the vote erodes it) is not
found; it moved the entry 3.1 mm. On the 2 mm scalp mesh instead, a 6 x 4 mm capsule rose
no more than skin. The rise tells a marker from skin; it does not say what the marker is,
so the plan cautions, and the entry is measured on the scalp as imaged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from navsvc.anatomy.scalp import NORMAL_PATCH_RADIUS_MM, Scalp, head_threshold
from navsvc.coords import unit
from navsvc.grid import WorkingImage

#: radius of the disk measured around the point, mm (the patch whose plane is the coil's)
RISE_PATCH_RADIUS_MM = NORMAL_PATCH_RADIUS_MM
#: the rays start this far outside the scalp point's plane and end this far inside it, mm
RAY_OUTSIDE_MM, RAY_INSIDE_MM = 12.0, 10.0
#: step along a ray, mm
RAY_STEP_MM = 0.25
#: the skin is where half the 3 x 3 x 3 voxels around a point are tissue (the head mask's vote)
SKIN_VOTE = 0.5
#: heights standing out more than this are left out of the refit, mm
RISE_REFIT_MM = 1.0
#: the rise is the height that this many rays (1 mm apart) reach: 10 mm² of skin, not one ray
RISE_RAYS = 10
#: from this rise on, the plan cautions that something lies on the scalp, mm
RISE_CAUTION_MM = 2.0


@dataclass(frozen=True)
class OuterSkin:
    """What the outer skin is measured on: the working image, the head mask on its own
    grid, and the mask's air/tissue threshold."""

    image: WorkingImage
    near_head: WorkingImage  # 1 within one voxel of the head mask, 0 farther out
    threshold: float

    @classmethod
    def of(cls, image: WorkingImage, mask_grid: WorkingImage, scalp: Scalp) -> OuterSkin:
        """The outer skin of ``image`` (the 1 mm working image) near ``scalp``'s head mask,
        made on ``mask_grid`` (the pipeline's 2 mm grid).

        The mask is grown by one voxel: it only keeps out what does not touch the head,
        and the skin's place comes from the image (the mask's own edge is a 2 mm staircase).

        Parameters
        ----------
        image : WorkingImage
            The image the skin is found in (the pipeline's 1 mm working image).
        mask_grid : WorkingImage
            The image on the grid of ``scalp.head_mask``; its intensities also give the
            air/tissue threshold (:func:`head_threshold`).
        scalp : Scalp
            The scalp surface, for its head mask.

        Returns
        -------
        OuterSkin
        """
        near = ndimage.binary_dilation(scalp.head_mask, structure=ndimage.generate_binary_structure(3, 1))
        return cls(image, mask_grid.with_data(near.astype(np.uint8)), head_threshold(mask_grid))

    def tissue_vote(self, points_ras_mm: np.ndarray) -> np.ndarray:
        """At each point (trilinear), the share of the 3 x 3 x 3 voxels around it at or above
        the air/tissue threshold: the head mask's median vote on the 1 mm image, so that a
        noisy voxel in the air is not skin. 0 outside the image and away from the head."""
        points = points_ras_mm.reshape(-1, 3)
        ijk = (points - self.image.origin_ras_mm) / self.image.spacing_mm
        low = np.clip(np.floor(ijk.min(axis=0)).astype(int) - 2, 0, self.image.data.shape)
        high = np.clip(np.ceil(ijk.max(axis=0)).astype(int) + 3, 0, self.image.data.shape)
        box = self.image.box(low, high)
        vote = box.with_data(ndimage.uniform_filter((box.data >= self.threshold).astype(np.float32), size=3,
                                                    mode="constant"))
        near = self.near_head.sample(points, order=0) > 0
        return np.where(near, vote.sample(points), 0.0).reshape(points_ras_mm.shape[:-1])


@dataclass(frozen=True)
class ScalpRise:
    """How far the scalp rises above its smooth shape near a scalp point, and where."""

    rise_mm: float | None  # None: too few rays met the skin to measure it
    peak_ras_mm: np.ndarray | None  # the skin standing out most (native RAS mm)


def scalp_rise(scalp: Scalp, skin: OuterSkin, point_ras_mm) -> ScalpRise:
    """How far the outer skin rises outward of its smooth shape within
    ``RISE_PATCH_RADIUS_MM`` of a scalp point, and where.

    Parameters
    ----------
    scalp : Scalp
        The scalp surface (its plane around the point sets the rays' direction).
    skin : OuterSkin
        The image the skin is found in.
    point_ras_mm : array (3,)
        A point on the scalp (native RAS mm).

    Returns
    -------
    ScalpRise
        ``rise_mm``: the ``RISE_RAYS``-th largest outward distance of the skin from a
        quadratic surface fitted to the heights that do not stand out (0 when none
        stands out; None when fewer than half the rays met the skin, as where the image
        ends); ``peak_ras_mm``: the skin point farthest out.

    Raises
    ------
    PipelineError
        Too little scalp around the point to fit a plane (:meth:`Scalp.inward_normal`).
    """
    point = np.asarray(point_ras_mm, dtype=np.float64)
    outward = -scalp.inward_normal(point, RISE_PATCH_RADIUS_MM)
    # any two in-plane axes: the full quadratic fits the same surface whichever they are
    first = unit(np.cross(outward, np.eye(3)[int(np.argmin(np.abs(outward)))]))
    second = np.cross(outward, first)
    grid_mm = np.arange(-RISE_PATCH_RADIUS_MM, RISE_PATCH_RADIUS_MM + 0.5)
    u, v = (a.ravel() for a in np.meshgrid(grid_mm, grid_mm, indexing="ij"))
    in_disk = u * u + v * v <= RISE_PATCH_RADIUS_MM ** 2
    u, v = u[in_disk], v[in_disk]
    heights = np.arange(RAY_OUTSIDE_MM, -RAY_INSIDE_MM, -RAY_STEP_MM)
    rays = (point + u[:, None, None] * first + v[:, None, None] * second
            + heights[None, :, None] * outward)
    values = skin.tissue_vote(rays)
    tissue = values >= SKIN_VOTE
    met = tissue.any(axis=1) & ~tissue[:, 0]  # a ray starting in tissue never saw the skin
    if met.sum() < len(u) / 2:
        return ScalpRise(None, None)
    u, v, values, tissue = u[met], v[met], values[met], tissue[met]
    skin_at = np.argmax(tissue, axis=1)
    outside, inside = values[np.arange(len(u)), skin_at - 1], values[np.arange(len(u)), skin_at]
    height = heights[skin_at - 1] - (SKIN_VOTE - outside) / (inside - outside) * RAY_STEP_MM
    terms = np.column_stack([np.ones_like(u), u, v, u * u, u * v, v * v])
    fitted = np.ones(len(height), bool)
    for _ in range(4):
        coefficients = np.linalg.lstsq(terms[fitted], height[fitted], rcond=None)[0]
        rise = height - terms @ coefficients
        fitted = rise < RISE_REFIT_MM
    top = int(np.argmax(rise))
    peak = point + u[top] * first + v[top] * second + height[top] * outward
    return ScalpRise(float(max(0.0, np.sort(rise)[-RISE_RAYS])), peak)


def scalp_rise_caution(rise: ScalpRise, site: str, consequence: str) -> str | None:
    """The caution a plan carries when the scalp rises ``RISE_CAUTION_MM`` or more near a
    scalp point it uses; None below that, or when the rise was not measured.

    Parameters
    ----------
    rise : ScalpRise
        :func:`scalp_rise` at the point.
    site : str
        The point, as the caution names it ("the entry point").
    consequence : str
        The sentence saying what was measured on top of the rise there.
    """
    if rise.rise_mm is None or not rise.rise_mm >= RISE_CAUTION_MM:
        return None
    peak = ", ".join(f"{v:.1f}" for v in rise.peak_ras_mm)
    return (f"the scalp rises {rise.rise_mm:.1f} mm above its smooth shape within {RISE_PATCH_RADIUS_MM:g} mm "
            f"of {site}, most at ({peak}) mm RAS: a marker capsule or something else lies on the skin there, "
            f"or the eye, ear or nose is near. {consequence}. Look at the T1 there, and take markers off the "
            "treatment area before the MRI")
