"""Publishes frames as an NDI source for TouchDesigner, Resolume, OBS or Studio Monitor."""

from __future__ import annotations

from fractions import Fraction

import NDIlib as ndi
import numpy as np

from ltsd.errors import LtsdError
from ltsd.ndi import ensure_initialized


class NdiSink:
    """One NDI sender, unclocked: ltsd paces output by its input, so NDI must not add its own
    waiting. Frames are sent asynchronously: NDI compresses a frame on its own thread while the
    next one is made, and reads its pixels until the next send, so the sink holds them till then.
    """

    def __init__(self, ndi_name: str) -> None:
        ensure_initialized()
        settings = ndi.SendCreate()
        settings.ndi_name = ndi_name
        settings.clock_video = False
        settings.clock_audio = False
        self._sender = ndi.send_create(settings)
        if self._sender is None:
            raise LtsdError(f"NDI output {ndi_name!r}: the NDI sender could not be created")
        self.description = f"ndi:{ndi_name}"
        self._frame = ndi.VideoFrameV2()
        self._in_flight: np.ndarray | None = None  # NDI may read it until the next send

    def send(self, pixels: np.ndarray, timecode: int, frame_rate: Fraction) -> None:
        frame = self._frame
        frame.FourCC = ndi.FOURCC_VIDEO_TYPE_BGRX
        frame.frame_rate_N = frame_rate.numerator
        frame.frame_rate_D = frame_rate.denominator
        frame.data = pixels
        frame.timecode = timecode
        ndi.send_send_video_async_v2(self._sender, frame)  # waits for the previous frame's send
        self._in_flight = pixels

    def connections(self) -> int:
        return int(ndi.send_get_no_connections(self._sender, 0))

    def close(self) -> None:
        if self._sender is not None:
            ndi.send_destroy(self._sender)  # finishes the frame in flight first
            self._sender = None
        self._in_flight = None
