"""The SyN stage's child process: its thread count, its repeatability, its failures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from navsvc.antspy import ants
from navsvc.config import ITK_THREADS_VARIABLE
from navsvc.errors import PipelineError
from navsvc.patient_brain import patient_brain
from navsvc.registration import SYN_ITERATIONS
from navsvc.registration_grid import load_fixed_images
from navsvc.syn_process import SynProcess, syn_threads


@pytest.mark.parametrize("parent, expected", [(None, 2), ("1", 2), ("2", 2), ("4", 4), ("many", 2)])
def test_the_syn_stage_runs_at_least_two_threads_or_the_parents_count(monkeypatch, parent, expected):
    if parent is None:
        monkeypatch.delenv(ITK_THREADS_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(ITK_THREADS_VARIABLE, parent)
    assert syn_threads() == expected


def _identity(path) -> str:
    ants.write_transform(ants.create_ants_transform(transform_type="AffineTransform", dimension=3), str(path))
    return str(path)


def test_two_syn_processes_give_the_same_fields_bit_for_bit(tmp_path):
    # The design rests on this: with 2 threads the SyN is repeatable (the affine stages,
    # which are not, stay single-threaded in the parent).
    identity = _identity(tmp_path / "identity.mat")
    brain = patient_brain(load_fixed_images()[0], identity).image  # Colin27's brain on the 2 mm grid
    fields = []
    for run in ("first", "second"):
        folder = tmp_path / run
        folder.mkdir()
        with SynProcess() as process:
            process.submit(brain, identity, folder, SYN_ITERATIONS)
            result = process.result()
        assert all(str(folder) in path for path in result["fwdtransforms"] + result["invtransforms"])
        fields.append([ants.image_read(result["fwdtransforms"][0]).numpy(), ants.image_read(result["invtransforms"][1]).numpy()])
    assert np.abs(fields[0][0]).max() > 0.5  # the brains differ: the stage did warp
    assert all(np.array_equal(a, b) for a, b in zip(*fields))


def test_a_failed_syn_process_is_a_pipeline_error_with_its_last_error_line(tmp_path):
    brain = ants.from_numpy(np.ones((8, 8, 8), dtype=np.float32), spacing=(2.0, 2.0, 2.0))
    with SynProcess() as process:
        process.submit(brain, str(tmp_path / "no-such-affine.mat"), tmp_path, SYN_ITERATIONS)
        with pytest.raises(PipelineError, match=r"SyN stage failed in its process \(exit code 1\): \w+"):
            process.result()
        with pytest.raises(PipelineError, match="has run its stage already"):
            process.submit(brain, str(tmp_path / "no-such-affine.mat"), tmp_path, SYN_ITERATIONS)
        with pytest.raises(PipelineError, match="no stage to wait for"):
            process.result()


def test_a_syn_process_that_died_before_the_stage_is_a_pipeline_error(tmp_path):
    # e.g. the kernel's out-of-memory killer took it while it loaded
    brain = ants.from_numpy(np.ones((8, 8, 8), dtype=np.float32), spacing=(2.0, 2.0, 2.0))
    with SynProcess() as process:
        os.kill(process.pid, signal.SIGKILL)
        os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)  # until it has ended, not reaped
        with pytest.raises(PipelineError, match=r"ended before the stage in its process \(exit code -9\)"):
            process.submit(brain, _identity(tmp_path / "identity.mat"), tmp_path, SYN_ITERATIONS)


def test_waiting_for_a_stage_never_sent_is_a_pipeline_error():
    with SynProcess() as process:
        with pytest.raises(PipelineError, match="no stage to wait for: submit one first"):
            process.result()


def test_the_stage_runs_while_the_parent_works_and_leaving_early_stops_it(tmp_path):
    # the pipeline builds the anatomy between submit and result
    identity = _identity(tmp_path / "identity.mat")
    brain = patient_brain(load_fixed_images()[0], identity).image
    with pytest.raises(KeyError):
        with SynProcess() as process:
            pid = process.pid
            process.submit(brain, identity, tmp_path, SYN_ITERATIONS)
            deadline = time.monotonic() + 120  # a bound on waiting, not a speed check
            while not (tmp_path / "brain_syn").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert (tmp_path / "brain_syn").exists()  # made by the child as its stage began
            raise KeyError("the parent's work failed")
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped mid-stage


def test_leaving_before_the_syn_stage_ends_the_child():
    # an earlier stage refuses the input: no process is left behind
    with pytest.raises(KeyError):
        with SynProcess() as process:
            pid = process.pid
            raise KeyError("an earlier stage failed")
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # ended and reaped


def test_a_child_whose_parent_sends_nothing_exits_without_output():
    done = subprocess.run([sys.executable, "-m", "navsvc.syn_process"], input="", capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (0, "")
