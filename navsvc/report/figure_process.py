"""The report's scalp figure, drawn in a process of its own while the parent draws the others.

The report's three figures take 0.6-0.7 s each at the end of a plan, when the SyN process
has ended and one core idles. The child is started with the plan: it loads numpy and
matplotlib while the parent loads the T1, then waits. At the report the parent writes the
scalp mesh, coil and target to one ``.npz`` file (no pickle: the child runs no code it is
sent) and sends one JSON line naming it, with the markers; the child answers with the PNG
drawn by the function the parent would call, :func:`navsvc.report.scalp3d.render_scalp_views`,
so the figure is the same byte for byte. A child that fails or died costs only time: the
caller draws the figure itself (:func:`navsvc.report.document.render_figures`).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from navsvc.child_process import RequestChild, last_error_line
from navsvc.errors import PipelineError
from navsvc.process_memory import reuse_freed_memory

#: file (in the report's folder) that carries the figure's arrays to the child; removed once read
REQUEST_FILE = ".scalp_figure_request.npz"
#: the first bytes of every PNG file
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ScalpFigureProcess(RequestChild):
    """A child process ready to draw one scalp figure (use as a context manager).

    Leaving the ``with`` block before :meth:`result` has returned kills the child.

    Parameters
    ----------
    work_dir : Path
        An existing folder private to this plan: receives the request file for as long as
        the child needs it (the scalp mesh describes the patient's face).
    """

    def __init__(self, work_dir: Path) -> None:
        super().__init__("navsvc.report.figure_process")
        self._request_file = Path(work_dir) / REQUEST_FILE
        self._submitted = False

    def __exit__(self, *exc_info) -> None:
        super().__exit__(*exc_info)
        self._remove_request()

    def submit(self, vertices_ras_mm, faces, coil_matrix, markers, target_ras_mm=None) -> None:
        """Send the figure to the child, which draws it at once; :meth:`result` waits for it.

        Parameters
        ----------
        vertices_ras_mm, faces, coil_matrix, markers, target_ras_mm
            As :func:`navsvc.report.scalp3d.render_scalp_views` takes them.

        Raises
        ------
        PipelineError
            A figure was sent already, or the child has ended.
        """
        if self._submitted:
            raise PipelineError("this figure process has drawn its figure already: start one per report")
        if self._child.poll() is not None:
            raise PipelineError(_failure("ended before the report", self._child.returncode,
                                         self._child.communicate()[1]))
        self._submitted = True
        arrays = {"vertices_ras_mm": np.asarray(vertices_ras_mm, dtype=float), "faces": np.asarray(faces)}
        if coil_matrix is not None:
            arrays["coil_matrix"] = np.asarray(coil_matrix, dtype=float)
        if target_ras_mm is not None:
            arrays["target_ras_mm"] = np.asarray(target_ras_mm, dtype=float)
        with open(self._request_file, "wb") as file:
            np.savez(file, **arrays)
        request = {"arrays": str(self._request_file), "markers": [
            {"label": m.label, "position_ras_mm": np.asarray(m.position_ras_mm, dtype=float).tolist(),
             "colour": m.colour, "symbol": m.symbol, "description": m.description} for m in markers]}
        if not self._send(json.dumps(request)):  # ended between the check above and the request
            raise PipelineError(_failure("ended before the report", self._child.returncode,
                                         self._child.communicate()[1]))

    def result(self) -> bytes:
        """Wait for the figure sent by :meth:`submit`; return its PNG bytes.

        Raises
        ------
        PipelineError
            No figure was sent, or the child failed; the message ends with its last line of
            error output.
        """
        if not self._submitted or self._child.stdin.closed:
            raise PipelineError("this figure process has no figure to draw: submit one first")
        try:
            png, errors = self._child.communicate()
        finally:
            self._remove_request()
        if self._child.returncode != 0 or not png.startswith(PNG_SIGNATURE):
            raise PipelineError(_failure("failed", self._child.returncode, errors))
        return png

    def _remove_request(self) -> None:
        if self._submitted:
            self._request_file.unlink(missing_ok=True)


def _failure(what: str, exit_code: int, errors: bytes) -> str:
    return f"the report's scalp-figure process {what} (exit code {exit_code}): {last_error_line(errors)}"


def _serve_one_request() -> int:
    """The child: load the drawing modules, draw the one figure asked for, print its PNG."""
    reuse_freed_memory()
    from navsvc.report.scalp3d import Marker, render_scalp_views

    text = sys.stdin.readline()
    if not text:
        return 0  # the parent ended or drew the figure itself
    request = json.loads(text)
    with np.load(request["arrays"], allow_pickle=False) as arrays:
        figure = {name: arrays[name] for name in arrays.files}
    markers = [Marker(m["label"], np.array(m["position_ras_mm"]), m["colour"], m["symbol"], m["description"])
               for m in request["markers"]]
    png = render_scalp_views(figure["vertices_ras_mm"], figure["faces"], figure.get("coil_matrix"), markers,
                             target_ras_mm=figure.get("target_ras_mm"))
    sys.stdout.buffer.write(png)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # tearing numpy and matplotlib down would only delay the parent


if __name__ == "__main__":
    sys.exit(_serve_one_request())
