"""Where frames go. Every sink takes BGRX pixels with the input's timecode and rate."""

from __future__ import annotations

from fractions import Fraction
from typing import Protocol

import numpy as np


class Sink(Protocol):
    description: str

    def send(self, pixels: np.ndarray, timecode: int, frame_rate: Fraction) -> None:
        """Publish one (H, W, 4) uint8 BGRX frame; the sink may keep no reference to `pixels`."""

    def close(self) -> None: ...
