"""A real NDI receiver for tests and benchmarks: finds a source by name, collects frames."""

from __future__ import annotations

import time
from dataclasses import dataclass

import NDIlib as ndi
import numpy as np

from ltsd.ndi import discover, ensure_initialized, match_source_name

_NO_PIXELS = np.zeros((0, 0, 4), np.uint8)


@dataclass(frozen=True)
class ReceivedFrame:
    timecode: int
    pixels: np.ndarray  # (H, W, 4) BGRX copy; empty when the caller asked for timing only
    arrived_s: float  # time.monotonic()
    width: int
    height: int

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


class NdiReceiver:
    def __init__(self, wanted: str, timeout_s: float = 20.0) -> None:
        ensure_initialized()
        deadline = time.monotonic() + timeout_s
        source = None
        while source is None and time.monotonic() < deadline:
            sources = {s.ndi_name: s for s in discover("127.0.0.1", 500)}
            name = match_source_name(list(sources), wanted)
            source = sources.get(name) if name else None
        if source is None:
            raise AssertionError(f"NDI source {wanted!r} not found within {timeout_s} s")
        settings = ndi.RecvCreateV3()
        settings.color_format = ndi.RECV_COLOR_FORMAT_BGRX_BGRA
        self._receiver = ndi.recv_create_v3(settings)
        ndi.recv_connect(self._receiver, source)

    def frames(self, count: int, timeout_s: float, keep_pixels: bool = True) -> list[ReceivedFrame]:
        """Up to `count` video frames, stopping after `timeout_s` seconds whatever arrived.

        keep_pixels=False records only timecodes and arrival times (benchmarks at 1080p60)."""
        received: list[ReceivedFrame] = []
        deadline = time.monotonic() + timeout_s
        while len(received) < count and time.monotonic() < deadline:
            kind, video, _, _ = ndi.recv_capture_v2(self._receiver, 200, True, False, False)
            if kind == ndi.FRAME_TYPE_VIDEO:
                arrived = time.monotonic()
                pixels = np.array(video.data, copy=True) if keep_pixels else _NO_PIXELS
                received.append(
                    ReceivedFrame(int(video.timecode), pixels, arrived, video.xres, video.yres)
                )
                ndi.recv_free_video_v2(self._receiver, video)
        return received

    def close(self) -> None:
        ndi.recv_destroy(self._receiver)
