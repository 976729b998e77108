"""numpy's page policy in navsvc's processes (navsvc.process_memory)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from navsvc.process_memory import NUMPY_HUGE_PAGES_VARIABLE

# prints whether numpy asks for huge pages, after the given imports
ASK = "from numpy._core.multiarray import _set_madvise_hugepage as s; print(s(False))"


def _huge_pages_after(imports: str, variable: str | None) -> bool:
    env = {k: v for k, v in os.environ.items() if k != NUMPY_HUGE_PAGES_VARIABLE}
    if variable is not None:
        env[NUMPY_HUGE_PAGES_VARIABLE] = variable
    done = subprocess.run([sys.executable, "-c", f"{imports}; {ASK}"], env=env,
                          capture_output=True, text=True, check=True)
    return {"True": True, "False": False}[done.stdout.strip()]


@pytest.mark.parametrize("imports", ["import navsvc.cli", "import navsvc.syn_process",
                                     "import numpy; import navsvc", "import api.app"])
def test_navsvc_processes_use_small_pages(imports):
    assert _huge_pages_after(imports, None) is False


@pytest.mark.parametrize("imports", ["import navsvc.cli", "import numpy; import navsvc"])
def test_an_explicit_choice_is_kept(imports):
    assert _huge_pages_after(imports, "1") is True
    assert _huge_pages_after(imports, "0") is False


def test_processes_started_by_navsvc_inherit_the_choice():
    child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {ASK!r}])"
    env = {k: v for k, v in os.environ.items() if k != NUMPY_HUGE_PAGES_VARIABLE}
    done = subprocess.run([sys.executable, "-c", f"import navsvc; {child}"], env=env,
                          capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False"]  # the child never imported navsvc
