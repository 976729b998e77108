"""The plan document (``plan.json``): one builder, versioned, described by a JSON Schema."""

from __future__ import annotations

import json
import math
import uuid
from datetime import datetime, timezone
from importlib import resources

import numpy as np

from navsvc import __version__, templates
from navsvc.anatomy.scalp_rise import RISE_CAUTION_MM, RISE_PATCH_RADIUS_MM, ScalpRise, scalp_rise_caution
from navsvc.anatomy.tissue import GM_THRESHOLD
from navsvc.coords import ras_to_lps, world_to_voxel
from navsvc.dose import dose_summary
from navsvc.errors import PipelineError
from navsvc.anatomy.field_of_view import ScalpCut
from navsvc.coil import axis_distance_mm, handle_direction_words
from navsvc.landmarks.placement import LandmarkSet
from navsvc.registration_checks import (HEAD_TURN_CAUTION_DEG, MIN_BRAIN_CORRELATION, UNEVEN_INTENSITY_SPREAD,
                                        head_turn_caution, is_uneven_intensity, quality_caution)
from navsvc.target.hemisphere import hemisphere
from navsvc.target.fluid import FLUID_SEARCH_RADIUS_MM, WIDEST_CAUTION_MM, fluid_caution, is_cautioned
from navsvc.target.individualize import RULE
from navsvc.target.results import M1Site, TargetResult
from navsvc.target.strategies import M1_HAND_KNOB_CITATION, M1_HAND_KNOB_MNI_MM, STRATEGIES

SCHEMA_VERSION = "1.12.0"
SCHEMA_FILE = "plan.schema.json"
#: decimals kept for coordinates in mm (0.001 mm is far below any imaging precision)
MM_DECIMALS = 3


def plan_schema() -> dict:
    """The JSON Schema of ``plan.json`` (shipped in ``navsvc/schemas``)."""
    return json.loads(resources.files("navsvc.schemas").joinpath(SCHEMA_FILE).read_text())


def plan_json(plan: dict) -> str:
    """The text of ``plan.json``: strict JSON (RFC 8259), which has no NaN or Infinity.

    Parameters
    ----------
    plan : dict
        The plan document.

    Returns
    -------
    str
        The document, indented by 2.

    Raises
    ------
    PipelineError
        Naming the first value that is not a finite number: a navigator's strict parser
        would refuse the file, and a lenient one would read a coordinate or a dose as NaN.
    """
    try:
        return json.dumps(plan, indent=2, allow_nan=False)
    except ValueError:
        raise PipelineError(f"the plan's value {_first_non_finite(plan, 'plan')} is not a finite number, so no "
                            "plan is written: report this as a bug with the input image") from None


def _first_non_finite(value, path: str) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return path
    children = (value.items() if isinstance(value, dict) else
                enumerate(value) if isinstance(value, (list, tuple)) else ())
    for key, child in children:
        found = _first_non_finite(child, f"{path}.{key}" if isinstance(key, str) else f"{path}[{key}]")
        if found is not None:
            return found
    return None


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


def build_plan(*, t1, options, registration, target: TargetResult, m1: M1Site, landmarks: LandmarkSet,
               cut: ScalpCut, scalp_to_brain_mm: float, noise_pct_of_brain: float | None,
               ghosting_pct_of_brain: float | None, transform_files: dict[str, str]) -> dict:
    """Assemble the plan document from the pipeline's results (all points native RAS mm).

    Parameters
    ----------
    t1 : LoadedT1
        The input image.
    options : PlanOptions
        The target strategy and coil parameters.
    registration : Registration
        Maps the cortical target into MNI space; its quality is reported.
    target : TargetResult
        The individualized target, its scalp entry and coil pose.
    m1 : M1Site
        The motor hand knob; its depth sets the dose suggestion.
    landmarks : LandmarkSet
        Scalp landmarks and, per landmark, whether its scalp is clear of where the image's
        field of view cuts the head or part of it was removed (without the hand knob's
        scalp there is no dose suggestion).
    cut : ScalpCut
        Where the scalp is not the patient's.
    scalp_to_brain_mm : float
        Median scalp-to-brain-mask distance over the upper head (the scalp check).
    noise_pct_of_brain : float or None
        The image's noise, % of the brain's signal.
    ghosting_pct_of_brain : float or None
        The ghosting along the worst voxel axis, % of the brain's signal.
    transform_files : dict of str to str
        Role -> file name of the saved transforms.

    Returns
    -------
    dict
        The plan document, without ``timing_s`` and ``files`` (the pipeline adds them).
    """
    return {
        "schema_version": SCHEMA_VERSION,
        "navsvc_version": __version__,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "plan_id": uuid.uuid4().hex,
        "coordinate_system": "ras = the patient's NIfTI world (scanner) space, mm; "
                             "mni = ICBM 2009a nonlinear symmetric, mm; lps = ras with x and y negated",
        "input": _input_block(t1, cut, noise_pct_of_brain, ghosting_pct_of_brain),
        "registration": _registration_block(registration, transform_files),
        "target": _target_block(t1, options, registration, target),
        "entry": _entry_block(target, scalp_to_brain_mm),
        "coil": _coil_block(target, options),
        "landmarks": _landmarks_block(landmarks, m1, target.entry_ras_mm),
        "dose": dose_summary(target.scalp_to_cortex_mm,
                             m1.scalp_to_cortex_mm if landmarks.scalp_in_image["m1_hand_knob"] else None,
                             fluid_near_sites=_fluid_sites(target, m1)),
        "parameters": options.to_dict(),
    }


def _input_block(t1, cut: ScalpCut, noise_pct_of_brain: float | None, ghosting_pct_of_brain: float | None) -> dict:
    return {
        "sha256": t1.sha256, "format": t1.source_format, "shape": list(t1.shape),
        "voxel_size_mm": _mm(t1.voxel_size_mm), "orientation": list(t1.orientation),
        "affine": _matrix(t1.affine), "world_space": t1.world_space,
        "field_of_view_cuts_scalp": bool(cut.by_field_of_view),
        "scalp_removed": bool(cut.removed),
        "noise_pct_of_brain": None if noise_pct_of_brain is None else round(float(noise_pct_of_brain), 1),
        "ghosting_pct_of_brain": None if ghosting_pct_of_brain is None else round(float(ghosting_pct_of_brain), 1),
    }


def _registration_block(registration, transform_files: dict[str, str]) -> dict:
    turn_deg = registration.turn_from_upright_deg()
    return {
        "template": templates.ICBM_NAME,
        "head_template": "Colin27 (MNI305-aligned single-subject head, MRIcron copy)",
        "method": "ANTs: rigid + affine head-to-head (Colin27), then affine + SyN brain-to-brain (ICBM), 2 mm",
        "quality": {"measure": "Pearson correlation of the registered T1 with the template inside the "
                               "template brain eroded by 6 mm", "value": round(registration.quality_correlation, 4),
                    "threshold": MIN_BRAIN_CORRELATION, "passed": True,
                    "caution": quality_caution(registration.quality_correlation)},
        "head_orientation": {"turn_from_upright_deg": round(turn_deg, 1), "caution_from_deg": HEAD_TURN_CAUTION_DEG,
                             "caution": head_turn_caution(turn_deg)},
        "head_start": registration.head_start,
        "intensity": {"bias_field_spread": round(registration.bias_field_spread, 3),
                      "uneven_from": UNEVEN_INTENSITY_SPREAD,
                      "uneven_corrected": is_uneven_intensity(registration.bias_field_spread)},
        "transforms": transform_files,
        "seconds": None,
    }


def _target_block(t1, options, registration, target: TargetResult) -> dict:
    cortex = target.cortex.cortex_ras_mm
    cortex_mni_mm = registration.native_to_mni(cortex)[0]
    return {
        **_strategy_block(options, target),
        "mni_mm": _mm(target.mni_mm),
        "native_ras_mm": _mm(target.native_ras_mm),
        "cortex_ras_mm": _mm(cortex),
        "cortex_lps_mm": _mm(ras_to_lps(cortex)[0]),
        "cortex_mni_mm": _mm(cortex_mni_mm),
        "cortex_voxel_ijk": [int(v) for v in np.round(world_to_voxel(t1.affine, cortex)[0])],
        "in_grey_matter": bool(target.cortex.gm_probability > GM_THRESHOLD),
        "grey_matter_probability": round(float(target.cortex.gm_probability), 3),
        "hemisphere": hemisphere(cortex_mni_mm),
        "individualization": {"rule": RULE, "method": target.cortex.method,
                              "shift_mm": round(target.cortex.shift_mm, 2)},
        "fluid": _fluid_block(target.fluid_widest_mm, "target"),
    }


def _fluid_block(widest_mm: float, site: str) -> dict:
    return {"widest_mm": round(widest_mm, 1), "within_mm": FLUID_SEARCH_RADIUS_MM, "caution_from_mm": WIDEST_CAUTION_MM,
            "caution": fluid_caution(widest_mm, site, FLUID_SEARCH_RADIUS_MM)}


def _fluid_sites(target: TargetResult, m1: M1Site) -> list[str]:
    """The sites whose depth may cross fluid where the brain should be (see :mod:`navsvc.target.fluid`)."""
    return [site for site, widest_mm in (("target", target.fluid_widest_mm), ("motor hand knob", m1.fluid_widest_mm))
            if is_cautioned(widest_mm)]


def _entry_block(target: TargetResult, scalp_to_brain_mm: float) -> dict:
    entry, cortex = target.entry_ras_mm, target.cortex.cortex_ras_mm
    return {
        "scalp_ras_mm": _mm(entry),
        "scalp_to_cortex_mm": round(target.scalp_to_cortex_mm, 2),
        "scalp_to_target_mm": round(float(np.linalg.norm(cortex - entry)), 2),
        "inward_normal_ras": _mm(target.inward_normal),
        "scalp_to_brain_mask_mm": round(scalp_to_brain_mm, 1),
        "along_normal": {"scalp_ras_mm": _mm(target.along_normal_entry_ras_mm),
                         "coil_matrix": _matrix(target.along_normal_coil),
                         "description": "scalp point whose normal line passes nearest the target"},
        "scalp_rise": _scalp_rise_block(
            target.scalp_rise, "the entry point",
            "The entry point, the coil's position and tilt and the scalp-to-cortex depth are measured on "
            "the scalp as imaged, on top of it"),
    }


def _scalp_rise_block(rise: ScalpRise, site: str, consequence: str) -> dict:
    caution = scalp_rise_caution(rise, site, consequence)
    # below the caution the highest vertex of smooth skin is a tie broken by rounding: not a place
    return {"rise_mm": None if rise.rise_mm is None else round(rise.rise_mm, 2),
            "peak_ras_mm": None if caution is None else _mm(rise.peak_ras_mm),
            "patch_radius_mm": RISE_PATCH_RADIUS_MM, "caution_from_mm": RISE_CAUTION_MM, "caution": caution}


def _coil_block(target: TargetResult, options) -> dict:
    return {
        "matrix": _matrix(target.coil),
        "centre_ras_mm": _mm(target.coil[:3, 3]),
        "convention": "SimNIBS matsimnibs: columns x, y, z axes and centre; z into the head; "
                      "y along the handle axis, handle points to -y; x = y cross z",
        "distance_to_scalp_mm": float(options.coil_distance_mm),
        "handle_angle_deg": float(options.handle_angle_deg),
        "handle_direction_ras": _mm(-target.coil[:3, 1]),
        "handle_points": handle_direction_words(options.handle_angle_deg),
        "axis_to_target_mm": round(axis_distance_mm(target.coil, target.cortex.cortex_ras_mm), 2),
    }


def _landmarks_block(landmarks: LandmarkSet, m1: M1Site, entry_ras_mm: np.ndarray) -> dict:
    beam = landmarks.beam
    points = {name: {"ras_mm": _mm(p), "method": "10-05 position (Colin27, MNE) projected to scalp"}
              for name, p in landmarks.points_ras_mm.items()}
    points["beam_f3"] = {"ras_mm": _mm(beam.site_ras_mm), "method": "Beam et al. 2009, tape lengths on scalp"}
    points["five_cm"] = {"ras_mm": _mm(landmarks.five_cm_ras_mm),
                         "method": "5 cm anterior to M1 scalp point, parasagittal"}
    points["m1_hand_knob"] = {"ras_mm": _mm(m1.scalp_ras_mm), "cortex_ras_mm": _mm(m1.cortex.cortex_ras_mm),
                              "mni_mm": _mm(M1_HAND_KNOB_MNI_MM), "citation": M1_HAND_KNOB_CITATION,
                              "method": "scalp point nearest the individualized hand knob (the target's rule, "
                                        "with 15 mm instead of 10: the coordinate lies in the sulcal bank)",
                              "scalp_rise": _scalp_rise_block(
                                  m1.scalp_rise, "the motor hand knob's scalp point",
                                  "The scalp-to-cortex depth there, and with it the dose suggestion, is measured "
                                  "on the scalp as imaged, on top of it"),
                              "fluid": _fluid_block(m1.fluid_widest_mm, "motor hand knob")}
    for name, point in points.items():
        point["scalp_in_image"] = bool(landmarks.scalp_in_image[name])
    return {
        "points": points,
        "distances_mm": {name: round(float(np.linalg.norm(np.asarray(points[name]["ras_mm"]) - entry_ras_mm)), 1)
                         for name in ("f3", "beam_f3", "five_cm", "fpz", "cz")},
        "beam_measurements_mm": {
            "tragus_tragus": round(beam.tragus_tragus_mm, 1), "nasion_inion": round(beam.nasion_inion_mm, 1),
            "head_circumference": round(beam.head_circumference_mm, 1),
            "x_from_fpz": round(beam.x_from_fpz_mm, 1), "y_from_cz": round(beam.y_from_cz_mm, 1),
        },
    }
