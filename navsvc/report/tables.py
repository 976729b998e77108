"""The QC report's tables: the plan's points in three coordinate systems, the coil, the
distances and the dose, as HTML with every value escaped."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from navsvc.coil import handle_direction_words
from navsvc.landmarks.montage import LANDMARK_LABELS
from navsvc.report.values import MISSING, esc, fixed_decimals, fmt_number, fmt_vector, lookup, lps_from_ras, vector3

_NAMED_FIRST = {
    "f3": "F3 (10-20, virtual)",
    "beam_f3": "Beam F3 site",
    "five_cm": "5-cm-rule site",
    "m1_hand_knob": "M1 hand knob, scalp point above it",
    "c3": "C3", "cz": "Cz", "fz": "Fz", "f4": "F4", "fpz": "Fpz",
    "nasion": "Nasion", "inion": "Inion",
    "lpa": "Left pre-auricular point (LPA)", "rpa": "Right pre-auricular point (RPA)",
}
#: display names of the plan's landmark keys, in the order the coordinates table lists them:
#: the sites and the 10-20 points near the target first, then the other 10-05 positions by
#: their montage labels (AF3, T7, Oz, ...)
LANDMARK_NAMES = _NAMED_FIRST | {key: label for key, label in LANDMARK_LABELS.items() if key not in _NAMED_FIRST}


def key_value_table(rows: Sequence[tuple[str, str]]) -> str:
    """Two-column table; values must already be escaped."""
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _coordinate_rows(plan: Mapping) -> list[tuple[str, object, object, object]]:
    """(name, RAS, voxel ijk, MNI) for every point the plan reports."""
    rows = [
        ("Cortical target (on the patient's cortex)", lookup(plan, "target", "cortex_ras_mm"),
         lookup(plan, "target", "cortex_voxel_ijk"), lookup(plan, "target", "cortex_mni_mm")),
        ("Point chosen on the patient's MRI" if lookup(plan, "target", "strategy") == "native"
         else "Strategy point mapped to the patient", lookup(plan, "target", "native_ras_mm"), None,
         lookup(plan, "target", "mni_mm")),
        ("Scalp entry point", lookup(plan, "entry", "scalp_ras_mm"), None, None),
    ]
    matrix = lookup(plan, "coil", "matrix")
    centre = None
    if isinstance(matrix, Sequence) and len(matrix) >= 3:
        try:
            centre = [float(matrix[r][3]) for r in range(3)]
        except (TypeError, ValueError, IndexError):
            centre = None
    rows.append(("Coil centre", centre, None, None))
    points = lookup(plan, "landmarks", "points") or {}
    if isinstance(points, Mapping):
        ordered = [k for k in LANDMARK_NAMES if k in points] + sorted(
            str(k) for k in points if k not in LANDMARK_NAMES)
        for key in ordered:
            point = points[key]
            label = LANDMARK_NAMES.get(key, key)
            if lookup(point, "scalp_in_image") is False:
                label += " (NOT RELIABLE: the scalp here is not in the image)"
            if key == "m1_hand_knob" and lookup(point, "cortex_ras_mm") is not None:
                # the MNI coordinate is the cortical hand knob's, not its scalp point's
                rows.append(("M1 hand knob, cortex", lookup(point, "cortex_ras_mm"), None, lookup(point, "mni_mm")))
                rows.append((label, lookup(point, "ras_mm"), lookup(point, "voxel_ijk"), None))
                continue
            rows.append((label, lookup(point, "ras_mm"),
                         lookup(point, "voxel_ijk"), lookup(point, "mni_mm")))
    return rows


def coordinates_table(plan: Mapping) -> str:
    """The coordinates table: native RAS, LPS, input-voxel indices and MNI, mm."""
    header = ("<tr><th>Point</th><th>Native RAS (x, y, z) mm</th><th>Native LPS (x, y, z) mm</th>"
              "<th>Voxel (i, j, k) of the input image</th><th>MNI (x, y, z) mm</th></tr>")
    body = []
    for name, ras, ijk, mni in _coordinate_rows(plan):
        ijk_vector = vector3(ijk)
        ijk_text = MISSING if ijk_vector is None else esc(
            "(" + ", ".join(f"{v:.0f}" for v in ijk_vector) + ")")
        body.append(
            f"<tr><th>{esc(name)}</th><td class='num'>{fmt_vector(ras)}</td>"
            f"<td class='num'>{fmt_vector(lps_from_ras(ras))}</td><td class='num'>{ijk_text}</td>"
            f"<td class='num'>{fmt_vector(mni)}</td></tr>"
        )
    return f"<table>{header}{''.join(body)}</table>"


def coil_table(plan: Mapping) -> str:
    """Coil axes (unit vectors, RAS) and pose parameters."""
    matrix = lookup(plan, "coil", "matrix")
    axes = {}
    if isinstance(matrix, Sequence) and len(matrix) >= 3:
        for column, name in enumerate(("x", "y", "z")):
            try:
                axes[name] = [float(matrix[row][column]) for row in range(3)]
            except (TypeError, ValueError, IndexError):
                axes[name] = None
    handle = None if axes.get("y") is None else [-v for v in axes["y"]]
    rows = [
        ("Coil normal z (into the head), RAS", fmt_vector(axes.get("z"), 3)),
        ("Handle direction (−y), RAS", fmt_vector(handle, 3)),
        ("Coil x axis (wing to wing), RAS", fmt_vector(axes.get("x"), 3)),
        ("Coil centre to scalp", fmt_number(lookup(plan, "coil", "distance_to_scalp_mm"), 1, " mm")),
        ("Handle angle from the midsagittal direction", _handle_angle_text(lookup(plan, "coil", "handle_angle_deg"))),
    ]
    return key_value_table(rows)


def _handle_angle_text(angle) -> str:
    """``45° (posterior and lateral)``, escaped; a dash when missing."""
    text = fmt_number(angle, 0, "°")
    try:
        return f"{text} ({esc(handle_direction_words(float(angle)))})"
    except (TypeError, ValueError):
        return text


def distances_table(plan: Mapping) -> str:
    """Distances of the scalp-measurement sites and the scalp-to-cortex distance."""
    distances = lookup(plan, "landmarks", "distances_mm") or {}
    rows = [
        ("Scalp entry → cortical surface (scalp-to-cortex)",
         fmt_number(lookup(plan, "entry", "scalp_to_cortex_mm"), 1, " mm")),
        ("Scalp entry → cortical target", fmt_number(lookup(plan, "entry", "scalp_to_target_mm"), 1, " mm")),
        ("F3 (10-20) → MRI-guided scalp entry", fmt_number(lookup(distances, "f3"), 1, " mm")),
        ("Beam F3 site → MRI-guided scalp entry", fmt_number(lookup(distances, "beam_f3"), 1, " mm")),
        ("5-cm-rule site → MRI-guided scalp entry", fmt_number(lookup(distances, "five_cm"), 1, " mm")),
    ]
    return key_value_table(rows)


def dose_headline(plan: Mapping) -> str:
    """``MT + 4.2 %MSO`` / ``MT − 3.0 %MSO``, escaped; a dash when missing."""
    try:
        offset = float(lookup(plan, "dose", "mt_offset_pct_mso"))
    except (TypeError, ValueError):
        return MISSING
    if not math.isfinite(offset):
        return MISSING
    return esc(f"MT {'−' if offset < 0 else '+'} {fixed_decimals(abs(offset), 1)} %MSO")


def dose_block(plan: Mapping) -> str:
    """The scalp-to-cortex dose suggestion (Stokes et al. 2005, 2007)."""
    dose = lookup(plan, "dose") or {}
    headline = dose_headline(plan)
    rows = [
        ("Suggested intensity (MT = the patient's motor threshold)", f"<b>{headline}</b>"),
        ("Offset", fmt_number(lookup(dose, "mt_offset_pct_mso"), 1, " %MSO")),
        ("Scalp-to-cortex distance at the target (D_target)",
         fmt_number(lookup(dose, "scalp_to_cortex_target_mm"), 1, " mm")),
        ("Scalp-to-cortex distance at M1 (D_M1)",
         fmt_number(lookup(dose, "scalp_to_cortex_m1_mm"), 1, " mm")),
        ("Slope k", fmt_number(lookup(dose, "stokes_slope_pct_mso_per_mm"), 2, " %MSO/mm")),
    ]
    return (key_value_table(rows)
            + "<p class='note'>Adjusted MT = MT + k·(D_target − D_M1) (Stokes et al. 2005, 2007: "
              "about 3 %MSO per mm of extra scalp-to-cortex distance). Each distance runs from "
              "the scalp to the cortical surface, where the line to the target enters grey "
              "matter. A suggestion for the prescribing clinician, not an automatic setting.</p>")
