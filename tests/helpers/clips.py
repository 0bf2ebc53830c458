"""Small real video files made with PyAV, independent of ltsd's own writer."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def write_clip(path: Path, frames: int = 20, size: tuple[int, int] = (160, 90), fps: int = 20,
               audio: bool = False) -> Path:  # fmt: skip
    """A moving gradient, optionally with a 440 Hz tone as AAC audio."""
    width, height = size
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = container.add_stream("aac", rate=44100) if audio else None
        ys, xs = np.mgrid[0:height, 0:width]
        for index in range(frames):
            rgb = np.zeros((height, width, 3), np.uint8)
            rgb[..., 0] = (xs + 4 * index) % 256
            rgb[..., 1] = ys * 255 // max(1, height - 1)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if sound is not None:
            samples = int(44100 * frames / fps)
            tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(samples) / 44100)).astype(np.float32)
            chunk = 1024
            for start in range(0, samples, chunk):
                part = tone[start : start + chunk]
                frame = av.AudioFrame.from_ndarray(part[None, :], format="fltp", layout="mono")
                frame.sample_rate = 44100
                frame.pts = start
                frame.time_base = Fraction(1, 44100)
                for packet in sound.encode(frame):
                    container.mux(packet)
            for packet in sound.encode():
                container.mux(packet)
    return path
