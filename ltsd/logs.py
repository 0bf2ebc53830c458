"""Logging for a daemon that runs for days: one format, and a cap on the whole log's rate.

Per-call-site limits miss the paths nobody thought of (issue #19: 40 datagrams once made 140,027
lines). A token bucket on the handler bounds everything: bursts pass, a flood is cut to a trickle
and summarised in one line ("N log lines suppressed") once it eases.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

LEVELS = {"quiet": logging.WARNING, "info": logging.INFO, "verbose": logging.DEBUG}
BURST_LINES = 200
LINES_PER_S = 20.0


class LogRateLimit(logging.Filter):
    """Passes at most BURST_LINES at once and LINES_PER_S after; counts what it drops."""

    def __init__(self, burst: int = BURST_LINES, per_s: float = LINES_PER_S) -> None:
        super().__init__()
        self.burst, self.per_s = burst, per_s
        self._tokens, self._last = float(burst), time.monotonic()
        self._suppressed = 0
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.per_s)
            self._last = now
            if self._tokens < 1.0:
                self._suppressed += 1
                return False
            self._tokens -= 1.0
            if self._suppressed and self._tokens >= 1.0:
                self._tokens -= 1.0
                note = f"{self._suppressed} log lines suppressed (more than {self.per_s:g}/s)"
                record.msg, record.args = f"%s [{note}]", (record.getMessage(),)
                self._suppressed = 0
            return True


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    handler.addFilter(LogRateLimit())
    logging.basicConfig(level=LEVELS[level], handlers=[handler])
