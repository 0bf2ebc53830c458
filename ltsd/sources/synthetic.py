"""A built-in animated scene in the spirit of the installation, so ltsd runs with no camera.

A grey table seen from above, with a few everyday things (a cup, a roll of tape, a phone, a pen, a
coaster) sliding, turning and overlapping, each with a soft shadow. Frame n is a pure function of
(seed, n, size): the same seed always draws the same film.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ltsd.config import SyntheticConfig
from ltsd.frame import Frame
from ltsd.sources.pacing import Pacer

TIMECODE_UNITS_PER_S = 10_000_000  # NDI timecodes count 100 ns ticks


@dataclass(frozen=True, slots=True)
class Thing:
    """One object on the table. Sizes and positions are fractions of the frame height."""

    kind: str  # "disc", "ring", "box" or "bar"
    half_width: float
    half_height: float
    rgb: tuple[float, float, float]
    centre: tuple[float, float]
    sway: tuple[float, float]
    sway_hz: tuple[float, float]
    phase: float
    spin_rad_per_s: float


def make_things(seed: int) -> list[Thing]:
    """The objects of the scene for `seed`, from a private RNG so nothing else perturbs them."""
    rng = np.random.default_rng(seed)
    kinds = ["disc", "ring", "box", "bar", "disc", "box"]
    half_sizes = {
        "disc": (0.13, 0.13),
        "ring": (0.11, 0.11),
        "box": (0.16, 0.09),
        "bar": (0.24, 0.025),
    }
    things = []
    for kind in kinds:
        scale = rng.uniform(0.75, 1.25)
        half_width, half_height = (s * scale for s in half_sizes[kind])
        tone = rng.uniform(0.15, 0.95)
        tint = rng.uniform(-0.12, 0.12, size=3)
        rgb = tuple(float(np.clip(tone + t, 0.0, 1.0)) for t in tint)
        things.append(
            Thing(
                kind=kind,
                half_width=half_width,
                half_height=half_height,
                rgb=rgb,  # type: ignore[arg-type]
                centre=(rng.uniform(0.35, 1.4), rng.uniform(0.25, 0.75)),
                sway=(rng.uniform(0.1, 0.5), rng.uniform(0.05, 0.25)),
                sway_hz=(rng.uniform(0.03, 0.12), rng.uniform(0.04, 0.15)),
                phase=rng.uniform(0, 2 * math.pi),
                spin_rad_per_s=rng.uniform(-0.6, 0.6),
            )
        )
    return things


def render_scene(things: list[Thing], width: int, height: int, t_s: float) -> np.ndarray:
    """Draw the table at time t_s: (height, width, 3) float32 RGB in [0, 1]."""
    ys, xs = _pixel_centres(width, height)
    image = _table(width, height).copy()
    edge = 1.5 / height  # anti-aliasing width: about a pixel and a half
    shadow_offset = 0.02
    for thing in things:
        cx = thing.centre[0] + thing.sway[0] * math.sin(
            2 * math.pi * thing.sway_hz[0] * t_s + thing.phase
        )
        cy = thing.centre[1] + thing.sway[1] * math.sin(
            2 * math.pi * thing.sway_hz[1] * t_s + 2 * thing.phase
        )
        angle = thing.phase + thing.spin_rad_per_s * t_s
        reach = math.hypot(thing.half_width, thing.half_height) + shadow_offset + 4 * edge
        rows = slice(*_pixel_span(cy - reach, cy + reach, ys))
        cols = slice(*_pixel_span(cx - reach, cx + reach, xs))
        if rows.start >= rows.stop or cols.start >= cols.stop:
            continue
        region = image[rows, cols]
        for dx, softness, paint in ((shadow_offset, 6 * edge, None), (0.0, edge, thing.rgb)):
            u = xs[None, cols] - (cx + dx)
            v = ys[rows, None] - (cy + dx)
            local_u = u * math.cos(angle) + v * math.sin(angle)
            local_v = -u * math.sin(angle) + v * math.cos(angle)
            coverage = np.clip(0.5 - _distance(thing, local_u, local_v) / softness, 0.0, 1.0)
            if paint is None:
                region *= (1.0 - 0.35 * coverage)[:, :, None]
            else:
                colour = np.asarray(paint, dtype=np.float32)
                region += coverage[:, :, None] * (colour - region)
    return image


class SyntheticSource:
    """Paces `render_scene` at the configured frame rate; never falls behind by bursting."""

    def __init__(self, config: SyntheticConfig) -> None:
        self.description = (
            f"synthetic {config.width}x{config.height}@{config.fps:g} seed {config.seed}"
        )
        self._config = config
        self._things = make_things(config.seed)
        self._frame_rate = Fraction(config.fps).limit_denominator(1001)
        self._index = 0
        self._pacer = Pacer(config.fps)
        self._bgrx = np.full((config.height, config.width, 4), 255, dtype=np.uint8)

    def frame_at(self, index: int) -> np.ndarray:
        """The BGRX pixels of frame `index` (a fresh array)."""
        rgb = render_scene(
            self._things, self._config.width, self._config.height, index / self._config.fps
        )
        bgrx = self._bgrx.copy()
        bgrx[:, :, :3] = (rgb[:, :, ::-1] * 255.0 + 0.5).astype(np.uint8)
        return bgrx

    def read(self, timeout_s: float) -> Frame | None:
        if not self._pacer.wait(timeout_s):
            return None
        index = self._index
        self._index += 1
        timecode = round(index * TIMECODE_UNITS_PER_S / self._config.fps)
        return Frame(self.frame_at(index), timecode, self._frame_rate, time.monotonic_ns())

    def close(self) -> None:
        pass


def _distance(thing: Thing, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Signed distance (negative inside) from local coordinates to the outline of `thing`."""
    if thing.kind == "disc":
        return np.hypot(u, v) - thing.half_width
    if thing.kind == "ring":
        return np.abs(np.hypot(u, v) - thing.half_width * 0.7) - thing.half_width * 0.3
    corner = min(thing.half_width, thing.half_height) * (0.35 if thing.kind == "box" else 0.9)
    qx = np.abs(u) - (thing.half_width - corner)
    qy = np.abs(v) - (thing.half_height - corner)
    outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
    inside = np.minimum(np.maximum(qx, qy), 0.0)
    return outside + inside - corner


@functools.lru_cache(maxsize=4)
def _pixel_centres(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel centres in units of the frame height (so shapes are never stretched)."""
    ys = (np.arange(height, dtype=np.float32) + 0.5) / height
    xs = (np.arange(width, dtype=np.float32) + 0.5) / height
    return ys, xs


@functools.lru_cache(maxsize=4)
def _table(width: int, height: int) -> np.ndarray:
    """The empty table: mid grey with a soft pool of light in the middle."""
    ys, xs = _pixel_centres(width, height)
    light = np.exp(-((xs[None, :] - xs.mean()) ** 2 + (ys[:, None] - 0.5) ** 2) * 2.0)
    return np.repeat((0.46 + 0.06 * light)[:, :, None], 3, axis=2).astype(np.float32)


def _pixel_span(low: float, high: float, centres: np.ndarray) -> tuple[int, int]:
    return int(np.searchsorted(centres, low)), int(np.searchsorted(centres, high))
