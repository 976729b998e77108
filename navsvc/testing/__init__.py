"""Test and benchmark support: ground-truth transformations of real heads.

See :mod:`navsvc.testing.heads`. Nothing here is used by the pipeline itself.
"""

from navsvc.testing.heads import (
    SinusoidalWarp,
    TransformedHead,
    add_marker,
    add_rician_noise,
    all_orientations,
    as_loaded_t1,
    bias_field,
    grid_centre_ras_mm,
    image_data,
    load_colin27,
    load_icbm_template,
    mirror_left_right,
    move_in_world,
    multiply_bias_field,
    oblique_affine,
    orientation_label,
    reorient,
    resample,
    rigid,
    robust_max,
    smooth_warp,
    weighted_centroid_ras_mm,
)

__all__ = [
    "SinusoidalWarp",
    "TransformedHead",
    "add_marker",
    "add_rician_noise",
    "all_orientations",
    "as_loaded_t1",
    "bias_field",
    "grid_centre_ras_mm",
    "image_data",
    "load_colin27",
    "load_icbm_template",
    "mirror_left_right",
    "move_in_world",
    "multiply_bias_field",
    "oblique_affine",
    "orientation_label",
    "reorient",
    "resample",
    "rigid",
    "robust_max",
    "smooth_warp",
    "weighted_centroid_ras_mm",
]
