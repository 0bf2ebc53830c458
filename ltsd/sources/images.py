"""A folder of stills as a slideshow: each image held for `slide_s`, in name order, looping."""

from __future__ import annotations

import logging
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ltsd.errors import SourceError
from ltsd.frame import Frame
from ltsd.sources.pacing import Pacer

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
TIMECODE_UNITS_PER_S = 10_000_000


def image_paths(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise SourceError(f"images:{folder}: no such folder")
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise SourceError(f"images:{folder}: no images in the folder")
    return paths


def read_bgrx(path: Path) -> np.ndarray | None:
    """(H, W, 4) BGRX, or None (with a warning naming the file) when it is not a readable image."""
    try:
        with Image.open(path) as opened:
            rgb = np.asarray(opened.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError):
        log.warning("skipping %s: not a readable image", path)
        return None
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
        self._pacer = Pacer(fps)
        self._current: np.ndarray | None = None

    def read(self, timeout_s: float) -> Frame | None:
        if not self._pacer.wait(timeout_s):
            return None
        if self._index % self.frames_per_slide == 0 or self._current is None:
            slide = (self._index // self.frames_per_slide) % len(self.paths)
            self._current = read_bgrx(self.paths[slide])
            if self._current is None:  # unreadable: show black rather than stop the show
                self._current = np.zeros((360, 640, 4), np.uint8)
        timecode = round(self._index * TIMECODE_UNITS_PER_S / self.fps)
        self._index += 1
        rate = Fraction(self.fps).limit_denominator(1001)
        return Frame(self._current, timecode, rate, time.monotonic_ns())

    def close(self) -> None:
        pass
