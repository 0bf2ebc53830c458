"""Frame pacing for sources that make their own frames (synthetic, file, images)."""

from __future__ import annotations

import time


class Pacer:
    """Hands out frame slots at a fixed rate. A source that falls behind skips ahead rather than
    bursting frames to catch up: a live show wants the present, not the backlog (and a burst once
    made the input rate read 6,000 fps)."""

    def __init__(self, fps: float) -> None:
        self.period_s = 1.0 / fps
        self._next_due = time.monotonic()

    def wait(self, timeout_s: float) -> bool:
        """Sleep until the next slot; False (after `timeout_s`) if it is further away than that."""
        wait = self._next_due - time.monotonic()
        if wait > timeout_s:
            time.sleep(timeout_s)
            return False
        if wait > 0:
            time.sleep(wait)
        # late by more than half a period (a slow decode, a busy machine): the next slot is half
        # a period from now, never at once, so slots are never handed out back to back
        self._next_due = max(self._next_due + self.period_s, time.monotonic() + self.period_s / 2)
        return True
