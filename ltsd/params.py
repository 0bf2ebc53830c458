"""The one registry of live parameters: what a performer may change while frames flow.

Each parameter is a field of `LiveParams`, declared once with its type, range, unit and doc line.
The config's `params:` section, the validation of every change, and (later) the OSC address space,
OSCQuery and docs/osc.md are all derived from these fields.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any

from ltsd.errors import ConfigError
from ltsd.schema import FieldSpec, coerce, field_types, setting, spec_of


@dataclass(frozen=True, slots=True)
class LiveParams:
    """Pre-processing parameters, applied to every frame before the generator."""

    fit: str = setting(
        "crop",
        choices=("crop", "letterbox"),
        doc="how a frame of another aspect meets the square model: crop the middle, or pad",
    )
    grayscale: bool = setting(
        True, doc="reduce the input to one grey channel, as Learning to See trains its worlds"
    )
    blur_factor: float = setting(
        24.0,
        1.0,
        64.0,
        unit="x",
        doc="area-downscale by this factor then bicubic-upscale back (1 = no blur)",
    )
    brightness: float = setting(
        0.0, -1.0, 1.0, unit="offset", doc="added to every pixel (0..1 scale), after blurring"
    )
    contrast: float = setting(
        1.0, 0.0, 4.0, unit="x", doc="gain around the frame's mean grey, after brightness"
    )


@dataclass(frozen=True, slots=True)
class ParamInfo:
    """One registry entry: everything a control surface needs to know about a parameter."""

    name: str
    kind: type
    default: Any
    spec: FieldSpec


def registry() -> tuple[ParamInfo, ...]:
    """Every live parameter, in declaration order."""
    kinds = field_types(LiveParams)
    return tuple(
        ParamInfo(f.name, kinds[f.name], f.default, spec_of(f))
        for f in dataclasses.fields(LiveParams)
    )


class ParamStore:
    """Thread-safe holder of the current LiveParams.

    Writers (OSC, later) validate and swap in a new frozen snapshot under a lock; the frame loop
    reads one snapshot per frame, so a change always lands at a frame boundary and never half-way.
    """

    def __init__(self, initial: LiveParams) -> None:
        self._initial = initial
        self._current = initial
        self._lock = threading.Lock()
        self._info = {info.name: info for info in registry()}

    def snapshot(self) -> LiveParams:
        return self._current

    def set(self, name: str, value: Any) -> Any:
        """Validate and apply one change; raises ConfigError naming the parameter when refused."""
        info = self._info.get(name)
        if info is None:
            raise ConfigError(f"{name}: unknown parameter (known: {', '.join(self._info)})")
        accepted = coerce(info.kind, info.spec, value, name)
        with self._lock:
            self._current = dataclasses.replace(self._current, **{name: accepted})
        return accepted

    def reset(self) -> None:
        with self._lock:
            self._current = self._initial
