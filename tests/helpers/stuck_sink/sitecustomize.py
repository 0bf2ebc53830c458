"""Python loads this at start-up when its folder is on PYTHONPATH (the watchdog test does so):
with LTSD_TEST_STUCK_AFTER=N the null sink's send blocks for ever after N frames, as a write to
a dead network share would. (A FIFO that nobody reads did this before; recordings no longer
open one, issue #29.)"""

import os
import threading

_AFTER = int(os.environ.get("LTSD_TEST_STUCK_AFTER", "0") or 0)

if _AFTER:
    from ltsd.sinks import null

    _send = null.NullSink.send

    def _stuck_send(self, pixels, timecode, frame_rate):  # type: ignore[no-untyped-def]
        if self.frames >= _AFTER:
            threading.Event().wait()  # never set
        _send(self, pixels, timecode, frame_rate)

    null.NullSink.send = _stuck_send
