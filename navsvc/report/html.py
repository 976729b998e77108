"""The HTML page of the QC report: one self-contained file, every value escaped.

The page references nothing outside itself: figures are ``data:`` URIs, the style
sheet is inline and only locally installed system fonts are named.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

from navsvc.anatomy.field_of_view import scalp_not_in_image_text
from navsvc.report import slices
from navsvc.report.tables import (LANDMARK_NAMES, coil_table, coordinates_table, distances_table, dose_block,
                                  dose_headline, key_value_table)
from navsvc.target.hemisphere import LEFT, hemisphere
from navsvc.report.values import (MISSING, esc, fluid_words, fmt_number, fmt_value, fmt_vector, intensity_words,
                                  lookup, plan_cautions, scalp_rise_words, vector3)

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; margin: 0; color: #1b1f24; background: #f4f5f7; }
main { max-width: 1360px; margin: 0 auto; padding: 16px 24px 48px; }
header { background: #123; color: white; padding: 14px 24px; }
header h1 { margin: 0; font-size: 22px; }
header p { margin: 4px 0 0; font-size: 13px; color: #cde; }
section { background: white; border-radius: 6px; padding: 12px 18px; margin: 16px 0;
          box-shadow: 0 1px 3px rgba(0,0,0,.12); }
h2 { font-size: 18px; margin: 4px 0 10px; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
th, td { border: 1px solid #d4d8dd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef1f4; }
td.num { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
         text-align: right; white-space: nowrap; }
img { max-width: 100%; height: auto; display: block; margin: 6px 0; }
.note { font-size: 13px; color: #44505c; }
.warn { background: #fff0f0; border: 2px solid #d00; color: #900; padding: 8px 12px;
        border-radius: 4px; margin: 8px 0; font-weight: 600; }
.ok { color: #0a6b2a; font-weight: 600; }
.bad { color: #b00; font-weight: 600; }
.key { display: grid; grid-template-columns: repeat(auto-fit, minmax(240px, 1fr)); gap: 8px; }
.key div { background: #eef3f8; border-radius: 4px; padding: 8px 10px; }
.key b { display: block; font-size: 12px; color: #44505c; font-weight: 600; }
.key span { font-size: 16px; }
.swatch { display: inline-block; width: 12px; height: 12px; border: 1px solid #333;
          vertical-align: middle; margin-right: 4px; }
code { font-size: 12px; word-break: break-all; }
@media print { body { background: white; } section { box-shadow: none; break-inside: avoid; } }
"""


def png_img(png: bytes | None, alt: str) -> str:
    """An ``<img>`` with the PNG embedded as a data URI, or a note when it is missing.

    Parameters
    ----------
    png : bytes or None
        The image; None or empty bytes count as missing.
    alt : str
        The image's alt text, and what the note names when it is missing (escaped here).

    Returns
    -------
    str
        HTML.
    """
    if not png:
        return f'<p class="warn">{esc(alt)}: not drawn (missing input).</p>'
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def _registration_status(plan: Mapping) -> tuple[str, bool | None]:
    """Text for the registration quality and whether it passed (None when unknown)."""
    quality = lookup(plan, "registration", "quality") or {}
    measure, value, threshold = (lookup(quality, k) for k in ("measure", "value", "threshold"))
    passed = lookup(quality, "passed")
    if not isinstance(passed, bool):
        passed = None
        higher_is_better = isinstance(measure, str) and any(
            word in measure.lower() for word in ("corr", "dice", "overlap"))
        try:
            if higher_is_better:
                passed = float(value) >= float(threshold)
        except (TypeError, ValueError):
            passed = None
    text = f"{esc(measure)} = {fmt_number(value, 3)} (threshold {fmt_number(threshold, 3)})"
    if passed is True:
        text += " <span class='ok'>passed</span>"
    elif passed is False:
        text += " <span class='bad'>BELOW THRESHOLD</span>"
    return text, passed


def warnings(plan: Mapping) -> list[str]:
    """Plain-text warnings a clinician must see before using the plan."""
    found = []
    target_mni = (vector3(lookup(plan, "target", "cortex_mni_mm"))
                  or vector3(lookup(plan, "target", "mni_mm")))
    if target_mni is not None and hemisphere(target_mni) != LEFT:
        found.append(f"The target is NOT in the patient's left hemisphere (MNI x = {target_mni[0]:.1f} mm, not < 0). "
                     "Left-DLPFC plans must have x < 0. Do not use this plan without review.")
    if lookup(plan, "target", "in_grey_matter") is False:
        found.append("The cortical target is not in grey matter.")
    if _registration_status(plan)[1] is False:
        found.append("Registration quality is below its threshold: check the registration figure.")
    found.extend(f"{text[0].upper()}{text[1:]}." for text in plan_cautions(plan))
    points = lookup(plan, "landmarks", "points")
    cut = sorted(LANDMARK_NAMES.get(name, name) for name, point in points.items()
                 if lookup(point, "scalp_in_image") is False) if isinstance(points, Mapping) else []
    if cut:
        why = scalp_not_in_image_text(lookup(plan, "input", "field_of_view_cuts_scalp") is not False,
                                      lookup(plan, "input", "scalp_removed") is True)
        found.append(f"{why[0].upper()}{why[1:]}. These scalp points are not "
                     f"reliable and are marked in the table: {', '.join(cut)}.")
    reason = lookup(plan, "dose", "unavailable_reason")
    if reason:
        found.append(f"No dose suggestion: {reason}.")
    return found


def render_page(plan: Mapping, figures: Mapping[str, bytes | None]) -> str:
    """The whole report page.

    Parameters
    ----------
    plan : mapping
        The plan dictionary (``plan.json``); missing keys are shown as a dash.
    figures : mapping
        PNG bytes (or None) under ``"slices"``, ``"scalp"`` and ``"registration"``.

    Returns
    -------
    str
        The HTML document.
    """
    strategy = lookup(plan, "target", "strategy")
    registration_text, _ = _registration_status(plan)
    warning_html = "".join(f"<div class='warn'>⚠ {esc(w)}</div>" for w in warnings(plan))
    key_facts = [
        ("Strategy", esc(strategy)),
        ("Cortical target, native RAS", fmt_vector(lookup(plan, "target", "cortex_ras_mm"))),
        ("Cortical target, MNI", fmt_vector(lookup(plan, "target", "cortex_mni_mm"))),
        ("Scalp-to-cortex distance", fmt_number(lookup(plan, "entry", "scalp_to_cortex_mm"), 1, " mm")),
        ("Scalp entry point, native RAS", fmt_vector(lookup(plan, "entry", "scalp_ras_mm"))),
        ("Dose suggestion (Stokes)", dose_headline(plan)),
        ("Target in grey matter",
         esc({True: "yes", False: "NO"}.get(lookup(plan, "target", "in_grey_matter")))),
        ("Registration quality", registration_text),
    ]
    key_html = "".join(f"<div><b>{esc(k)}</b><span>{v}</span></div>" for k, v in key_facts)

    parameters = lookup(plan, "parameters")
    parameter_rows = ([(str(k), fmt_value(v)) for k, v in parameters.items()]
                      if isinstance(parameters, Mapping) else [("parameters", MISSING)])
    timing = lookup(plan, "timing_s")
    timing_rows = ([(str(k), fmt_number(v, 1, " s")) for k, v in timing.items()]
                   if isinstance(timing, Mapping) else [("timing", MISSING)])
    input_info = lookup(plan, "input") or {}
    provenance_rows = [
        ("Plan id", esc(lookup(plan, "plan_id"))),
        ("Created", esc(lookup(plan, "created_at"))),
        ("navsvc version", esc(lookup(plan, "navsvc_version"))),
        ("Input SHA-256", f"<code>{esc(lookup(input_info, 'sha256'))}</code>"),
        ("Input shape (voxels)", fmt_value(lookup(input_info, "shape"))),
        ("Input voxel size (mm)", fmt_value(lookup(input_info, "voxel_size_mm"))),
        ("Input orientation (voxel axes)", fmt_value(lookup(input_info, "orientation"))),
        ("Input noise (% of brain signal)", fmt_number(lookup(input_info, "noise_pct_of_brain"), 1)),
        ("Input ghosting (% of brain signal)", fmt_number(lookup(input_info, "ghosting_pct_of_brain"), 1)),
        ("Scalp rise above its smooth shape", esc(scalp_rise_words(plan))),
        ("Fluid where the brain should be", esc(fluid_words(plan))),
        ("Registration template", esc(lookup(plan, "registration", "template"))),
        ("Registration quality", registration_text),
        ("Image intensity", esc(intensity_words(plan))),
        ("Head registration started from", esc(lookup(plan, "registration", "head_start"))),
        ("Registration time", fmt_number(lookup(plan, "registration", "seconds"), 1, " s")),
        ("Target strategy", esc(strategy)),
        ("Strategy source", esc(lookup(plan, "target", "citation"))),
        ("Strategy MNI coordinate", fmt_vector(lookup(plan, "target", "mni_mm"))),
    ]

    swatch = "<span class='swatch' style='background:{}'></span>".format
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rTMS targeting QC report — {esc(lookup(plan, "plan_id"))}</title>
<style>{_STYLE}</style>
</head>
<body>
<header>
<h1>rTMS targeting — visual QC report</h1>
<p>Plan {esc(lookup(plan, "plan_id"))} · created {esc(lookup(plan, "created_at"))} ·
navsvc {esc(lookup(plan, "navsvc_version"))} · strategy {esc(strategy)}</p>
</header>
<main>
{warning_html}
<section>
<h2>Summary</h2>
<div class="key">{key_html}</div>
<p class="note">All coordinates are millimetres in the patient's own scanner space (NIfTI RAS: +x = patient's
right, +y = anterior, +z = superior) unless marked MNI. Review every figure before treatment; the navigation
system's display of the exported pose is the final check.</p>
</section>

<section>
<h2>1. Target on the patient's T1</h2>
<p class="note"><b>Orientation:</b> neurological convention — in the axial (seen from above) and coronal
(seen from behind) slices the <b>patient's left is on the left of the image</b>, unlike the radiological
display of most PACS viewers. Sagittal slices are seen from the patient's left (nose to the left). Every panel
is labelled. {swatch(slices.TARGET_COLOUR)}cortical target, {swatch(slices.DLPFC_COLOUR)}left-DLPFC region,
{swatch(slices.ENTRY_COLOUR)}scalp entry point (projected onto the slice, dashed line to the target),
{swatch(slices.MAPPED_COLOUR)}strategy point mapped to the patient before it was moved onto the cortex.</p>
{png_img(figures.get("slices"), "Tri-planar T1 slices through the target")}
</section>

<section>
<h2>2. Coordinates</h2>
{coordinates_table(plan)}
<p class="note">LPS = RAS with x and y negated (DICOM / ITK convention: use it with navigators loaded with the
DICOM series). Voxel indices refer to the uploaded image. MNI coordinates are in the registration template's
space ({esc(lookup(plan, "registration", "template"))}).</p>
</section>

<section>
<h2>3. Scalp, coil pose and scalp-measurement sites</h2>
{png_img(figures.get("scalp"), "3-D views of the scalp with the coil")}
<p class="note">Coil convention (SimNIBS matsimnibs): z = coil normal into the head, the handle points along −y,
the figure-8 wings lie along x. The black arrows in a corner of each view show where the patient's left (L),
anterior (A) and superior (S) directions point on the screen; sites hidden behind the head are not drawn.</p>
<h3>Coil pose</h3>
{coil_table(plan)}
<h3>Distances</h3>
{distances_table(plan)}
<h3>Dose suggestion</h3>
{dose_block(plan)}
</section>

<section>
<h2>4. Registration check</h2>
<p class="note">Edges of the MNI template ({esc(lookup(plan, "registration", "template"))}), warped into the
patient's space, drawn in magenta over the patient's T1. Good registration: the edges follow the patient's
brain outline, ventricles and major sulci. Quality: {registration_text}.</p>
{png_img(figures.get("registration"), "Registration check: template edges over the patient's T1")}
</section>

<section>
<h2>5. Provenance</h2>
{key_value_table(provenance_rows)}
<h3>Parameters</h3>
{key_value_table(parameter_rows)}
<h3>Timing</h3>
{key_value_table(timing_rows)}
</section>
</main>
</body>
</html>
"""
