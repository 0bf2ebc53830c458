"""The Frame handed along the path, from a source to the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np


@dataclass(frozen=True, slots=True)
class Frame:
    """One video frame as a source delivers it.

    pixels: (H, W, 4) uint8 BGRX, or (H, W, 2) uint8 UYVY (4:2:2 video range, BT.709) when
        `layout` says so: what NDI decodes to without a colour conversion.
    timecode: the sender's NDI timecode (100 ns units) or a source's own sequence-derived one; it is
        copied onto the output frame so downstream tools can measure latency and sync.
    frame_rate: the source's nominal rate, used to pace held frames when the source goes away.
    received_ns: time.monotonic_ns() when the frame reached ltsd, for the latency figure and the
        auto exposure's clock (`ltsd render`: the clip's own time).
    """

    pixels: np.ndarray
    timecode: int
    frame_rate: Fraction
    received_ns: int
    layout: str = "bgrx"  # or "uyvy"

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])
