"""The one registry of live parameters: what a performer may change while frames flow.

Each parameter is a field of `LiveParams`, declared once with its type, range, unit and doc line.
The config's `params:` section, every change's validation, the OSC address space, OSCQuery and
docs/osc.md are all derived from these fields.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ltsd.errors import ConfigError
from ltsd.schema import FieldSpec, coerce, field_types, setting, spec_of


@dataclass(frozen=True, slots=True)
class LiveParams:
    """Pre-processing (group "pre"), output and timing parameters, applied per frame."""

    fit: str = setting(
        "crop",
        choices=("crop", "letterbox"),
        group="pre",
        doc="how a frame of another aspect meets the square model: crop the middle, or pad",
    )
    grayscale: bool = setting(
        True, group="pre", doc="one grey channel in, as Learning to See trains its worlds"
    )
    blur_factor: float = setting(
        24.0, 1.0, 64.0, unit="x", group="pre", continuous=True,
        doc="area-downscale by this factor then bicubic-upscale back (1 = no blur)",
    )  # fmt: skip
    brightness: float = setting(
        0.0, -1.0, 1.0, unit="offset", group="pre", continuous=True,
        doc="added to every pixel (0..1 scale), after blurring",
    )  # fmt: skip
    contrast: float = setting(
        1.0, 0.0, 4.0, unit="x", group="pre", continuous=True,
        doc="gain around the frame's mean grey, after brightness",
    )  # fmt: skip
    auto_exposure: bool = setting(
        False, group="pre",
        doc="bring a dim or bright camera to a well-exposed mean grey over about a second, "
        "before the world's levels and these knobs (dim rooms, daylight that changes)",
    )  # fmt: skip
    world_levels: bool = setting(
        True, group="pre",
        doc="play each world with its own brightness and contrast (in its file) under these knobs",
    )  # fmt: skip
    mix: float = setting(
        1.0, 0.0, 1.0, continuous=True,
        doc="blend of the generator output over the pre-processed input (1 = all world)",
    )  # fmt: skip
    bypass: bool = setting(False, doc="show the pre-processed input instead of the world")
    freeze: bool = setting(False, doc="hold the current output frame")
    crossfade: float = setting(
        0.5, 0.0, 30.0, unit="s", doc="duration of the blend when switching models (0 = cut)"
    )
    smoothing: float = setting(
        0.0, 0.0, 10.0, unit="s",
        doc="time constant that glides continuous parameters to new values (jittery knobs)",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ParamInfo:
    """One registry entry: everything a control surface needs to know about a parameter."""

    name: str
    kind: type
    default: Any
    spec: FieldSpec

    def from_norm(self, norm: float) -> Any:
        """Map a 0..1 knob position onto this parameter's range (or choices, or off/on)."""
        norm = min(1.0, max(0.0, norm))
        if self.kind is bool:
            return norm >= 0.5
        if self.spec.choices is not None:
            return self.spec.choices[
                min(len(self.spec.choices) - 1, int(norm * len(self.spec.choices)))
            ]
        low, high = self.spec.minimum, self.spec.maximum
        value = low + norm * (high - low)
        return round(value) if self.kind is int else value

    def to_norm(self, value: Any) -> float:
        """The 0..1 knob position that stands for `value` (from_norm's inverse; a choice sits in
        the middle of its slice, so a knob set there picks it back)."""
        if self.kind is bool:
            return 1.0 if value else 0.0
        if self.spec.choices is not None:
            return (self.spec.choices.index(value) + 0.5) / len(self.spec.choices)
        low, high = self.spec.minimum, self.spec.maximum
        return 0.0 if high == low else (float(value) - low) / (high - low)

    def coerce_loose(self, value: Any) -> Any:
        """Accept what controllers send (TouchDesigner floats, Max ints for toggles, bridges'
        strings and T/F); clamp numbers into range; refuse NaN, infinity and nonsense."""
        if isinstance(value, str):
            value = _parse_text(value)
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{self.name}: expected a finite number, got {value!r}")
        if self.kind is bool:
            if isinstance(value, bool | int | float):
                return bool(value)
        elif self.spec.choices is not None:
            if isinstance(value, str) and value in self.spec.choices:
                return value
            index = as_index(value)
            if index is not None and 0 <= index < len(self.spec.choices):
                return self.spec.choices[index]
        elif isinstance(value, int | float) and not isinstance(value, bool):  # T/F is no number
            number = min(self.spec.maximum, max(self.spec.minimum, float(value)))
            return round(number) if self.kind is int else number
        raise ConfigError(f"{self.name}: expected {self.spec.allowed(self.kind)}, got {value!r}")


def registry() -> tuple[ParamInfo, ...]:
    """Every live parameter, in declaration order."""
    kinds = field_types(LiveParams)
    return tuple(
        ParamInfo(f.name, kinds[f.name], f.default, spec_of(f))
        for f in dataclasses.fields(LiveParams)
    )


PARAMS: dict[str, ParamInfo] = {info.name: info for info in registry()}
CONTINUOUS = tuple(name for name, info in PARAMS.items() if info.spec.continuous)

Listener = Callable[[str, Any], None]


class ParamStore:
    """Thread-safe holder of the live parameters.

    Writers (OSC) validate and set targets under a lock. The frame thread calls `advance()` once per
    frame: continuous parameters glide toward their targets with time constant `smoothing`, and
    the frame gets one frozen snapshot, so a change lands at a frame boundary, never half-way.
    """

    def __init__(self, initial: LiveParams) -> None:
        self._initial = initial
        self._target = initial
        self._current = initial
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    def snapshot(self) -> LiveParams:
        return self._current

    def targets(self) -> LiveParams:
        return self._target

    def add_listener(self, listener: Listener) -> None:
        """`listener(name, value)` runs after every change of a value, in the writer's thread
        (a value set again unchanged is not a change)."""
        self._listeners.append(listener)

    def set(self, name: str, value: Any, loose: bool = False) -> Any:
        """Validate and apply one change; raises ConfigError naming the parameter when refused.

        loose=True accepts controller-style values (see ParamInfo.coerce_loose)."""
        accepted = self.checked(name, value, loose)
        info = PARAMS[name]
        with self._lock:
            if getattr(self._target, name) == accepted:
                return accepted  # nothing changed: nothing to apply, nobody to tell
            self._target = dataclasses.replace(self._target, **{name: accepted})
            if not (info.spec.continuous and self._target.smoothing > 0):
                self._current = dataclasses.replace(self._current, **{name: accepted})
            else:  # gliding values move in advance(); the rest of the snapshot follows at once
                jumped = {n: getattr(self._target, n) for n in PARAMS if n not in CONTINUOUS}
                self._current = dataclasses.replace(self._current, **jumped)
        for listener in self._listeners:
            listener(name, accepted)
        return accepted

    def set_norm(self, name: str, norm: Any) -> Any:
        return self.set(name, self.checked_norm(name, norm), loose=True)

    def checked(self, name: str, value: Any, loose: bool = False) -> Any:
        """The value set() would apply, without applying it; raises ConfigError when refused."""
        info = PARAMS.get(name)
        if info is None:
            raise ConfigError(f"{name}: unknown parameter (known: {', '.join(PARAMS)})")
        return info.coerce_loose(value) if loose else coerce(info.kind, info.spec, value, name)

    def checked_norm(self, name: str, norm: Any) -> Any:
        """The value a 0..1 knob position `norm` stands for; raises ConfigError when refused."""
        info = PARAMS.get(name)
        if info is None:
            raise ConfigError(f"{name}: unknown parameter (known: {', '.join(PARAMS)})")
        if isinstance(norm, str):
            norm = _parse_text(norm)
        if isinstance(norm, bool) or not isinstance(norm, int | float) or not math.isfinite(norm):
            raise ConfigError(f"{name}/norm: expected a number from 0 to 1, got {norm!r}")
        return info.from_norm(float(norm))

    def advance(self, elapsed_s: float) -> LiveParams:
        """Move gliding parameters `elapsed_s` further toward their targets; return the snapshot."""
        with self._lock:
            target, current = self._target, self._current
            tau = target.smoothing
            if tau <= 0 or elapsed_s <= 0:
                self._current = target
            else:
                keep = math.exp(-elapsed_s / tau)
                glided = {}
                for name in CONTINUOUS:
                    goal, now = getattr(target, name), getattr(current, name)
                    step = now + (goal - now) * (1 - keep)
                    glided[name] = goal if abs(goal - step) < 1e-4 else step
                self._current = dataclasses.replace(target, **glided)
            return self._current

    def set_initial(self, initial: LiveParams) -> None:
        """What reset() returns to (a reloaded config file)."""
        with self._lock:
            self._initial = initial

    def reset(self) -> None:
        with self._lock:
            before = self._target
            self._target = self._current = self._initial
        for name in PARAMS:
            value = getattr(self._initial, name)
            if getattr(before, name) != value:
                for listener in self._listeners:
                    listener(name, value)


def as_index(value: Any) -> int | None:
    """A whole number as controllers send one (int, a float such as 2.0, or the text "2"); None
    for anything else, booleans, fractions and NaN included."""
    if isinstance(value, str):
        value = _parse_text(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    return int(value)


def is_release(arguments: tuple[Any, ...]) -> bool:
    """A momentary button's release: a first argument of 0, 0.0, F or "0"/"false"/"off". A press
    (1, T, a bang, or no argument at all) triggers; the release must not trigger again."""
    if not arguments:
        return False
    first = _parse_text(arguments[0]) if isinstance(arguments[0], str) else arguments[0]
    return first is False or (isinstance(first, int | float) and first == 0)


def _parse_text(text: str) -> Any:
    """Bridges send 'T'/'F', 'true', 'on' or numbers as strings; anything else stays a string."""
    lowered = text.strip().lower()
    if lowered in ("t", "true", "on", "yes"):
        return True
    if lowered in ("f", "false", "off", "no"):
        return False
    try:
        return float(lowered) if lowered.replace(".", "", 1).lstrip("+-").isdigit() else text
    except ValueError:
        return text
