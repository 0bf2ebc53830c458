"""The Learning to See degradation recipe's parameters, apart from the code that applies them
(`ltsd.train.data`), so that `ltsd train`'s parser can show their defaults without loading torch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Degradation:
    """The recipe's parameters; stored in every exported model's metadata."""

    grayscale: bool = True
    blur_factor: float = 24.0
    brightness_jitter: float = 0.2
    contrast_jitter: float = 0.15
    scale_range: tuple[float, float] = (1.0, 1.3)
    flips: bool = False  # random left-right and up-down flips: worlds with no up or down
    mirror: bool = False  # random left-right flips only: worlds with a sky above (sea, clouds)
    darken: float = 0.0  # each pair's photograph × a random gain from 1 − this to 1
