"""Where frames go. Every sink takes BGRX pixels with the input's timecode and rate.

Sinks are named by spec: `ndi`, `null`, `file:PATH`, `syphon`, `spout` (several at once fan out).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Protocol

import numpy as np

from ltsd.errors import LtsdError
from ltsd.platforms import require_platform

SINK_PATTERN = r"ndi|null|syphon|spout|file:.+"


class Sink(Protocol):
    description: str

    def send(self, pixels: np.ndarray, timecode: int, frame_rate: Fraction) -> None:
        """Publish one (H, W, 4) uint8 BGRX frame. Callers never modify `pixels` afterwards, so
        a sink may read it until its next send (NDI's asynchronous send does)."""

    def close(self) -> None: ...


class FanOut:
    """Several sinks as one: each frame goes to every sink, in order."""

    def __init__(self, sinks: list[Sink]) -> None:
        self.sinks = sinks
        self.description = " + ".join(sink.description for sink in sinks)

    def send(self, pixels: np.ndarray, timecode: int, frame_rate: Fraction) -> None:
        for sink in self.sinks:
            sink.send(pixels, timecode, frame_rate)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()


def open_sinks(specs: tuple[str, ...], name: str) -> Sink:
    """Open every sink in `specs` (published as `name` where a sink has a name); all or none."""
    opened: list[Sink] = []
    try:
        for spec in specs:
            opened.append(_open_sink(spec, name))
    except BaseException:
        for sink in opened:
            sink.close()
        raise
    return opened[0] if len(opened) == 1 else FanOut(opened)


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
