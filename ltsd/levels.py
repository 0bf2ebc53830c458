"""A world's own input levels: the brightness and contrast its camera needs, kept in its file.

A world learned from its own photographs' grey: space from skies that are mostly black, clouds
from bright ones. A camera on a table shows every world the same mid-grey, and a world shown
grey it never saw paints what it paints there (space: a pale fog of stars over everything).
The levels are the performer's `brightness` and `contrast` knobs set once for the world
(`python -m ltsd.train.fit_levels` chooses them on the training side and writes them into the
file); the live knobs add to them, so switching worlds never moves a knob, and
`world_levels false` plays every world on the knobs alone.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from ltsd.params import PARAMS, LiveParams


def knob_range(name: str) -> tuple[float, float]:
    """A live knob's range as its registry declares it: levels may not ask for more than it can."""
    spec = PARAMS[name].spec
    return float(spec.minimum or 0.0), float(spec.maximum or 0.0)


BRIGHTNESS_RANGE = knob_range("brightness")
CONTRAST_RANGE = knob_range("contrast")


def within(value: float, bounds: tuple[float, float]) -> float:
    low, high = bounds
    return min(high, max(low, value))


@dataclass(frozen=True, slots=True)
class InputLevels:
    """Added to the live brightness, multiplied into the live contrast. (0, 1): as the knobs."""

    brightness: float = 0.0
    contrast: float = 1.0

    def __post_init__(self) -> None:
        for name, (low, high) in (("brightness", BRIGHTNESS_RANGE), ("contrast", CONTRAST_RANGE)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"levels.{name} must be a number, not {type(value).__name__}")
            if not (math.isfinite(value) and low <= value <= high):
                raise ValueError(f"levels.{name} {value} is outside {low} … {high}")

    @staticmethod
    def from_metadata(raw: Any) -> InputLevels:
        """From a model file's JSON: an object with these two numbers (either may be left out)."""
        if not isinstance(raw, dict):
            raise TypeError(f"levels must be an object, not {type(raw).__name__}")
        unknown = sorted(set(raw) - {"brightness", "contrast"})
        if unknown:
            raise ValueError(f"levels has unknown key(s) {', '.join(unknown)}")
        return InputLevels(**raw)


KNOBS_ALONE = InputLevels()  # a world without levels of its own (and every older file)


def levelled(params: LiveParams, levels: InputLevels) -> LiveParams:
    """The live parameters a world is played with (once a frame): its levels under the knobs."""
    if not params.world_levels or levels == KNOBS_ALONE:
        return params
    return dataclasses.replace(
        params,
        brightness=within(params.brightness + levels.brightness, BRIGHTNESS_RANGE),
        contrast=within(params.contrast * levels.contrast, CONTRAST_RANGE),
    )
