"""A video file as a source (anything PyAV/FFmpeg opens), looping by default.

Paced at the clip's own frame rate, like a camera, so rehearsing without a camera behaves like the
show. `frames()` reads every frame as fast as possible instead, for `ltsd render`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ltsd.errors import SourceError, first_line
from ltsd.frame import Frame
from ltsd.sources.pacing import Pacer

TIMECODE_UNITS_PER_S = 10_000_000
MAX_VIDEO_PIXELS = 8192 * 8192  # a header declaring more would allocate gigabytes per frame
log = logging.getLogger(__name__)


def open_video(path: Path) -> av.container.InputContainer:
    """The opened container, or a one-line SourceError naming the file."""
    if not path.is_file():
        raise SourceError(f"file:{path}: no such file")
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError) as error:
        raise SourceError(f"file:{path}: not a video PyAV can read ({first_line(error)})") from None
    try:
        check_video_stream(container, path)
    except BaseException:
        container.close()
        raise
    return container


def check_video_stream(container: av.container.InputContainer, path: Path) -> None:
    """A SourceError unless the first video stream has a known codec and a sane size: a damaged
    header can declare anything (fault campaign: a codec of None, sizes of gigapixels)."""
    if not container.streams.video:
        raise SourceError(f"file:{path}: has no video stream")
    codec = container.streams.video[0].codec_context  # None when the codec is not known
    if codec is None:
        raise SourceError(f"file:{path}: its video codec is unknown or damaged")
    width, height = codec.width or 0, codec.height or 0
    if width * height > MAX_VIDEO_PIXELS:
        raise SourceError(f"file:{path}: {width}×{height} is larger than 8K; not played")


def frame_rate_of(container: av.container.InputContainer) -> Fraction:
    stream = container.streams.video[0]
    rate = Fraction(stream.average_rate or stream.guessed_rate or 30).limit_denominator(1001)
    return rate if 1 <= rate <= 1000 else Fraction(30)  # a damaged header can say anything


def decoded_frames(path: Path) -> Iterator[tuple[np.ndarray, float]]:
    """Every frame of the clip once, as (BGRX pixels, time in seconds), as fast as decoding goes."""
    container = open_video(path)
    try:
        for frame in container.decode(video=0):
            seconds = float(frame.time) if frame.time is not None else 0.0
            yield frame.to_ndarray(format="bgra"), seconds
    except Exception as error:  # FFmpegError mostly; a damaged header yields odd others
        raise SourceError(f"file:{path}: damaged video ({first_line(error)})") from None
    finally:
        container.close()


class FileSource:
    def __init__(self, path: str, loop: bool = True) -> None:
        self.description = f"file:{path}"
        self.path = Path(path)
        self.loop = loop
        with open_video(self.path) as probe:
            self.frame_rate = frame_rate_of(probe)
        self._frames = decoded_frames(self.path)
        self._first = next(self._frames, None)  # a file that decodes no frame is refused now
        if self._first is None:
            raise SourceError(f"file:{path}: no decodable video frames (damaged or empty?)")
        self._index = 0
        self._pacer = Pacer(float(self.frame_rate))
        self._finished = False

    def read(self, timeout_s: float) -> Frame | None:
        if self._finished:
            time.sleep(timeout_s)
            return None
        if not self._pacer.wait(timeout_s):
            return None
        pixels = self._next_pixels()
        if pixels is None:
            return None
        timecode = round(self._index * TIMECODE_UNITS_PER_S / self.frame_rate)
        self._index += 1
        return Frame(pixels, timecode, self.frame_rate, time.monotonic_ns())

    def close(self) -> None:
        self._frames.close()

    def _next_pixels(self) -> np.ndarray | None:
        if self._first is not None:
            first, self._first = self._first, None
            return first[0]
        try:
            pixels = next(self._frames, None)
            if pixels is None and self.loop:
                self._frames = decoded_frames(self.path)
                pixels = next(self._frames, None)
        except SourceError as error:  # damaged part-way: end the clip here, never the daemon
            log.error("%s; %s", error, "starting again" if self.loop else "stopping")
            self._frames = decoded_frames(self.path) if self.loop else iter(())
            pixels = None if not self.loop else next(self._frames, None)
        if pixels is None:
            self._finished = True
            return None
        return pixels[0]
