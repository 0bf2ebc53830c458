"""Writes frames to a video file with PyAV (H.264 in MP4 by default), or to numbered images.

`file:out.mp4` (any container FFmpeg writes: .mp4, .mov, .mkv) encodes H.264 (yuv420p) at the
source's frame rate; `file:frames/out_%05d.png` writes one image per frame. The size is fixed by
the first frame; later frames of another size are scaled to it, since a video cannot change size.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from ltsd.errors import LtsdError


class FileSink:
    def __init__(self, path: str) -> None:
        self.description = f"file:{path}"
        self.path = Path(path)
        self.frames = 0
        self._sequence = "%" in path
        self._container = None
        self._stream = None
        folder = self.path.parent
        if not folder.is_dir():
            raise LtsdError(f"file:{path}: folder {folder} does not exist")
        if not self._sequence:
            try:
                self._container = av.open(str(self.path), mode="w")
            except (OSError, ValueError, av.FFmpegError) as error:
                raise LtsdError(f"file:{path}: cannot write ({_reason(error)})") from None

    def send(self, pixels: np.ndarray, timecode: int, frame_rate: Fraction) -> None:
        if self._sequence:
            try:
                Image.fromarray(pixels[:, :, [2, 1, 0]]).save(str(self.path) % self.frames)
            except OSError as error:
                raise LtsdError(f"file:{self.path}: cannot write ({_reason(error)})") from None
        else:
            self._encode(pixels, frame_rate)
        self.frames += 1

    def close(self) -> None:
        if self._container is None:
            return
        if self._stream is not None:
            for packet in self._stream.encode():
                self._container.mux(packet)
        self._container.close()
        self._container = None

    def _encode(self, pixels: np.ndarray, frame_rate: Fraction) -> None:
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="bgra")
        if self._stream is None:
            rate = Fraction(frame_rate).limit_denominator(1001) if frame_rate > 0 else Fraction(30)
            stream = self._container.add_stream("libx264", rate=rate)
            stream.width = frame.width - frame.width % 2  # yuv420p needs even sizes
            stream.height = frame.height - frame.height % 2
            stream.pix_fmt = "yuv420p"
            stream.time_base = 1 / rate
            self._stream = stream
        frame = frame.reformat(self._stream.width, self._stream.height, "yuv420p")
        frame.pts = self.frames
        for packet in self._stream.encode(frame):
            self._container.mux(packet)


def _reason(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error).splitlines()[0]
