"""Publishes frames as a Syphon server (macOS, Metal) for TouchDesigner, Resolume, MadMapper,
VDMX and Millumin on the same Mac. Needs `pip install "ltsd[syphon]"` (syphon-python)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ltsd.errors import LtsdError
from ltsd.pixels import bgrx_to_rgba


class SyphonSink:
    def __init__(self, name: str) -> None:
        try:
            import syphon
            from syphon.utils.numpy import copy_image_to_mtl_texture
            from syphon.utils.raw import create_mtl_texture
        except ImportError:
            raise LtsdError('sink syphon: needs `pip install "ltsd[syphon]"`') from None
        self.description = f"syphon:{name}"
        self._server = syphon.SyphonMetalServer(name)
        self._create_texture = create_mtl_texture
        self._copy = copy_image_to_mtl_texture
        self._texture = None
        self._size = (0, 0)

    def send(self, pixels: np.ndarray, timecode: int, frame_rate: Fraction) -> None:
        height, width = pixels.shape[:2]
        if (width, height) != self._size:  # a texture per size, reused frame after frame
            self._texture = self._create_texture(self._server.device, width, height)
            self._size = (width, height)
        self._copy(bgrx_to_rgba(pixels), self._texture)
        self._server.publish_frame_texture(self._texture)

    def close(self) -> None:
        self._server.stop()
