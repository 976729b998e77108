"""The report's scalp figure drawn in its own process (navsvc.report.figure_process)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from navsvc.errors import PipelineError
from navsvc.report.document import render_figures
from navsvc.report.figure_process import REQUEST_FILE, ScalpFigureProcess
from navsvc.report.scalp3d import Marker, render_scalp_views
from report_head import synthetic_inputs, synthetic_plan


@pytest.fixture(scope="module")
def inputs():
    return synthetic_inputs()


@pytest.fixture(scope="module")
def drawn_here(inputs) -> dict:
    return render_figures(synthetic_plan(), inputs)


def test_the_figure_from_the_process_is_the_one_drawn_here(tmp_path, inputs, drawn_here, caplog):
    with caplog.at_level(logging.WARNING), ScalpFigureProcess(tmp_path) as process:
        figures = render_figures(synthetic_plan(), inputs, process)
    assert figures["scalp"] == drawn_here["scalp"]
    assert figures["slices"] == drawn_here["slices"] and figures["registration"] == drawn_here["registration"]
    assert not caplog.records  # drawn by the process, not by the fallback
    assert list(tmp_path.iterdir()) == []  # the request (the patient's scalp) is removed


def test_a_process_that_died_before_the_report_costs_only_time(tmp_path, inputs, drawn_here, caplog):
    with ScalpFigureProcess(tmp_path) as process:
        process._child.kill()
        process._child.wait()
        with caplog.at_level(logging.WARNING):
            figures = render_figures(synthetic_plan(), inputs, process)
    assert figures["scalp"] == drawn_here["scalp"]
    assert any("ended before the report" in r.getMessage() and "draws the scalp figure itself" in r.getMessage()
               for r in caplog.records)
    assert list(tmp_path.iterdir()) == []


def test_a_failure_in_the_process_is_reported_with_its_error(tmp_path, inputs):
    square = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]]) * 80.0
    bad = [Marker("X", np.zeros(3), "not-a-colour", "o", "a colour matplotlib refuses")]
    with ScalpFigureProcess(tmp_path) as process:
        process.submit(square, np.array([[0, 1, 2]]), None, bad)
        with pytest.raises(PipelineError, match=r"scalp-figure process failed \(exit code 1\): ValueError"):
            process.result()
    with pytest.raises(ValueError):  # the same error the parent meets drawing it itself
        render_scalp_views(square, np.array([[0, 1, 2]]), None, bad)
    assert not (tmp_path / REQUEST_FILE).exists()


def test_one_figure_per_process_and_none_without_a_request(tmp_path, inputs):
    with ScalpFigureProcess(tmp_path) as process:
        with pytest.raises(PipelineError, match="submit one first"):
            process.result()
        process.submit(inputs.scalp_vertices_ras_mm, inputs.scalp_faces, None, [])
        assert process.result().startswith(b"\x89PNG")
        with pytest.raises(PipelineError, match="already"):
            process.submit(inputs.scalp_vertices_ras_mm, inputs.scalp_faces, None, [])


def test_a_child_given_no_request_exits_quietly(tmp_path):
    with ScalpFigureProcess(tmp_path) as process:
        # its stdin closed: the parent ended, or drew the figure itself
        output, errors = process._child.communicate(timeout=60)
        assert (process._child.returncode, output, errors) == (0, b"", b"")


def test_leaving_early_kills_the_child_and_removes_the_request(tmp_path, inputs):
    with ScalpFigureProcess(tmp_path) as process:
        process.submit(inputs.scalp_vertices_ras_mm, inputs.scalp_faces, None, [])
        child = process._child
    assert child.returncode is not None
    assert not (tmp_path / REQUEST_FILE).exists()
