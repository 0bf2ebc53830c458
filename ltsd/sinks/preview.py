"""The preview sink: JPEGs of what goes out and of what the model sees, for the web page, made
only while a page watches, at a capped size and rate, on their own thread.

A sink like NDI and files: the frame path sends to it and knows nothing of the web server, which
reads the pictures (`publish`) and counts the viewers of each channel.

The frame thread's share is a clock check and, when a viewer is waiting and a picture is due, a
reference handed over: frames and tensors are never modified after they are made, so nothing is
copied. The `ltsd-preview` thread shrinks (box filter, in bytes) and encodes (libjpeg-turbo via
simplejpeg); the newest picture wins, as everywhere on the frame path.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import simplejpeg
import torch
from PIL import Image

from ltsd.config import WebConfig

log = logging.getLogger(__name__)
CHANNELS = ("output", "seen")  # what goes out; what the model sees

Publish = Callable[[str, bytes], None]


class PreviewChannel:
    """One preview stream: how many watch it (set by the web server) and when the next is due."""

    def __init__(self, name: str, fps: float) -> None:
        self.name = name
        self.viewers = 0
        self._interval_ns = int(1e9 / fps)
        self._due_ns = 0

    def due(self, now_ns: int) -> bool:
        """Someone watches and the last picture is old enough: worth handing one over."""
        if self.viewers <= 0 or now_ns < self._due_ns:
            return False
        self._due_ns = now_ns + self._interval_ns
        return True


class PreviewSink:
    description = "preview"

    def __init__(self, config: WebConfig) -> None:
        self.config = config
        self.channels = {name: PreviewChannel(name, config.preview_fps) for name in CHANNELS}
        self.publish: Publish | None = None  # the web server's: called on the preview thread
        self.encoded = 0
        self._pending: dict[str, Any] = {}
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watched(self) -> bool:
        return any(channel.viewers > 0 for channel in self.channels.values())

    def send(self, bgrx: np.ndarray, timecode: int = 0, frame_rate: Fraction | None = None) -> None:
        """From the frame thread: a frame as sent (H, W, 4 BGRX bytes)."""
        if self.channels["output"].due(time.monotonic_ns()):
            self._hand_over("output", bgrx)

    def offer_seen(self, seen: torch.Tensor) -> None:
        """From the frame thread: what the model saw, (1, 3, r, r) RGB in [0, 1] on its device."""
        if self.channels["seen"].due(time.monotonic_ns()):
            self._hand_over("seen", seen)

    def _hand_over(self, name: str, picture: Any) -> None:
        with self._wake:
            self._pending[name] = picture
            self._wake.notify()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ltsd-preview", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._wake:
                while not self._pending and not self._stop.is_set():
                    self._wake.wait(0.5)
                pending, self._pending = self._pending, {}
            for name, picture in pending.items():
                try:
                    jpeg = self.encode(name, picture)
                except Exception as error:  # a preview must never take the daemon down
                    log.warning("preview: %s picture not encoded (%s)", name, error)
                    continue
                self.encoded += 1
                if self.publish is not None:
                    self.publish(name, jpeg)

    def encode(self, name: str, picture: Any) -> bytes:
        quality = self.config.preview_quality
        if name == "seen":
            rgb = (picture[0].clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0)
            pixels = np.ascontiguousarray(rgb.cpu().numpy())
            return simplejpeg.encode_jpeg(pixels, quality=quality, colorspace="RGB")
        return simplejpeg.encode_jpeg(
            shrunk(picture, self.config.preview_width), quality=quality, colorspace="BGRX"
        )


def shrunk(bgrx: np.ndarray, max_width: int) -> np.ndarray:
    """At most `max_width` wide, by a whole factor (a box filter in bytes: fast, no aliasing)."""
    factor = math.ceil(bgrx.shape[1] / max_width)
    if factor <= 1:
        return np.ascontiguousarray(bgrx)
    image = Image.frombuffer("RGBA", (bgrx.shape[1], bgrx.shape[0]), np.ascontiguousarray(bgrx))
    return np.asarray(image.reduce(factor))  # channels stay in BGRX order: only averaged
