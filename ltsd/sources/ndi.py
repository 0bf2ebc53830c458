"""An NDI sender, found by name, received as UYVY (or BGRX); found again whenever it goes away."""

from __future__ import annotations

import logging
import time
from fractions import Fraction

import NDIlib as ndi
import numpy as np

from ltsd.frame import Frame
from ltsd.ndi import discover, ensure_initialized, match_source_name

log = logging.getLogger(__name__)

_LAYOUTS = {
    ndi.FOURCC_VIDEO_TYPE_UYVY: "uyvy",
    ndi.FOURCC_VIDEO_TYPE_BGRX: "bgrx",
    ndi.FOURCC_VIDEO_TYPE_BGRA: "bgrx",
}
_COLOR_FORMATS = {
    # NDI decodes to UYVY without a colour conversion (sources with alpha still come as BGRA);
    # ltsd converts the model-size pixels itself: ~9 % of a core less at 720p60 (performance.md)
    "uyvy": ndi.RECV_COLOR_FORMAT_UYVY_BGRA,
    "bgrx": ndi.RECV_COLOR_FORMAT_BGRX_BGRA,  # for tools that pass frames on untouched
}


class NdiSource:
    """Receives one NDI source. Not thread-safe: one reader thread calls read().

    While not connected, each read() makes one discovery attempt. Once connected, a silence longer
    than `lost_after_s` drops the receiver and goes back to discovery, so a sender that restarts
    (possibly on another port) is picked up again by name, with no operator.
    """

    def __init__(
        self, wanted: str, extra_ips: str, lost_after_s: float, color: str = "uyvy"
    ) -> None:
        ensure_initialized()
        self._color_format = _COLOR_FORMATS[color]
        self.description = f"ndi:{wanted}"
        self._wanted = wanted
        self._extra_ips = extra_ips
        self._lost_after_ns = int(lost_after_s * 1e9)
        self._receiver = None
        self._connected_name = ""
        self._last_video_ns = 0
        self._warned_format: object = None

    def read(self, timeout_s: float) -> Frame | None:
        if self._receiver is None:
            self._connect(timeout_s)
            return None
        kind, video, _, _ = ndi.recv_capture_v2(
            self._receiver, int(timeout_s * 1000), want_video=True, want_audio=False,
            want_metadata=False,
        )  # fmt: skip
        now = time.monotonic_ns()
        if kind != ndi.FRAME_TYPE_VIDEO:
            if now - self._last_video_ns > self._lost_after_ns:
                log.warning("NDI source %r went silent; looking for it again", self._connected_name)
                self._disconnect()
            return None
        try:
            return self._to_frame(video, now)
        finally:
            ndi.recv_free_video_v2(self._receiver, video)

    def close(self) -> None:
        self._disconnect()

    def _to_frame(self, video: ndi.VideoFrameV2, now: int) -> Frame | None:
        layout = _LAYOUTS.get(video.FourCC)
        if layout is None:
            if video.FourCC != self._warned_format:
                log.warning(
                    "NDI source %r sent %s frames; skipping them", self._wanted, video.FourCC
                )
                self._warned_format = video.FourCC
            return None
        self._last_video_ns = now
        pixels = np.array(video.data, dtype=np.uint8, copy=True)  # the NDI buffer is freed next
        if (
            pixels.ndim != 3
            or pixels.shape[2] != (2 if layout == "uyvy" else 4)
            or pixels.size == 0
        ):
            return None
        rate = (
            Fraction(video.frame_rate_N, video.frame_rate_D) if video.frame_rate_D else Fraction(30)
        )
        return Frame(pixels, int(video.timecode), rate, now, layout)

    def _connect(self, timeout_s: float) -> None:
        sources = discover(self._extra_ips, max(1, int(timeout_s * 1000)))
        by_name = {source.ndi_name: source for source in sources}
        name = match_source_name(list(by_name), self._wanted)
        if name is None:
            return
        settings = ndi.RecvCreateV3()
        settings.color_format = self._color_format
        settings.bandwidth = ndi.RECV_BANDWIDTH_HIGHEST
        settings.ndi_recv_name = "ltsd"
        receiver = ndi.recv_create_v3(settings)
        if receiver is None:
            return
        ndi.recv_connect(receiver, by_name[name])
        self._receiver = receiver
        self._connected_name = name
        self._last_video_ns = time.monotonic_ns()
        log.info("connected to NDI source %r", name)

    def _disconnect(self) -> None:
        if self._receiver is not None:
            ndi.recv_destroy(self._receiver)
            self._receiver = None
