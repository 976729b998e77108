"""Stand-ins for :func:`navsvc.pipeline.make_plan` that exercise the job machinery fast.

The worker loads the plan function by its ``module:function`` name
(``NAVSVC_PLAN_FUNCTION``), so these run inside the real child processes.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import tempfile
import time
import uuid
from pathlib import Path

from navsvc.errors import InputError

#: a left-hemisphere coil pose 20 mm outside the fake plan's cortex target, its z axis (into
#: the head, +x) through it: exports refuse a pose that does not point at the target
COIL_MATRIX = [[0.0, 0.0, 1.0, -58.0], [0.0, -1.0, 0.0, 44.0], [1.0, 0.0, 0.0, 26.0],
               [0.0, 0.0, 0.0, 1.0]]


def plan_dict(plan_id: str | None = None) -> dict:
    """Return a small plan with the fields the exports need."""
    return {
        "schema_version": "test",
        "plan_id": plan_id or str(uuid.uuid4()),
        "target": {"strategy": "fox2012", "cortex_ras_mm": [-38.0, 44.0, 26.0]},
        "coil": {"matrix": COIL_MATRIX},
    }


def fake_make_plan(t1_path: Path, out_dir: Path, options, progress=None) -> dict:
    """Write ``plan.json`` and ``report.html`` after reporting two stages."""
    assert Path(t1_path).is_file()
    for stage in ("load", "register"):
        if progress:
            progress(stage)
    plan = plan_dict()
    plan["options"] = options.to_dict()
    (Path(out_dir) / "plan.json").write_text(json.dumps(plan))
    (Path(out_dir) / "report.html").write_text("<html><body>QC report</body></html>")
    return plan


def _partial_outputs(out_dir) -> None:
    """Write what a plan has written when a late stage fails: the patient's transforms."""
    (Path(out_dir) / "transforms").mkdir()
    (Path(out_dir) / "transforms" / "native_to_mni_1Warp.nii.gz").write_bytes(b"patient warp")


def fake_input_error(t1_path, out_dir, options, progress=None) -> dict:
    """Fail as the engine does on an unusable head, after writing partial outputs."""
    _partial_outputs(out_dir)
    raise InputError("the image does not contain a whole head")


def fake_bug(t1_path, out_dir, options, progress=None) -> dict:
    """Fail with an internal error, after writing partial outputs."""
    _partial_outputs(out_dir)
    raise ZeroDivisionError("division by zero in stage 3")


def fake_crash(t1_path, out_dir, options, progress=None) -> dict:
    """End the process abruptly, as a segfault in native code would, after writing
    partial outputs."""
    _partial_outputs(out_dir)
    os._exit(3)


def fake_killed(t1_path, out_dir, options, progress=None) -> dict:
    """Be killed by SIGKILL after writing partial outputs, as the kernel's out-of-memory
    killer ends a process."""
    _partial_outputs(out_dir)
    os.kill(os.getpid(), signal.SIGKILL)


def fake_slow(t1_path, out_dir, options, progress=None) -> dict:
    """Stay in the ``running`` state for a minute, holding a scratch folder in ``out_dir``
    (as the pipeline holds its registration files) that a clean exit deletes."""
    with tempfile.TemporaryDirectory(prefix="scratch-", dir=out_dir):
        if progress:
            progress("register")
        time.sleep(60)
    return fake_make_plan(t1_path, out_dir, options, progress)


def fake_crash_at_exit(t1_path, out_dir, options, progress=None) -> dict:
    """Make a normal plan; the process then dies at interpreter teardown, after the plan
    was stored (as a native library's static destructor may segfault)."""
    plan = fake_make_plan(t1_path, out_dir, options, progress)
    atexit.register(lambda: os.kill(os.getpid(), signal.SIGSEGV))
    return plan
