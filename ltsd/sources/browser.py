"""browser: a web page's camera (getUserMedia) as the source, sent as JPEGs over a WebSocket.

The web server drops what the page sends into FEED, the process's one hand-off (one daemon per
process); the source takes the newest and decodes it on the receive thread, as every source hands
on only the newest. With no page sending it delivers nothing, and the pipeline holds or blacks out
until a page does.
"""

from __future__ import annotations

import logging
import threading
import time
from fractions import Fraction

import numpy as np
import simplejpeg

from ltsd.errors import SourceError
from ltsd.frame import Frame
from ltsd.jpeg import MAX_SCANS, too_many_scans

log = logging.getLogger(__name__)
MAX_WIDTH, MAX_HEIGHT = 1920, 1080  # a page sends far less; anything bigger is refused unread
NOMINAL_RATE = Fraction(30)


class BrowserFeed:
    """The newest JPEG a page sent, waiting for the source (which decodes it on its thread)."""

    def __init__(self) -> None:
        self._jpeg: tuple[bytes, int] | None = None  # (data, when received)
        self._ready = threading.Condition()

    def put(self, jpeg: bytes) -> None:
        with self._ready:
            self._jpeg = (jpeg, time.monotonic_ns())
            self._ready.notify()

    def take(self, timeout_s: float) -> tuple[bytes, int] | None:
        with self._ready:
            if self._jpeg is None:
                self._ready.wait(timeout_s)
            jpeg, self._jpeg = self._jpeg, None
            return jpeg


def decode_camera_frame(data: bytes) -> np.ndarray:
    """(H, W, 4) BGRX pixels of one JPEG from a page; a SourceError says what is wrong."""
    try:
        height, width, _, _ = simplejpeg.decode_jpeg_header(data)
    except ValueError:
        raise SourceError("browser: a camera frame that is not a JPEG") from None
    if width > MAX_WIDTH or height > MAX_HEIGHT:
        raise SourceError(f"browser: a {width}x{height} camera frame is over 1920x1080")
    if scans := too_many_scans(data):
        raise SourceError(f"browser: a camera frame of {scans} scans (at most {MAX_SCANS})")
    try:
        return simplejpeg.decode_jpeg(data, colorspace="BGRX")
    except ValueError:
        raise SourceError("browser: a damaged camera frame") from None


FEED = BrowserFeed()


class BrowserSource:
    description = "browser (a web page's camera)"

    def __init__(self, feed: BrowserFeed = FEED) -> None:
        self.feed = feed
        self.frames = 0
        self.refused = 0

    def read(self, timeout_s: float) -> Frame | None:
        received = self.feed.take(timeout_s)
        if received is None:
            return None
        data, received_ns = received
        try:
            pixels = decode_camera_frame(data)
        except SourceError as error:  # one bad frame from a page costs that frame only
            self.refused += 1
            if self.refused == 1 or self.refused % 100 == 0:
                log.warning("%s (%d refused so far)", error, self.refused)
            return None
        self.frames += 1
        timecode = self.frames * 10_000_000 // int(NOMINAL_RATE)  # 100 ns units
        return Frame(pixels, timecode, NOMINAL_RATE, received_ns)

    def close(self) -> None:
        pass  # the feed outlives the source: a page may go on sending for the next one
