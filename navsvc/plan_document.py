"""The plan document (``plan.json``): one builder, versioned, described by a JSON Schema."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from importlib import resources

import numpy as np

from navsvc import __version__, templates
from navsvc.anatomy.tissue import GM_THRESHOLD
from navsvc.coords import ras_to_lps, world_to_voxel
from navsvc.dose import dose_summary
from navsvc.registration_checks import MIN_BRAIN_CORRELATION
from navsvc.landmarks.placement import BeamF3
from navsvc.target.hemisphere import hemisphere
from navsvc.target.individualize import RULE, CorticalTarget
from navsvc.target.strategies import M1_HAND_KNOB_CITATION, M1_HAND_KNOB_MNI_MM, STRATEGIES

SCHEMA_VERSION = "1.3.0"
SCHEMA_FILE = "plan.schema.json"
#: decimals kept for coordinates in mm (0.001 mm is far below any imaging precision)
MM_DECIMALS = 3


def plan_schema() -> dict:
    """The JSON Schema of ``plan.json`` (shipped in ``navsvc/schemas``)."""
    return json.loads(resources.files("navsvc.schemas").joinpath(SCHEMA_FILE).read_text())


def _mm(values) -> list[float]:
    return [round(float(v), MM_DECIMALS) for v in np.asarray(values, float).ravel()]


def _matrix(m: np.ndarray) -> list[list[float]]:
    # 12 decimals: rounding must not spoil orthonormality that exporters check at 1e-6
    return [[round(float(v), 12) for v in row] for row in np.asarray(m)]


def _strategy_block(options, target) -> dict:
    if options.native_ras_mm is not None:
        return {"strategy": "native", "citation": "coordinate chosen by the clinician in native space"}
    if options.mni_mm is not None:
        return {"strategy": "mni", "citation": "coordinate given by the user in ICBM 2009a MNI space"}
    return {"strategy": options.strategy, "citation": STRATEGIES[options.strategy].citation}


def build_plan(*, t1, options, registration, target, cortex_mni_mm, gm_probability, axis_to_target_mm,
               landmarks: dict, beam: BeamF3, five_cm, m1: CorticalTarget, m1_native, m1_scalp,
               m1_scalp_to_cortex_mm: float,
               scalp_to_brain_mm: float, transform_files: dict, scalp_in_image: dict[str, bool],
               field_of_view_cuts_scalp: bool, scalp_removed: bool, noise_pct_of_brain: float | None) -> dict:
    """Assemble the plan document from the pipeline's results (all points native RAS mm).

    ``scalp_in_image`` says, per landmark, whether its scalp is clear of where the image's
    field of view cuts the head (or part of it was removed from the image); without the hand
    knob's scalp there is no dose suggestion.
    """
    cortex = target.cortex.cortex_ras_mm
    entry = target.entry_ras_mm
    d_target = target.scalp_to_cortex_mm
    d_m1 = m1_scalp_to_cortex_mm if scalp_in_image["m1_hand_knob"] else None
    points = {name: {"ras_mm": _mm(p), "method": "10-05 position (Colin27, MNE) projected to scalp"}
              for name, p in landmarks.items()}
    points["beam_f3"] = {"ras_mm": _mm(beam.site_ras_mm), "method": "Beam et al. 2009, tape lengths on scalp"}
    points["five_cm"] = {"ras_mm": _mm(five_cm), "method": "5 cm anterior to M1 scalp point, parasagittal"}
    points["m1_hand_knob"] = {"ras_mm": _mm(m1_scalp), "cortex_ras_mm": _mm(m1.cortex_ras_mm),
                              "mni_mm": _mm(M1_HAND_KNOB_MNI_MM), "citation": M1_HAND_KNOB_CITATION,
                              "method": "scalp point nearest the individualized hand knob (the target's rule, "
                                        "with 15 mm instead of 10: the coordinate lies in the sulcal bank)"}
    for name, point in points.items():
        point["scalp_in_image"] = bool(scalp_in_image[name])
    return {
        "schema_version": SCHEMA_VERSION,
        "navsvc_version": __version__,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "plan_id": uuid.uuid4().hex,
        "coordinate_system": "ras = the patient's NIfTI world (scanner) space, mm; "
                             "mni = ICBM 2009a nonlinear symmetric, mm; lps = ras with x and y negated",
        "input": {
            "sha256": t1.sha256, "format": t1.source_format, "shape": list(t1.shape),
            "voxel_size_mm": _mm(t1.voxel_size_mm), "orientation": list(t1.orientation),
            "affine": _matrix(t1.affine),
            "field_of_view_cuts_scalp": bool(field_of_view_cuts_scalp),
            "scalp_removed": bool(scalp_removed),
            "noise_pct_of_brain": None if noise_pct_of_brain is None else round(float(noise_pct_of_brain), 1),
        },
        "registration": {
            "template": templates.ICBM_NAME,
            "head_template": "Colin27 (MNI305-aligned single-subject head, MRIcron copy)",
            "method": "ANTs: rigid + affine head-to-head (Colin27), then affine + SyN brain-to-brain (ICBM), 2 mm",
            "quality": {"measure": "Pearson correlation of the registered T1 with the template inside the "
                                   "template brain eroded by 6 mm", "value": round(registration.quality_correlation, 4),
                        "threshold": MIN_BRAIN_CORRELATION, "passed": True},
            "transforms": transform_files,
            "seconds": None,
        },
        "target": {
            **_strategy_block(options, target),
            "mni_mm": _mm(target.mni_mm),
            "native_ras_mm": _mm(target.native_ras_mm),
            "cortex_ras_mm": _mm(cortex),
            "cortex_lps_mm": _mm(ras_to_lps(cortex)[0]),
            "cortex_mni_mm": _mm(cortex_mni_mm),
            "cortex_voxel_ijk": [int(v) for v in np.round(world_to_voxel(t1.affine, cortex)[0])],
            "in_grey_matter": bool(gm_probability > GM_THRESHOLD),
            "grey_matter_probability": round(float(gm_probability), 3),
            "hemisphere": hemisphere(cortex_mni_mm),
            "individualization": {"rule": RULE, "method": target.cortex.method,
                                  "shift_mm": round(target.cortex.shift_mm, 2)},
        },
        "entry": {
            "scalp_ras_mm": _mm(entry),
            "scalp_to_cortex_mm": round(d_target, 2),
            "scalp_to_target_mm": round(float(np.linalg.norm(cortex - entry)), 2),
            "inward_normal_ras": _mm(target.inward_normal),
            "scalp_to_brain_mask_mm": round(scalp_to_brain_mm, 1),
            "along_normal": {"scalp_ras_mm": _mm(target.along_normal_entry_ras_mm),
                             "coil_matrix": _matrix(target.along_normal_coil),
                             "description": "scalp point whose normal line passes nearest the target"},
        },
        "coil": {
            "matrix": _matrix(target.coil),
            "centre_ras_mm": _mm(target.coil[:3, 3]),
            "convention": "SimNIBS matsimnibs: columns x, y, z axes and centre; z into the head; "
                          "y along the handle axis, handle points to -y; x = y cross z",
            "distance_to_scalp_mm": float(options.coil_distance_mm),
            "handle_angle_deg": float(options.handle_angle_deg),
            "axis_to_target_mm": round(axis_to_target_mm, 2),
        },
        "landmarks": {
            "points": points,
            "distances_mm": {name: round(float(np.linalg.norm(np.asarray(points[name]["ras_mm"]) - entry)), 1)
                             for name in ("f3", "beam_f3", "five_cm", "fpz", "cz")},
            "beam_measurements_mm": {
                "tragus_tragus": round(beam.tragus_tragus_mm, 1), "nasion_inion": round(beam.nasion_inion_mm, 1),
                "head_circumference": round(beam.head_circumference_mm, 1),
                "x_from_fpz": round(beam.x_from_fpz_mm, 1), "y_from_cz": round(beam.y_from_cz_mm, 1),
            },
        },
        "dose": dose_summary(d_target, d_m1),
        "parameters": options.to_dict(),
    }
