"""Publishes frames as a Spout sender (Windows) for TouchDesigner, Resolume and OBS on the same
PC. Needs `pip install "ltsd[spout]"` (SpoutGL)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ltsd.errors import LtsdError
from ltsd.pixels import bgrx_to_rgba

GL_RGBA = 0x1908  # the OpenGL enum SpoutGL.sendImage expects for 8-bit RGBA


class SpoutSink:
    def __init__(self, name: str) -> None:
        try:
            import SpoutGL
        except ImportError:
            raise LtsdError('sink spout: needs `pip install "ltsd[spout]"`') from None
        self.description = f"spout:{name}"
        self._sender = SpoutGL.SpoutSender()
        self._sender.setSenderName(name)

    def send(self, pixels: np.ndarray, timecode: int, frame_rate: Fraction) -> None:
        height, width = pixels.shape[:2]
        # Spout shares top row first, like the frame: no flip
        self._sender.sendImage(bgrx_to_rgba(pixels), width, height, GL_RGBA, False, 0)

    def close(self) -> None:
        self._sender.releaseSender()
