"""The report document: its figures drawn, its page written (``report.html``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from navsvc.errors import PipelineError
from navsvc.files import write_atomically
from navsvc.plan_files import REPORT_FILENAME
from navsvc.report import html, registration_check, scalp3d, slices, values
from navsvc.report.figure_process import ScalpFigureProcess
from navsvc.report.inputs import ReportInputs
from navsvc.report.planes import Volume

__all__ = ["ReportInputs", "write_report"]

logger = logging.getLogger(__name__)


#: (landmark key, short label, colour, marker symbol, legend description) of the scalp sites drawn in 3-D.
_SCALP_SITES = (
    ("f3", "F3", "#00b3b3", "o", "virtual 10-20 F3"),
    ("beam_f3", "BF3", "#c020c0", "s", "Beam F3 site"),
    ("five_cm", "5cm", "#2ca02c", "^", "5-cm-rule site"),
    ("cz", "Cz", "white", "o", "vertex"),
    ("nasion", "Nz", "white", "v", "nasion"),
)


def _coil_matrix(plan: Mapping) -> np.ndarray | None:
    matrix = values.lookup(plan, "coil", "matrix")
    try:
        array = np.asarray(matrix, dtype=float)
    except (TypeError, ValueError):
        return None
    if array.shape != (4, 4) or not np.all(np.isfinite(array)):
        return None
    return array


def _scalp_markers(plan: Mapping) -> list[scalp3d.Marker]:
    markers = []
    entry = values.vector3(values.lookup(plan, "entry", "scalp_ras_mm"))
    if entry is not None:
        markers.append(scalp3d.Marker("entry", np.array(entry), slices.ENTRY_COLOUR, "D",
                                      "MRI-guided scalp entry point"))
    for key, label, colour, symbol, description in _SCALP_SITES:
        position = values.vector3(values.lookup(plan, "landmarks", "points", key, "ras_mm"))
        if values.lookup(plan, "landmarks", "points", key, "scalp_in_image") is False:
            description += " (NOT RELIABLE: the image cuts the head here)"
        if position is not None:
            markers.append(scalp3d.Marker(label, np.array(position), colour, symbol, description))
    return markers


def render_figures(plan: Mapping, inputs: ReportInputs,
                   scalp_process: ScalpFigureProcess | None = None) -> dict[str, bytes | None]:
    """PNG figures of the report: ``slices``, ``scalp`` and ``registration``.

    Parameters
    ----------
    plan : mapping
        The plan dictionary.
    inputs : ReportInputs
        The T1, template and DLPFC samplers and the scalp mesh, in the patient's RAS space.
    scalp_process : ScalpFigureProcess, optional
        A process that draws the scalp figure while this one draws the others. If it
        fails, the figure is drawn here (a warning is logged); the figure is the same.

    Returns
    -------
    dict
        PNG bytes per figure; None for a figure the plan lacks the data for.
    """
    target = (values.vector3(values.lookup(plan, "target", "cortex_ras_mm"))
              or values.vector3(values.lookup(plan, "target", "native_ras_mm")))
    entry = values.vector3(values.lookup(plan, "entry", "scalp_ras_mm"))
    mapped = values.vector3(values.lookup(plan, "target", "native_ras_mm"))
    scalp = dict(vertices_ras_mm=inputs.scalp_vertices_ras_mm, faces=inputs.scalp_faces,
                 coil_matrix=_coil_matrix(plan), markers=_scalp_markers(plan),
                 target_ras_mm=None if target is None else np.array(target))
    drawn_elsewhere = scalp_process is not None and _sent(scalp_process, scalp)
    figures: dict[str, bytes | None] = {"slices": None, "registration": None}
    if target is not None:
        t1 = Volume(inputs.t1_img)  # shared: its grey-level window and head box are computed once
        figures["slices"] = slices.render_target_slices(
            t1, inputs.dlpfc_mask, target, entry_ras_mm=entry, mapped_target_ras_mm=mapped)
        figures["registration"] = registration_check.render_registration_check(
            t1, inputs.template, target)
    figures["scalp"] = _received(scalp_process) if drawn_elsewhere else None
    if figures["scalp"] is None:
        figures["scalp"] = scalp3d.render_scalp_views(**scalp)
    return figures


def _sent(process: ScalpFigureProcess, figure: dict) -> bool:
    try:
        process.submit(**figure)
        return True
    except PipelineError as exc:
        logger.warning("%s; the report draws the scalp figure itself", exc)
        return False


def _received(process: ScalpFigureProcess) -> bytes | None:
    try:
        return process.result()
    except PipelineError as exc:
        logger.warning("%s; the report draws the scalp figure itself", exc)
        return None


def write_report(out_dir: Path, plan: dict, inputs: ReportInputs,
                 scalp_process: ScalpFigureProcess | None = None) -> Path:
    """Write the plan's visual QC report, ``out_dir/report.html``.

    The file is self-contained (figures embedded as base64 PNG, inline style, no
    external URL) and written atomically, with the mode the process umask gives
    (0644 under umask 022, 0600 under 077).

    Parameters
    ----------
    out_dir : pathlib.Path
        Directory of the plan; created if missing.
    plan : dict
        The plan dictionary (``plan.json``); missing optional keys show as a dash.
    inputs : ReportInputs
        The patient's T1, the template and left-DLPFC samplers and the scalp mesh.
    scalp_process : ScalpFigureProcess, optional
        A process that draws the scalp figure meanwhile (see :func:`render_figures`).

    Returns
    -------
    pathlib.Path
        Path of the written ``report.html``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    page = html.render_page(plan, render_figures(plan, inputs, scalp_process))
    return write_atomically(out_dir / REPORT_FILENAME, page)
