"""Auto exposure: a dim room shown to a world as a well-exposed camera would show it.

Every world learned from well-exposed photographs. A camera in a dim gallery, at dusk, or with
its exposure locked gives it greys it never saw, and the worlds draw what they draw there:
ocean horizontal grey bands, space and fire black, flowers a green murk (runs of
docs/samples at a third of their brightness, models/README.md). With `auto_exposure` on, the
frame's mean grey, followed over about a second as a camera's own auto exposure follows it, is
brought to a well-exposed photograph's by one gain; the world's levels and the brightness and
contrast knobs act after it, as before.
"""

from __future__ import annotations

import math

import torch

TARGET_GREY = 0.45  # a well-exposed photograph's mean grey: the camera images that the worlds'
# levels were fitted against average 0.44, make_worlds' everyday photographs 0.50
TIME_CONSTANT_S = 1.0  # slow enough not to pump when a hand crosses the table
GAIN_RANGE = (0.5, 4.0)  # one stop down, two up: a black frame stays black, not noise


class AutoExposure:
    """Follows the frames' mean grey; `apply` brings each frame to `TARGET_GREY` by a gain.

    The mean is smoothed on the frames' own clock (`received_ns`), so a frame rate change does
    not change how fast it follows, and it stays a tensor on the frame's device: no wait for the
    GPU once a frame."""

    def __init__(self) -> None:
        self._mean: torch.Tensor | None = None
        self._last_ns = 0

    def reset(self) -> None:
        """Forget the room: the next frame is measured afresh (exposure turned back on)."""
        self._mean = None

    def apply(self, fitted: torch.Tensor, now_ns: int) -> torch.Tensor:
        """`fitted` (B, C, H, W) in [0, 1] (grey or RGB) times the gain, clamped to [0, 1]."""
        mean = fitted.mean()
        if self._mean is None or self._mean.device != mean.device:
            self._mean = mean
        else:
            elapsed_s = max(0.0, (now_ns - self._last_ns) / 1e9)
            follow = 1.0 - math.exp(-elapsed_s / TIME_CONSTANT_S)
            self._mean = torch.lerp(self._mean, mean, follow)
        self._last_ns = now_ns
        gain = (TARGET_GREY / self._mean.clamp_min(1e-4)).clamp(*GAIN_RANGE)
        return (fitted * gain).clamp_(0.0, 1.0)
