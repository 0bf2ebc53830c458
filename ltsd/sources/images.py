"""A folder of stills as a slideshow: each image held for `slide_s`, in name order, looping.

The next still is decoded on a helper thread while the current one shows, so a large still never
stalls the frame rate (the source would flip between lost and live). A still that cannot be read
is skipped with one warning naming it; it is tried again only once its file changes, so fixing or
replacing it brings it back. A folder with no usable still sends nothing (the source is lost)
until one appears.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import numpy as np

from ltsd.errors import SourceError
from ltsd.frame import Frame
from ltsd.sources.pacing import Pacer
from ltsd.stills import StillError, decode_still, is_still

log = logging.getLogger(__name__)
TIMECODE_UNITS_PER_S = 10_000_000
LONGEST_SIDE = 3840  # stills are shrunk to at most 4K: nothing downstream wants more
MAX_FILES = 10_000  # a folder is a slideshow, not a file system to index


def image_paths(folder: Path) -> list[Path]:
    """The stills under `folder` (nested too) in name order; at most MAX_FILES are looked at."""
    if not folder.is_dir():
        raise SourceError(f"images:{folder}: no such folder")
    paths = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        paths.extend(Path(root) / name for name in sorted(files) if is_still(Path(name)))
        if len(paths) >= MAX_FILES:
            log.warning("images:%s: showing the first %d stills only", folder, MAX_FILES)
            break
    if not paths:
        raise SourceError(f"images:{folder}: no images in the folder")
    return sorted(paths[:MAX_FILES])


def read_bgrx(path: Path, longest_side: int | None = LONGEST_SIDE) -> np.ndarray:
    """(H, W, 4) BGRX of a still; StillError (naming it) when it cannot be used."""
    rgb = decode_still(path, longest_side)
    bgrx = np.full((*rgb.shape[:2], 4), 255, np.uint8)
    bgrx[:, :, :3] = rgb[:, :, ::-1]
    return bgrx


class ImagesSource:
    def __init__(self, folder: str, fps: float, slide_s: float) -> None:
        self.description = f"images:{folder}"
        self.paths = image_paths(Path(folder))
        self.fps = fps
        self.frames_per_slide = max(1, round(slide_s * fps))
        self._index = 0
        self._slide = 0  # the path to try next
        self._pacer = Pacer(fps)
        self._current: np.ndarray | None = None
        self._unreadable: dict[Path, tuple[int, int]] = {}  # path → (mtime_ns, size) that failed
        self._decoder = ThreadPoolExecutor(1, thread_name_prefix="ltsd-still")
        self._next: Future[np.ndarray | None] | None = None
        self._request_next()

    def read(self, timeout_s: float) -> Frame | None:
        if self._current is None:  # nothing shown yet: wait for the first usable still
            self._take_next(timeout_s)
            if self._current is None:
                return None
        if not self._pacer.wait(timeout_s):
            return None
        if self._index % self.frames_per_slide == 0 and self._index:
            self._take_next(0.0)  # the next still if it is ready; the current one holds if not
        timecode = round(self._index * TIMECODE_UNITS_PER_S / self.fps)
        self._index += 1
        rate = Fraction(self.fps).limit_denominator(1001)
        return Frame(self._current, timecode, rate, time.monotonic_ns())

    def close(self) -> None:
        self._decoder.shutdown(wait=False, cancel_futures=True)

    def _take_next(self, timeout_s: float) -> None:
        assert self._next is not None
        if not self._next.done():
            try:
                self._next.result(timeout=timeout_s)
            except TimeoutError:
                return
        still = self._next.result()
        self._request_next()
        if still is not None:
            self._current = still

    def _request_next(self) -> None:
        self._next = self._decoder.submit(self._decode_one_of_next)

    def _decode_one_of_next(self) -> np.ndarray | None:
        """The next usable still in order, or None after one full round found none."""
        for _ in range(len(self.paths)):
            path = self.paths[self._slide]
            self._slide = (self._slide + 1) % len(self.paths)
            try:
                stat = path.stat()
                signature = (stat.st_mtime_ns, stat.st_size)
            except OSError:
                continue  # gone for now; it is tried again when it comes back
            if self._unreadable.get(path) == signature:
                continue
            try:
                return read_bgrx(path)
            except StillError as error:
                log.warning("skipping %s", error)
                self._unreadable[path] = signature
        time.sleep(0.5)  # none usable: look again shortly, without spinning
        return None
