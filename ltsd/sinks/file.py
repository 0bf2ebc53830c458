"""Writes frames to a video file with PyAV (H.264 in MP4 by default), or to numbered images.

`file:out.mp4` (any container FFmpeg writes: .mp4, .mov, .mkv) encodes H.264 (yuv420p) at the
source's frame rate; `file:frames/out_%05d.png` writes one image per frame. The size is fixed by
the first frame; later frames of another size are scaled to it, since a video cannot change size.
"""

from __future__ import annotations

import logging
import os
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from ltsd.errors import LtsdError, first_line

FORMATS = {".mp4": "mp4", ".mov": "mov", ".m4v": "mp4", ".mkv": "matroska"}
VIDEO_SUFFIXES = tuple(FORMATS)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
# A recording must survive a crash, a kill or a power cut: fragmented MP4/MOV (a playable
# fragment every keyframe) with each packet written out at once; Matroska needs no index anyway.
LIVE_OPTIONS = {"movflags": "frag_keyframe+empty_moov+default_base_moof", "flush_packets": "1"}
KEYFRAME_EVERY_S = 2  # at most this much of a recording is lost to a crash
MAX_NUMBERED = 9999  # rec.mp4, rec-2.mp4 … rec-9999.mp4
log = logging.getLogger(__name__)


class FileSink:
    """Checked when it opens (name, kind, folder, permission), so a mistake is one line at
    start-up, not a traceback at the first frame. A video never replaces a file that is there
    already: it is written beside it as NAME-2.mp4 (`claim_new_file`)."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.frames = 0
        self._sequence = "%" in path
        self._container = None
        self._stream = None
        check_output_name(self.path, self._sequence)
        check_writable(self.path)
        self._file: WatchedFile | None = None
        if not self._sequence:
            claimed, descriptor = claim_new_file(self.path)
            if claimed != self.path:
                log.warning("file:%s is there already (kept); recording to %s", self.path, claimed)
            self.path = claimed
            self._file = WatchedFile(descriptor)
            self._container = open_output(self.path, live=True, file=self._file)
        self.description = f"file:{self.path}"

    def send(self, pixels: np.ndarray, timecode: int, frame_rate: Fraction) -> None:
        if self._sequence:
            try:
                Image.fromarray(pixels[:, :, [2, 1, 0]]).save(str(self.path) % self.frames)
            except OSError as error:
                raise LtsdError(f"file:{self.path}: cannot write ({_reason(error)})") from None
        else:
            try:
                self._encode(pixels, frame_rate)
            except (OSError, av.FFmpegError) as error:
                raise LtsdError(f"file:{self.path}: cannot write ({_reason(error)})") from None
            if self._file is not None and self._file.error is not None:
                raise LtsdError(f"file:{self.path}: cannot write ({_reason(self._file.error)})")
        self.frames += 1

    def close(self) -> None:
        container, self._container = self._container, None
        try:
            if container is not None and self._stream is not None:
                flush(container, self._stream)
        finally:
            try:
                if container is not None:
                    container.close()
            finally:
                if self._file is not None:
                    self._file.close()
                    self._file = None

    def _encode(self, pixels: np.ndarray, frame_rate: Fraction) -> None:
        if self._stream is None:
            rate = Fraction(frame_rate).limit_denominator(1001) if frame_rate > 0 else Fraction(30)
            self._stream = add_video_stream(self._container, rate, pixels.shape[1], pixels.shape[0])
            self._stream.codec_context.gop_size = max(1, round(rate * KEYFRAME_EVERY_S))
        encode_frame(self._container, self._stream, pixels, self.frames)


class WatchedFile:
    """The recording's file, keeping the first write error. FFmpeg buffers and flushes on its
    own and does not always report a failed write (a full disk showed up only at close); the
    sink checks `error` after every frame instead.

    A failed write is never raised into FFmpeg: from then on, writes are dropped. An exception
    in PyAV's write callback leaves the muxer in a state where flushing it at close crashed the
    whole process (SIGSEGV, issue #29) — on a disk full from the start, every time."""

    def __init__(self, descriptor: int) -> None:
        self._file = os.fdopen(descriptor, "wb", buffering=0)
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        if self.error is not None:
            return len(data)
        view = memoryview(data)
        try:
            while view:  # a short write (the disk filled part-way) is retried to get its error
                view = view[self._file.write(view) or 0 :]
        except OSError as error:
            self.error = error
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        self._file.close()


def check_output_name(path: Path, sequence: bool, sequences_allowed: bool = True) -> None:
    """A one-line LtsdError unless `path` names a video ltsd can write, or an image sequence
    with exactly one frame-number field (out_%05d.png)."""
    suffix = path.suffix.lower()
    if sequence:
        try:
            numbered = str(path) % 0
        except (TypeError, ValueError):
            numbered = ""
        if not numbered or "%" in numbered or suffix not in IMAGE_SUFFIXES:
            raise LtsdError(
                f"file:{path}: an image sequence needs one frame-number field and an image "
                f"suffix, e.g. frames/out_%05d.png ({', '.join(IMAGE_SUFFIXES)})"
            )
    elif suffix not in VIDEO_SUFFIXES:
        hint = " (or images: out_%05d.png)" if sequences_allowed else ""
        raise LtsdError(
            f"file:{path}: ltsd records H.264 video to {', '.join(VIDEO_SUFFIXES)}{hint}"
        )
    if not path.parent.is_dir():
        raise LtsdError(f"file:{path}: folder {path.parent} does not exist")


def claim_new_file(path: Path) -> tuple[Path, int]:
    """(the path, an open descriptor) of a new, empty regular file: `path`, or NAME-2.SUFFIX,
    NAME-3.SUFFIX… beside it when something is there. A restart after a crash (systemd's
    Restart=on-failure) must not wipe the recording before it, and a FIFO, a device or a
    symlink in its place must not be opened (one would block start-up, another swallow the
    show): O_EXCL creates, atomically, or fails."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for number in range(1, MAX_NUMBERED + 1):
        candidate = path if number == 1 else path.with_name(f"{path.stem}-{number}{path.suffix}")
        try:
            return candidate, os.open(candidate, flags, 0o644)
        except FileExistsError:
            continue
        except OSError as error:
            raise LtsdError(f"file:{path}: cannot write there ({_reason(error)})") from None
    raise LtsdError(f"file:{path}: {path.stem}-2 … -{MAX_NUMBERED} are all taken; name another")


def check_writable(path: Path) -> None:
    """A one-line LtsdError unless a file can be created in `path`'s folder. PyAV opens the
    file only at the first frame; a read-only place must be found out before that."""
    try:
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as error:
        raise LtsdError(f"file:{path}: cannot write there ({_reason(error)})") from None


def open_output(
    path: Path, live: bool = False, file: WatchedFile | None = None
) -> av.container.OutputContainer:
    """The output container for `path` (written through `file` when given), or a one-line
    LtsdError naming it. `live` writes it crash-safe (fragmented, flushed per packet)."""
    if not path.parent.is_dir():
        raise LtsdError(f"file:{path}: folder {path.parent} does not exist")
    options: dict[str, str] = {}
    if live:
        options = {"flush_packets": "1"} if path.suffix.lower() == ".mkv" else LIVE_OPTIONS
    try:
        if file is not None:
            return av.open(file, mode="w", format=FORMATS[path.suffix.lower()], options=options)
        return av.open(str(path), mode="w", options=options)
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
    return getattr(error, "strerror", None) or first_line(error)
