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


class LiveLine:
    """The one status line a terminal shows in place, rewritten with a carriage return.

    Log records and the line share the terminal: each record first erases the line (else it
    would be glued onto it, as Ctrl-C's "SIGINT received" was, after the terminal's own "^C"),
    then the line is drawn again below it. One lock orders the two writers."""

    ERASE = "\r\x1b[K"

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.text: str | None = None

    def show(self, text: str) -> None:
        with self.lock:
            self.text = text
            sys.stderr.write(self.ERASE + text)
            sys.stderr.flush()

    def end(self) -> None:
        """Leave the last line on screen and go on below it."""
        with self.lock:
            if self.text is not None:
                sys.stderr.write("\n")
                sys.stderr.flush()
            self.text = None


live_line = LiveLine()


class LiveLineHandler(logging.StreamHandler):
    """A stderr handler that moves the live status line out of a record's way."""

    def emit(self, record: logging.LogRecord) -> None:
        with live_line.lock:
            shown = live_line.text
            if shown is not None:
                self.stream.write(LiveLine.ERASE)
            super().emit(record)
            if shown is not None:
                self.stream.write(shown)
                self.flush()


class LastProblem(logging.Handler):
    """The newest warning or error, for `/metrics` and the people who look after a show."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.message = ""
        self.at = 0.0  # time.time() of it; 0 = none yet

    def emit(self, record: logging.LogRecord) -> None:
        self.message = record.getMessage()[:200]
        self.at = record.created


LAST_PROBLEM = LastProblem()


def setup_logging(level: str) -> None:
    handler = LiveLineHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    handler.addFilter(LogRateLimit())
    logging.basicConfig(level=LEVELS[level], handlers=[handler])
    logging.getLogger().addHandler(LAST_PROBLEM)
