"""Stage timing and progress reporting for the pipeline."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager


class StageTimer:
    """Times named stages and tells a progress callback when each one starts.

    Parameters
    ----------
    progress : callable, optional
        Called with the stage name when a stage starts (e.g. to print it or to update a
        job record).
    """

    def __init__(self, progress: Callable[[str], None] | None = None):
        self._progress = progress
        self._start = time.perf_counter()
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str):
        """Context manager timing one stage."""
        if self._progress is not None:
            self._progress(name)
        self.seconds[name] = 0.0  # listed in the order the stages start (a stage may run inside another)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(time.perf_counter() - start, 3)

    def summary(self) -> dict[str, float]:
        """Seconds per stage plus ``total`` since the timer was made."""
        return {**self.seconds, "total": round(time.perf_counter() - self._start, 3)}
