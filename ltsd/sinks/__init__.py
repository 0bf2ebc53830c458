"""Where frames go. Every sink takes BGRX pixels with the input's timecode and rate.

Sinks are named by spec: `ndi`, `null`, `file:PATH`, `syphon`, `spout` (several at once fan out).
"""

from __future__ import annotations

import contextlib
import logging
from fractions import Fraction
from typing import Protocol

import numpy as np

from ltsd.errors import LtsdError, first_line
from ltsd.platforms import require_platform

SINK_PATTERN = r"ndi|null|syphon|spout|file:.+"
log = logging.getLogger(__name__)


class Sink(Protocol):
    description: str

    def send(self, pixels: np.ndarray, timecode: int, frame_rate: Fraction) -> None:
        """Publish one (H, W, 4) uint8 BGRX frame. Callers never modify `pixels` afterwards, so
        a sink may read it until its next send (NDI's asynchronous send does)."""

    def close(self) -> None: ...


class FanOut:
    """Several sinks as one: each frame goes to every sink, in order. A sink that fails (a full
    disk, a vanished folder, a driver error) is closed with one line and dropped; the others,
    and the show, go on."""

    def __init__(self, sinks: list[Sink]) -> None:
        self.sinks = sinks
        self.health = {sink.description: True for sink in sinks}  # False once dropped
        self.description = " + ".join(sink.description for sink in sinks)

    def send(self, pixels: np.ndarray, timecode: int, frame_rate: Fraction) -> None:
        for sink in list(self.sinks):
            try:
                sink.send(pixels, timecode, frame_rate)
            except Exception as error:
                self._drop(sink, error)

    def close(self) -> None:
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as error:
                log.error("%s: closing failed (%s)", sink.description, first_line(error))
        self.sinks = []

    def _drop(self, sink: Sink, error: Exception) -> None:
        self.sinks.remove(sink)
        self.health[sink.description] = False
        with contextlib.suppress(Exception):
            sink.close()
        others = ", ".join(s.description for s in self.sinks) or "no output left"
        log.error("%s stopped: %s (going on with %s)", sink.description, first_line(error), others)


def open_sinks(specs: tuple[str, ...], name: str) -> FanOut:
    """Open every sink in `specs` (published as `name` where a sink has a name); all or none."""
    opened: list[Sink] = []
    try:
        for spec in specs:
            opened.append(_open_sink(spec, name))
    except BaseException:
        for sink in opened:
            sink.close()
        raise
    return FanOut(opened)


def _open_sink(spec: str, name: str) -> Sink:
    if spec == "ndi":
        from ltsd.sinks.ndi import NdiSink

        return NdiSink(name)
    if spec == "null":
        from ltsd.sinks.null import NullSink

        return NullSink()
    if spec.startswith("file:") and len(spec) > 5:
        from ltsd.sinks.file import FileSink

        return FileSink(spec[5:])
    if spec == "syphon":
        require_platform("sink syphon", "syphon")
        from ltsd.sinks.syphon import SyphonSink

        return SyphonSink(name)
    if spec == "spout":
        require_platform("sink spout", "spout")
        from ltsd.sinks.spout import SpoutSink

        return SpoutSink(name)
    raise LtsdError(f"sink {spec!r}: expected ndi, null, file:PATH, syphon or spout")
