"""Stand-ins for :func:`navsvc.pipeline.make_plan` run by real queue workers.

Workers load the plan function by name (``NAVSVC_PLAN_FUNCTION``), so these run in
the workers' pool processes.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from pathlib import Path

#: seconds :func:`slow_plan` takes
SLOW_S = 6.0
#: :func:`gated_plan` (run in a thread of the test process) waits for this ...
GATE = threading.Event()
#: ... and sets this when it got there
AT_GATE = threading.Event()
#: ... and this once it began the stage after the gate
PAST_GATE = threading.Event()


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


def _stall_at_the_gate(progress) -> None:
    """Start stage ``register``, set :data:`AT_GATE` and wait for :data:`GATE` (a worker
    that stopped answering)."""
    if progress:
        progress("register")
    AT_GATE.set()
    GATE.wait(300)


def gated_plan(t1_path: Path, out_dir: Path, options, progress=None) -> dict:
    """Stall in stage ``register`` until :data:`GATE` is set (a worker that stopped
    answering), then start stage ``anatomy`` (setting :data:`PAST_GATE` once it began) and
    write ``plan.json`` and ``report.html`` naming this plan."""
    _stall_at_the_gate(progress)
    if progress:
        progress("anatomy")
    PAST_GATE.set()
    plan = quick_plan(t1_path, out_dir, options)
    (Path(out_dir) / "report.html").write_text(f"<html>report of plan {plan['plan_id']}</html>")
    return plan


def gated_to_the_end_plan(t1_path: Path, out_dir: Path, options, progress=None) -> dict:
    """Stall in stage ``register`` until :data:`GATE` is set, then, with no further stage
    (so no check of the claim), write ``plan.json`` into ``out_dir`` and return the plan:
    a worker that lost its claim during its last stage."""
    _stall_at_the_gate(progress)
    PAST_GATE.set()
    Path(out_dir).mkdir(parents=True, exist_ok=True)  # as make_plan does
    return quick_plan(t1_path, out_dir, options)


def gated_then_failing_plan(t1_path: Path, out_dir: Path, options, progress=None) -> dict:
    """Like :func:`gated_to_the_end_plan`, but after writing a partial output the run
    fails with an internal error."""
    _stall_at_the_gate(progress)
    PAST_GATE.set()
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / "transforms.h5").write_bytes(b"partial")
    raise ZeroDivisionError("division by zero after the last stage")
