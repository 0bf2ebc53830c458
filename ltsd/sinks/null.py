"""Discards frames (and counts them): the sink for benchmarks that measure everything else."""

from __future__ import annotations

from fractions import Fraction

import numpy as np


class NullSink:
    description = "null"

    def __init__(self) -> None:
        self.frames = 0

    def send(self, pixels: np.ndarray, timecode: int, frame_rate: Fraction) -> None:
        self.frames += 1

    def close(self) -> None:
        pass
