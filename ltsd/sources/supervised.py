"""A source that outlives its own failures.

A gallery runs unattended: a clip replaced while it plays, a camera driver that throws, one bad
file in a folder must cost a few frames, never the show. Whatever a source raises while reading,
it is closed and opened again from its spec, with a growing pause between attempts, until it
works again (a clip put back, a sender restarted). The same error is logged once, not per try.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

from ltsd.errors import LtsdError, first_line
from ltsd.frame import Frame
from ltsd.sources import Source

log = logging.getLogger(__name__)
FIRST_RETRY_S = 0.5
LONGEST_RETRY_S = 10.0


class SupervisedSource:
    def __init__(self, first: Source, reopen: Callable[[], Source]) -> None:
        self.description = first.description
        self._inner: Source | None = first
        self._reopen = reopen
        self._retry_s = FIRST_RETRY_S
        self._retry_at = 0.0
        self._last_error = ""

    def read(self, timeout_s: float) -> Frame | None:
        if self._inner is None and not self._try_reopen(timeout_s):
            return None
        assert self._inner is not None
        try:
            frame = self._inner.read(timeout_s)
        except Exception as error:  # any failure: close, then reopen later (never a dead thread)
            self._failed(error)
            return None
        if frame is not None and self._last_error:
            log.info("%s: frames again", self.description)
            self._last_error, self._retry_s = "", FIRST_RETRY_S
        return frame

    def close(self) -> None:
        if self._inner is not None:
            with contextlib.suppress(Exception):
                self._inner.close()
            self._inner = None

    def _try_reopen(self, timeout_s: float) -> bool:
        wait = self._retry_at - time.monotonic()
        if wait > 0:
            time.sleep(min(wait, timeout_s))
            return False
        try:
            self._inner = self._reopen()
        except Exception as error:
            self._failed(error)
            return False
        return True

    def _failed(self, error: Exception) -> None:
        message = first_line(error)  # LtsdErrors name the thing; others are named by their type
        if not isinstance(error, LtsdError) and message != type(error).__name__:
            message = f"{type(error).__name__}: {message}"
        if message != self._last_error:
            log.warning("%s stopped (%s); trying again every %.0f s at most",
                        self.description, message, LONGEST_RETRY_S)  # fmt: skip
            self._last_error = message
        self.close()
        self._retry_at = time.monotonic() + self._retry_s
        self._retry_s = min(LONGEST_RETRY_S, self._retry_s * 2)
