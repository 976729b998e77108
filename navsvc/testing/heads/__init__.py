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
  change (:func:`reorient`, :func:`resample`, :func:`widen_field_of_view`, :func:`add_rician_noise`,
  :func:`multiply_bias_field`, :func:`multiply_receive_coil_profile`, :func:`pad_outside_field_of_view`,
  :func:`raise_to_power`, :func:`brighten_scalp_fat`, :func:`add_motion_ghost`, :func:`move_during_scan`, :func:`deface`,
  :func:`add_fluid_ball`, :func:`widen_sulci`): both maps are the identity;
* the head moves in world space (:func:`rigid`, :func:`oblique_affine`, which change
  only the affine, and :func:`smooth_warp`, which resamples the voxel data), or the brain
  moves inside the head (:func:`shrink_brain`, whose maps are the brain's).

Real heads: :func:`load_colin27` (Colin27 full head, 1 mm, RAS, shipped in
``atlases/``, with its brain mask, :func:`load_colin27_brain_mask`) and :func:`load_icbm_template` (ICBM 2009a, brain only, from nilearn).
"""

from __future__ import annotations

from navsvc.testing.heads.affine import mirror_left_right, move_in_world, oblique_affine, rigid
from navsvc.testing.heads.atrophy import shrink_brain, widen_sulci
from navsvc.testing.heads.base import (
    COLIN_FLUID_VALUE,
    PointMap,
    TransformedHead,
    as_loaded_t1,
    grid_centre_ras_mm,
    image_data,
    load_colin27,
    load_colin27_brain_mask,
    load_icbm_template,
)
from navsvc.testing.heads.deface import deface
from navsvc.testing.heads.intensity import (
    add_rician_noise,
    bias_field,
    brighten_scalp_fat,
    multiply_bias_field,
    multiply_receive_coil_profile,
    pad_outside_field_of_view,
    raise_to_power,
    robust_max,
)
from navsvc.testing.heads.lesion import add_fluid_ball
from navsvc.testing.heads.markers import add_capsule, add_marker, weighted_centroid_ras_mm
from navsvc.testing.heads.motion import add_motion_ghost, move_during_scan
from navsvc.testing.heads.orientation import all_orientations, orientation_label, reorient
from navsvc.testing.heads.resampling import resample, widen_field_of_view
from navsvc.testing.heads.warp import WARP_MAX_LIPSCHITZ, SinusoidalWarp, smooth_warp

__all__ = [
    "COLIN_FLUID_VALUE", "PointMap", "TransformedHead", "add_capsule", "add_fluid_ball", "add_marker", "add_motion_ghost", "add_rician_noise", "all_orientations", "as_loaded_t1",
    "bias_field", "brighten_scalp_fat", "deface", "grid_centre_ras_mm", "image_data", "load_colin27", "load_colin27_brain_mask", "load_icbm_template", "mirror_left_right",
    "move_during_scan", "move_in_world", "multiply_bias_field", "multiply_receive_coil_profile", "oblique_affine", "orientation_label", "pad_outside_field_of_view",
    "raise_to_power", "reorient", "resample",
    "rigid", "robust_max", "shrink_brain", "smooth_warp", "SinusoidalWarp", "WARP_MAX_LIPSCHITZ", "weighted_centroid_ras_mm", "widen_field_of_view", "widen_sulci",
]
