"""A Spout sender on this PC (TouchDesigner, Resolume, OBS...) as a source.

Needs `pip install "ltsd[spout]"` (SpoutGL). Senders are matched by exact name or a unique
substring. Written against SpoutGL's documented receiver API; not run on the Linux CI (see
docs/outputs.md for the manual check).
"""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np

from ltsd.errors import LtsdError
from ltsd.frame import Frame
from ltsd.ndi import match_source_name
from ltsd.pixels import rgba_to_bgrx

GL_RGBA = 0x1908
NOMINAL_RATE = Fraction(60)  # Spout carries no frame rate; used only to pace held frames


def spout_names() -> list[str]:
    """Every Spout sender's name; empty when SpoutGL (or its sender list) is not there."""
    try:
        import SpoutGL
    except ImportError:
        return []
    with SpoutGL.SpoutReceiver() as receiver:
        return sorted(_sender_list(receiver))


class SpoutSource:
    """Polls the sender each millisecond (Spout copies only when its frame count moved on), so a
    sender without frame sync is read at its own rate. Spout reconnects by name by itself."""

    def __init__(self, wanted: str) -> None:
        try:
            import SpoutGL
        except ImportError:
            raise LtsdError('source spout: needs `pip install "ltsd[spout]"`') from None
        self.description = f"spout:{wanted}"
        self._receiver = SpoutGL.SpoutReceiver()
        self._wanted = wanted
        self._named = False
        self._buffer: np.ndarray | None = None

    def read(self, timeout_s: float) -> Frame | None:
        deadline = time.monotonic() + timeout_s
        if not self._named:
            senders = _sender_list(self._receiver)
            name = match_source_name(senders, self._wanted) if senders else self._wanted
            if name is None:
                time.sleep(timeout_s)
                return None
            self._receiver.setReceiverName(name)
            self._named = True
        while True:
            received = self._receiver.receiveImage(self._buffer, GL_RGBA, False, 0)
            if self._receiver.isUpdated():  # connected, or the sender changed size
                width, height = self._receiver.getSenderWidth(), self._receiver.getSenderHeight()
                self._buffer = np.zeros((height, width, 4), np.uint8)
            elif received and self._buffer is not None and self._receiver.isFrameNew():
                now = time.monotonic_ns()
                return Frame(rgba_to_bgrx(self._buffer), now // 100, NOMINAL_RATE, now)
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.001)

    def close(self) -> None:
        self._receiver.releaseReceiver()


def _sender_list(receiver: object) -> list[str]:
    """The senders Spout knows of; older SpoutGL builds cannot list them (then: [])."""
    listing = getattr(receiver, "getSenderList", None)
    return sorted(listing()) if listing else []
