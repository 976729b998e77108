"""First come, first served turns at SQLite's write lock for one service process.

SQLite lets one writer in at a time, and a writer that finds the lock taken sleeps
and tries again (1, 2, 5 … then every 100 ms) until its busy timeout. A writer that
has waited a while is then beaten by every newcomer that asks just after the lock is
freed: under load an early request can wait out the whole timeout while later ones
pass. CI saw it: 2 of 120 logging requests of 50 concurrent clients answered
"database is locked" after 10.5 s. Route threads therefore queue here, in order of
arrival, and only the head of the queue asks SQLite for the lock (it may still wait
for another process, such as the job worker, or the audit writer's short commits).
"""

from __future__ import annotations

import collections
import threading

#: how long a request may wait for its turn before it is answered 503, seconds
TURN_TIMEOUT_S = 30.0


class WriterQueue:
    """Turns handed out in order of arrival; one holder at a time."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._waiting: collections.deque[threading.Event] = collections.deque()
        self._held = False

    def acquire(self, timeout_s: float) -> bool:
        """Wait for this caller's turn; return False when ``timeout_s`` passed first."""
        with self._guard:
            if not self._held:
                self._held = True
                return True
            turn = threading.Event()
            self._waiting.append(turn)
        if turn.wait(timeout_s):
            return True
        with self._guard:
            if turn.is_set():  # handed over just as the wait ended: the turn is ours
                return True
            self._waiting.remove(turn)
            return False

    def release(self) -> None:
        """End the holder's turn and hand it to the longest waiting caller, if any."""
        with self._guard:
            if self._waiting:
                self._waiting.popleft().set()  # still held: by the next caller now
            else:
                self._held = False
