"""The NDI source over real NDI on loopback: frames arrive as UYVY and decode to their colours."""

from __future__ import annotations

import time

import NDIlib as ndi
import numpy as np
import pytest
import torch

from ltsd.ndi import ensure_initialized
from ltsd.pixels import fitted_input
from ltsd.sources.ndi import NdiSource
from tests.conftest import unique_name

COLOURS_RGB = ((230, 26, 102), (20, 160, 150), (250, 240, 40))


def stripes(width: int, height: int) -> np.ndarray:
    """(height, width, 4) BGRX: one vertical stripe per colour."""
    pixels = np.full((height, width, 4), 255, np.uint8)
    for index, rgb in enumerate(COLOURS_RGB):
        columns = slice(index * width // 3, (index + 1) * width // 3)
        pixels[:, columns, :3] = rgb[::-1]
    return pixels


@pytest.mark.parametrize("color", ["uyvy", "bgrx"])
def test_ndi_frames_decode_to_the_colours_that_were_sent(color: str):
    ensure_initialized()
    name = unique_name("src")
    settings = ndi.SendCreate()
    settings.ndi_name = name
    settings.clock_video = False
    sender = ndi.send_create(settings)
    video = ndi.VideoFrameV2()
    video.FourCC = ndi.FOURCC_VIDEO_TYPE_BGRX
    video.frame_rate_N, video.frame_rate_D = 30, 1
    video.data = stripes(192, 108)
    source = NdiSource(name, "127.0.0.1", lost_after_s=5.0, color=color)
    frame, deadline = None, time.monotonic() + 30
    try:
        while frame is None and time.monotonic() < deadline:
            ndi.send_send_video_v2(sender, video)
            frame = source.read(timeout_s=0.1)
    finally:
        source.close()
        ndi.send_destroy(sender)
    assert frame is not None, "no frame from the NDI sender on loopback"
    assert frame.layout == color and (frame.width, frame.height) == (192, 108)
    seen = fitted_input(frame.pixels, 54, 96, "crop", False, torch.device("cpu"), frame.layout)
    for index, rgb in enumerate(COLOURS_RGB):
        middle = seen[0, :, 27, index * 32 + 16] * 255  # the middle of each stripe
        assert np.abs(middle.numpy() - rgb).max() <= 6, (index, middle.tolist(), rgb)
