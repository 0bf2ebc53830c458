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
        if self._sequence and not self.path.parent.is_dir():
            raise LtsdError(f"file:{path}: folder {self.path.parent} does not exist")
        if not self._sequence:
            self._container = open_output(self.path)

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
            flush(self._container, self._stream)
        self._container.close()
        self._container = None

    def _encode(self, pixels: np.ndarray, frame_rate: Fraction) -> None:
        if self._stream is None:
            rate = Fraction(frame_rate).limit_denominator(1001) if frame_rate > 0 else Fraction(30)
            self._stream = add_video_stream(self._container, rate, pixels.shape[1], pixels.shape[0])
        encode_frame(self._container, self._stream, pixels, self.frames)


def open_output(path: Path) -> av.container.OutputContainer:
    """The output container for `path`, or a one-line LtsdError naming it."""
    if not path.parent.is_dir():
        raise LtsdError(f"file:{path}: folder {path.parent} does not exist")
    try:
        return av.open(str(path), mode="w")
    except (OSError, ValueError, av.FFmpegError) as error:
        raise LtsdError(f"file:{path}: cannot write ({_reason(error)})") from None


def add_video_stream(
    container: av.container.OutputContainer, rate: Fraction, width: int, height: int
) -> av.VideoStream:
    """H.264 in yuv420p (what every player and editor opens), at even dimensions."""
    stream = container.add_stream("libx264", rate=rate)
    stream.width = max(2, width - width % 2)
    stream.height = max(2, height - height % 2)
    stream.pix_fmt = "yuv420p"
    stream.time_base = 1 / rate
    return stream


def encode_frame(
    container: av.container.OutputContainer, stream: av.VideoStream, pixels: np.ndarray, index: int
) -> None:
    """Encode BGRX `pixels` as frame `index` (scaled to the stream's size if it differs)."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="bgra")
    frame = frame.reformat(stream.width, stream.height, "yuv420p")
    frame.pts = index
    for packet in stream.encode(frame):
        container.mux(packet)


def flush(container: av.container.OutputContainer, stream: av.Stream) -> None:
    for packet in stream.encode():
        container.mux(packet)


def _reason(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error).splitlines()[0]
