"""The brain stage's SyN in a process of its own, which runs ITK with more threads.

ITK reads its thread count once per process. The affine stages must run single-threaded
to be repeatable: ITK's Mattes mutual information adds the threads' derivative sums in
the order the threads finish (ITK pull request 6622), and with 2 threads the affines
varied between identical runs enough to move mapped points by up to 0.4 mm. The SyN
stage has no such sum (a displacement field's derivative is per voxel): with 2 threads
its fields were identical bit for bit over three runs on each of five heads, and it took
4.9 instead of 7.7 s. So the SyN runs in a child process with 2 threads (or the parent's
count if higher). The child is started when the registration starts, so its interpreter
and ANTs load while the parent runs the single-threaded head stage on the other core.

The parent sends one JSON request, one line, on the child's stdin (:meth:`SynProcess.submit`)
and builds the native anatomy while the child works (the anatomy needs only the head
stage); :meth:`SynProcess.result` then waits for the child's answer, one JSON object on
stdout. A child whose stdin ends before a request (its parent ended or
gave up) exits without doing anything.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from navsvc.child_process import RequestChild, last_error_line
from navsvc.config import ITK_THREADS_VARIABLE
from navsvc.errors import PipelineError
from navsvc.process_memory import reuse_freed_memory

#: fewest threads of the SyN stage (measured repeatable bit for bit with 2)
SYN_MIN_THREADS = 2
#: file (in the registration's work folder) that carries the moving brain to the child:
#: NRRD keeps the origin and axes in double precision (NIfTI rounds them to float32)
MOVING_BRAIN_FILE = "syn_moving_brain.nrrd"


def syn_threads() -> int:
    """ITK threads of the SyN stage: the parent's (``ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS``,
    which :mod:`navsvc.registration` sets), at least :data:`SYN_MIN_THREADS`."""
    try:
        parent = int(os.environ.get(ITK_THREADS_VARIABLE, "1"))
    except ValueError:  # ITK ignores a value that is not a number
        parent = 1
    return max(SYN_MIN_THREADS, parent)


class SynProcess(RequestChild):
    """A child process ready to run one SyN stage (use as a context manager).

    Starting it costs the parent nothing: the child loads ANTs and the fixed images on its
    own. Leaving the ``with`` block before :meth:`result` has returned (an error in an
    earlier stage, or in work done while the stage ran) kills the child.
    """

    def __init__(self) -> None:
        super().__init__("navsvc.syn_process", env=os.environ | {ITK_THREADS_VARIABLE: str(syn_threads())},
                         text=True)
        self._submitted = False

    def submit(self, moving_brain, initial_transform: str, work_dir: Path, syn_iterations: tuple[int, ...]) -> None:
        """Send the SyN stage to the child, which starts it at once; :meth:`result` waits for it.

        The parent may work in between (the pipeline builds the native anatomy). The child
        writes nothing until the stage ends (ANTs runs quietly), so it never waits on a full
        pipe while the parent works.

        Parameters
        ----------
        moving_brain : ants.ANTsImage
            The patient's brain (see :func:`navsvc.registration.register_brain`).
        initial_transform : str
            The brain affine's transform file.
        work_dir : Path
            The registration's work folder: receives the moving brain and the stage's files.
        syn_iterations : tuple of int
            SyN iterations per level.

        Raises
        ------
        PipelineError
            A stage was sent already, or the child died before it (the message ends with its
            last line of error output).
        """
        if self._submitted:
            raise PipelineError("this SyN process has run its stage already: start one per registration")
        self._submitted = True
        if self._child.poll() is not None:  # died while it loaded (e.g. killed for lack of memory)
            self._died_before_the_stage()
        moving_path = work_dir / MOVING_BRAIN_FILE
        moving_brain.to_file(str(moving_path))
        request = {"moving_brain": str(moving_path), "initial_transform": str(initial_transform),
                   "work_dir": str(work_dir), "syn_iterations": list(syn_iterations)}
        if not self._send(json.dumps(request)):  # died between the check above and the request
            self._died_before_the_stage()

    def result(self) -> dict:
        """Wait for the stage sent by :meth:`submit` and return its transform files.

        Returns
        -------
        dict
            ``fwdtransforms`` and ``invtransforms``, as :func:`ants.registration` gives them.

        Raises
        ------
        PipelineError
            No stage was sent, or the child failed or died; the message ends with its last
            line of error output.
        """
        if not self._submitted or self._child.stdin.closed:
            raise PipelineError("this SyN process has no stage to wait for: submit one first")
        answer, errors = self._child.communicate()
        if errors:
            sys.stderr.write(errors)  # what the stage printed, as if it had run in this process
        try:
            result = json.loads(answer) if self._child.returncode == 0 else None
        except json.JSONDecodeError:
            result = None
        if not isinstance(result, dict):
            raise PipelineError(_failure("failed", self._child.returncode, errors))
        return result

    def _died_before_the_stage(self) -> None:
        _, errors = self._child.communicate()
        raise PipelineError(_failure("ended before the stage", self._child.returncode, errors))


def _failure(what: str, exit_code: int, errors: str) -> str:
    return f"the registration's SyN stage {what} in its process (exit code {exit_code}): {last_error_line(errors)}"


def _serve_one_request() -> int:
    """The child: get ready, run the one stage the parent asks for, print its result."""
    reuse_freed_memory()
    # Imported here, in the child only: this is the load that overlaps the parent's work.
    from navsvc.antspy import ants
    from navsvc.registration import brain_stage_fixed, syn_stage

    fixed = brain_stage_fixed()
    text = sys.stdin.readline()
    if not text:
        return 0  # the parent ended or gave up before the brain stage
    request = json.loads(text)
    result = syn_stage(ants.image_read(request["moving_brain"]), request["initial_transform"],
                       Path(request["work_dir"]), tuple(request["syn_iterations"]), fixed)
    sys.stdout.write(json.dumps({key: list(result[key]) for key in ("fwdtransforms", "invtransforms")}))
    sys.stdout.flush()
    sys.stderr.flush()
    # Leave at once: tearing ANTs and numpy down takes about 0.5 s that the parent would wait.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(_serve_one_request())
