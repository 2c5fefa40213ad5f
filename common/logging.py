"""Logging filters.

``OncePerInterval``: a failure that repeats on every call (each cache call while Redis is away,
each request while the broker is) would otherwise write thousands of identical tracebacks a
second; the first is logged, then one every ``seconds``, saying how many were held back.
"""

from __future__ import annotations

import logging
import threading
import time


class OncePerInterval(logging.Filter):
    def __init__(self, seconds: float = 10.0) -> None:
        super().__init__()
        self.seconds = seconds
        self._next = 0.0
        self._held = 0
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        with self._lock:
            if now < self._next:
                self._held += 1
                return False
            held, self._held = self._held, 0
            self._next = now + self.seconds
        if held:
            record.msg = f"{record.msg} ({held} more like it not logged in the last {self.seconds:g} s)"
        return True

    def reset(self) -> None:
        """Let the next record through now (it still says how many were held back)."""
        with self._lock:
            self._next = 0.0


def reset_filters(*logger_names: str) -> None:
    """Let the next record of each of these loggers through (tests)."""
    for name in logger_names:
        for found in logging.getLogger(name).filters:
            if isinstance(found, OncePerInterval):
                found.reset()
