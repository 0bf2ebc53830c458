"""`ltsd render`: a clip or a folder of stills through a world, offline, every frame, to a video.

Same pre-processing and generator as the live daemon (`FrameProcessor`), with the configured live
parameters held still, so a render is deterministic. Audio in the input is carried over (re-encoded
as AAC). With --fps different from the input's, frames are taken by time (repeated or skipped to
keep the clip's duration); otherwise each input frame becomes exactly one output frame.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ltsd.errors import LtsdError, SourceError, first_line
from ltsd.frame import Frame
from ltsd.pipeline import FrameProcessor
from ltsd.sinks.file import (
    add_video_stream,
    check_output_name,
    check_writable,
    encode_frame,
    flush,
    open_output,
)
from ltsd.sources.file import decoded_frames, frame_rate_of, open_video
from ltsd.sources.images import image_paths, read_bgrx
from ltsd.stills import StillError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RenderResult:
    frames: int
    width: int
    height: int
    rate: Fraction
    audio: bool


def render(
    input_path: Path,
    output_path: Path,
    processor: FrameProcessor,
    fps: Fraction | None = None,
    size: tuple[int, int] | None = None,
    show_progress: bool = True,
) -> RenderResult:
    check_output_name(output_path, sequence=False, sequences_allowed=False)
    if output_path.resolve() == input_path.resolve() or (
        input_path.is_dir() and output_path.resolve().is_relative_to(input_path.resolve())
    ):
        raise SourceError(f"{output_path}: is the input; name another file for the output")
    check_writable(output_path)
    frames, in_rate, total, has_audio = _input(input_path, fps)
    rate = fps or in_rate
    expected = round(total * rate / in_rate) if total else 0
    container = open_output(output_path)
    stream = None
    audio_stream = None
    written = 0
    progress = _Progress(expected, show_progress)
    failed: BaseException | None = None
    try:
        for pixels, seconds in _retimed(frames, rate, in_rate):
            width, height = size or (pixels.shape[1], pixels.shape[0])
            if stream is None:
                stream = add_video_stream(container, rate, width, height)
                audio_stream = _audio_stream(container, input_path) if has_audio else None
            frame = Frame(
                pixels, round(seconds * 1e7), rate, round(seconds * 1e9)
            )  # the clip's clock
            out = processor.process(frame)
            encode_frame(container, stream, out, written)
            written += 1
            progress.update(written)
        if stream is None:
            raise SourceError(f"{input_path}: no frames to render")
        flush(container, stream)
        if audio_stream is not None:
            _copy_audio(input_path, container, audio_stream)
    except (OSError, av.FFmpegError) as error:  # a full disk, a vanished folder
        failed = error
    finally:
        progress.close()
        try:
            container.close()
        except (OSError, av.FFmpegError) as error:
            failed = failed or error
    if failed is not None:
        output_path.unlink(missing_ok=True)  # half a video is not a render
        reason = getattr(failed, "strerror", None) or first_line(failed)
        raise LtsdError(f"{output_path}: cannot write ({reason}); nothing was kept")
    return RenderResult(written, stream.width, stream.height, rate, audio_stream is not None)


def _input(path: Path, fps: Fraction | None) -> tuple[Iterator, Fraction, int, bool]:
    """(frames as (BGRX, seconds), input rate, frame count if known, has audio)."""
    if path.is_dir():
        paths = image_paths(path)
        rate = fps or Fraction(30)
        return _stills(paths, rate), rate, len(paths), False
    with open_video(path) as probe:
        rate = frame_rate_of(probe)
        total = probe.streams.video[0].frames or 0
        has_audio = bool(probe.streams.audio)
    return decoded_frames(path), rate, total, has_audio


def _stills(paths: list[Path], rate: Fraction) -> Iterator[tuple[np.ndarray, float]]:
    """Each still for one frame at `rate`; one that cannot be read is skipped with a warning."""
    for index, path in enumerate(paths):
        try:
            yield read_bgrx(path, longest_side=None), index / rate
        except StillError as error:
            log.warning("skipping %s", error)


def _retimed(
    frames: Iterator[tuple[np.ndarray, float]], rate: Fraction, in_rate: Fraction
) -> Iterator[tuple[np.ndarray, float]]:
    """Frames at `rate` by time: each output tick shows the latest input frame at or before it,
    up to the clip's end (one input period after its last frame)."""
    tick = 0
    previous: np.ndarray | None = None
    end = 0.0
    for pixels, seconds in frames:
        while previous is not None and tick / rate < seconds - 1e-6:
            yield previous, float(tick / rate)
            tick += 1
        previous = pixels
        end = seconds + float(1 / in_rate)
    while previous is not None and tick / rate < end - 1e-6:
        yield previous, float(tick / rate)
        tick += 1


def _audio_stream(container: av.container.OutputContainer, input_path: Path) -> av.AudioStream:
    with av.open(str(input_path)) as source:
        rate = source.streams.audio[0].rate or 48000
    return container.add_stream("aac", rate=rate)


def _copy_audio(
    input_path: Path, container: av.container.OutputContainer, stream: av.AudioStream
) -> None:
    """Decode the input's first audio stream and encode it into `stream` (AAC)."""
    with av.open(str(input_path)) as source:
        for frame in source.decode(audio=0):
            frame.pts = None  # let the encoder number samples from zero
            for packet in stream.encode(frame):
                container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


class _Progress:
    """frames/total, fps and ETA on one line of stderr (a log line every 100 frames off a TTY)."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled
        self.live = sys.stderr.isatty()
        self.started = time.monotonic()

    def update(self, done: int) -> None:
        if not self.enabled or (not self.live and done % 100):
            return
        elapsed = max(1e-6, time.monotonic() - self.started)
        fps = done / elapsed
        total = self.total or "?"
        eta = f"{(self.total - done) / fps:.0f} s" if self.total and fps else "?"
        line = f"render: frame {done}/{total}  {fps:.1f} fps  ETA {eta}"
        sys.stderr.write(("\r" + line + "\x1b[K") if self.live else line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.live:
            sys.stderr.write("\n")
