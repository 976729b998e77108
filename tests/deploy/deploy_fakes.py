"""Stand-ins for :func:`navsvc.pipeline.make_plan` run by real queue workers.

Workers load the plan function by name (``NAVSVC_PLAN_FUNCTION``), so these run in
the workers' pool processes.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

#: seconds :func:`slow_plan` takes
SLOW_S = 6.0


def quick_plan(t1_path: Path, out_dir: Path, options, progress=None) -> dict:
    """Write a small ``plan.json`` at once."""
    assert Path(t1_path).is_file()
    if progress:
        progress("register")
    plan = {"schema_version": "test", "plan_id": str(uuid.uuid4()),
            "options": options.to_dict(), "pid": os.getpid()}
    (Path(out_dir) / "plan.json").write_text(json.dumps(plan))
    return plan


def slow_plan(t1_path: Path, out_dir: Path, options, progress=None) -> dict:
    """Like :func:`quick_plan`, after :data:`SLOW_S` seconds in stage ``register``."""
    if progress:
        progress("register")
    time.sleep(SLOW_S)
    return quick_plan(t1_path, out_dir, options, progress)


def crash_plan(t1_path: Path, out_dir: Path, options, progress=None) -> dict:
    """End the process abruptly, as a segfault in native code would."""
    if progress:
        progress("register")
    os._exit(3)


def failing_plan(t1_path: Path, out_dir: Path, options, progress=None) -> dict:
    """Fail with an internal error."""
    raise ZeroDivisionError("division by zero in stage 3")


def gil_holding_plan(t1_path: Path, out_dir: Path, options, progress=None) -> dict:
    """Hold the GIL for 3 s (as the ANTs bindings do while registering), then plan."""
    import ctypes

    ctypes.PyDLL(None).sleep(3)  # libc sleep called without releasing the GIL
    return quick_plan(t1_path, out_dir, options, progress)
