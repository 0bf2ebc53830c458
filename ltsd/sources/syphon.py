"""A Syphon server on this Mac (TouchDesigner, Resolume, MadMapper, VDMX...) as a source.

Needs `pip install "ltsd[syphon]"` (syphon-python, Metal). Servers are matched like NDI names:
"APP (NAME)" exactly, the NAME part, or a unique substring. A server that goes away is looked for
again, so a restarted app is picked up with no operator. Written against syphon-python's
documented client API; not run on the Linux CI (see docs/outputs.md for the manual check).
"""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np

from ltsd.errors import LtsdError
from ltsd.frame import Frame
from ltsd.ndi import match_source_name
from ltsd.pixels import rgba_to_bgrx

NOMINAL_RATE = Fraction(60)  # Syphon carries no frame rate; used only to pace held frames


def syphon_names(directory: object | None = None) -> list[str]:
    """ "APP (NAME)" for every Syphon server; empty when syphon-python is not installed."""
    try:
        import syphon
    except ImportError:
        return []
    directory = directory or syphon.SyphonServerDirectory()
    return sorted(_display_name(server) for server in directory.servers)


class SyphonSource:
    def __init__(self, wanted: str, lost_after_s: float) -> None:
        try:
            import Metal
            import syphon
            from syphon.utils.numpy import copy_mtl_texture_to_image
        except ImportError:
            raise LtsdError('source syphon: needs `pip install "ltsd[syphon]"`') from None
        self._bgra_format = Metal.MTLPixelFormatBGRA8Unorm
        self.description = f"syphon:{wanted}"
        self._syphon = syphon
        self._to_image = copy_mtl_texture_to_image
        self._directory = syphon.SyphonServerDirectory()
        self._directory.run_loop_interval = 0.05
        self._wanted = wanted
        self._lost_after_ns = int(lost_after_s * 1e9)
        self._client = None
        self._last_frame_ns = 0

    def read(self, timeout_s: float) -> Frame | None:
        if self._client is None:
            self._connect()
            return None
        deadline = time.monotonic() + timeout_s
        while not self._client.has_new_frame:
            if time.monotonic() >= deadline:
                if time.monotonic_ns() - self._last_frame_ns > self._lost_after_ns:
                    self.close()  # gone (or stalled): look for it again by name
                return None
            time.sleep(0.001)
        texture = self._client.new_frame_image
        image = self._to_image(texture)
        if texture.pixelFormat() != self._bgra_format:
            image = rgba_to_bgrx(image)
        now = time.monotonic_ns()
        self._last_frame_ns = now
        return Frame(np.ascontiguousarray(image), now // 100, NOMINAL_RATE, now)

    def close(self) -> None:
        if self._client is not None:
            self._client.stop()
            self._client = None

    def _connect(self) -> None:
        servers = {_display_name(server): server for server in self._directory.servers}
        name = match_source_name(list(servers), self._wanted)
        if name is not None:
            self._client = self._syphon.SyphonMetalClient(servers[name])
            self._last_frame_ns = time.monotonic_ns()


def _display_name(server: object) -> str:
    app, name = server.app_name, server.name  # type: ignore[attr-defined]
    return f"{app} ({name})" if name else app
