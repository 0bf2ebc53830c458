"""A built-in animated scene in the spirit of the installation, so ltsd runs with no camera.

What a Learning to See camera looks at: a grey cloth-covered table seen from above, lit by one
lamp, with everyday things on it — a cup of coffee, a roll of tape, a phone, a pen, a coaster, a
box — each shaded as if lit from the top left and casting a soft shadow. They are moved by hand:
every second the hand starts pushing the next one, in a shuffled order, to a new place and
angle over a second and a half, so something is always in motion while most things rest —
stillness and gesture, as the installation's camera saw them, not a constant drift.
Frame n is a pure function of (seed, n, size): the same seed always draws the same film.
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

    kind: str  # "cup", "ring", "phone", "bar", "disc" or "box"
    half_width: float
    half_height: float
    rgb: tuple[float, float, float]
    index: int  # which thing of the scene: its own stream of moves
    seed: int
    turn: int  # its place in the hand's round: pushed at moves turn, turn + count, …
    count: int  # how many things the hand goes round


MOVE_S = 1.5  # how long a push takes
PUSH_EVERY_S = 1.0  # the hand starts a push this often (pushes overlap: always one moving)
HALF_SIZES = {
    "cup": (0.12, 0.12),
    "ring": (0.1, 0.1),
    "phone": (0.15, 0.075),
    "bar": (0.22, 0.018),
    "disc": (0.11, 0.11),
    "box": (0.14, 0.1),
}


def make_things(seed: int) -> list[Thing]:
    """The objects of the scene for `seed`, from a private RNG so nothing else perturbs them."""
    rng = np.random.default_rng(seed)
    things = []
    turns = rng.permutation(len(HALF_SIZES))
    for index, kind in enumerate(HALF_SIZES):
        scale = rng.uniform(0.8, 1.2)
        half_width, half_height = (s * scale for s in HALF_SIZES[kind])
        tone = rng.uniform(0.12, 0.92)
        tint = rng.uniform(-0.12, 0.12, size=3)
        rgb = tuple(float(np.clip(tone + t, 0.0, 1.0)) for t in tint)
        things.append(
            Thing(
                kind=kind,
                half_width=half_width,
                half_height=half_height,
                rgb=rgb,  # type: ignore[arg-type]
                index=index,
                seed=seed,
                turn=int(turns[index]),
                count=len(HALF_SIZES),
            )
        )
    return things


def resting_place(thing: Thing, move: int, aspect: float) -> tuple[float, float, float]:
    """(x, y, angle) where `thing` rests after its move number `move`: a pure function of the
    seed, the thing and the move, so any frame can be drawn without the ones before it."""
    rng = np.random.default_rng((thing.seed, thing.index, move + 1))  # move -1: the start
    margin = 0.12
    x = rng.uniform(margin, aspect - margin)
    y = rng.uniform(margin, 1 - margin)
    return x, y, rng.uniform(0, 2 * math.pi)


def placement(thing: Thing, t_s: float, aspect: float) -> tuple[float, float, float]:
    """(x, y, angle) at time t_s: at rest, or part-way through a push (eased in and out)."""
    push = math.floor(t_s / PUSH_EVERY_S)  # the hand's latest push, of whichever thing
    move = math.floor((push - thing.turn) / thing.count)  # this thing's latest (-1: none yet)
    into = t_s - (move * thing.count + thing.turn) * PUSH_EVERY_S
    here = resting_place(thing, move, aspect)
    if move < 0 or into >= MOVE_S:
        return here
    before = resting_place(thing, move - 1, aspect)
    ease = 0.5 - 0.5 * math.cos(math.pi * into / MOVE_S)
    turn = (here[2] - before[2] + math.pi) % (2 * math.pi) - math.pi  # the short way round
    return (
        before[0] + ease * (here[0] - before[0]),
        before[1] + ease * (here[1] - before[1]),
        before[2] + ease * turn,
    )


def render_scene(things: list[Thing], width: int, height: int, t_s: float) -> np.ndarray:
    """Draw the table at time t_s: (height, width, 3) float32 RGB in [0, 1]."""
    ys, xs = _pixel_centres(width, height)
    image = _table(width, height).copy()
    edge = 1.5 / height  # anti-aliasing width: about a pixel and a half
    shadow_offset = 0.02
    for thing in things:
        cx, cy, angle = placement(thing, t_s, width / height)
        reach = math.hypot(thing.half_width, thing.half_height) + shadow_offset + 4 * edge
        rows = slice(*_pixel_span(cy - reach, cy + reach, ys))
        cols = slice(*_pixel_span(cx - reach, cx + reach, xs))
        if rows.start >= rows.stop or cols.start >= cols.stop:
            continue
        region = image[rows, cols]
        for dx, softness, paint in ((shadow_offset, 6 * edge, False), (0.0, edge, True)):
            u = xs[None, cols] - (cx + dx)
            v = ys[rows, None] - (cy + dx)
            local_u = u * math.cos(angle) + v * math.sin(angle)
            local_v = -u * math.sin(angle) + v * math.cos(angle)
            coverage = np.clip(0.5 - _distance(thing, local_u, local_v) / softness, 0.0, 1.0)
            if not paint:
                region *= (1.0 - 0.35 * coverage)[:, :, None]
            else:
                colour = _shaded(thing, u, v, local_u, local_v, edge)
                region += coverage[:, :, None] * (colour - region)
    return image


def _shaded(
    thing: Thing,
    u: np.ndarray,
    v: np.ndarray,
    local_u: np.ndarray,
    local_v: np.ndarray,
    edge: float,
) -> np.ndarray:
    """The thing's colour with light from the top left across it and its own inner detail: the
    coffee in the cup, the phone's screen, the tape's shine, the box's lid."""
    size = max(thing.half_width, thing.half_height)
    light = 1.0 + 0.22 * np.clip(-(u + v) / (2 * size), -1.0, 1.0)  # screen-space: the lamp
    colour = np.asarray(thing.rgb, dtype=np.float32) * light[:, :, None]
    inner = None
    if thing.kind == "cup":  # coffee, dark brown, inside the rim
        inner = (np.hypot(local_u, local_v) - 0.72 * thing.half_width, (0.23, 0.13, 0.07))
    elif thing.kind == "phone":  # a dark screen with a bezel
        inner = (_rounded_box(local_u, local_v, thing.half_width * 0.82, thing.half_height * 0.78,
                              thing.half_height * 0.2), (0.06, 0.07, 0.09))  # fmt: skip
    elif thing.kind == "box":  # a lid line: a slightly darker inset
        lid = _rounded_box(
            local_u, local_v, thing.half_width * 0.85, thing.half_height * 0.8,
            thing.half_height * 0.1,
        )  # fmt: skip
        inner = (lid, tuple(0.82 * c for c in thing.rgb))
    elif thing.kind in ("ring", "disc"):  # a shine on the near edge
        rim = np.abs(np.hypot(local_u, local_v) - 0.85 * thing.half_width) - 0.06 * size
        inner = (rim, tuple(min(1.0, 1.25 * c + 0.05) for c in thing.rgb))
    if inner is not None:
        distance, paint = inner
        cover = np.clip(0.5 - distance / edge, 0.0, 1.0)[:, :, None]
        colour += cover * (np.asarray(paint, dtype=np.float32) * light[:, :, None] - colour)
    return np.clip(colour, 0.0, 1.0)


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
    if thing.kind in ("disc", "cup"):
        round_part = np.hypot(u, v) - thing.half_width
        if thing.kind == "disc":
            return round_part
        handle = _rounded_box(u - thing.half_width * 1.1, v, thing.half_width * 0.32,
                              thing.half_width * 0.12, thing.half_width * 0.1)  # fmt: skip
        return np.minimum(round_part, handle)
    if thing.kind == "ring":
        return np.abs(np.hypot(u, v) - thing.half_width * 0.7) - thing.half_width * 0.3
    corner = min(thing.half_width, thing.half_height) * (0.9 if thing.kind == "bar" else 0.3)
    return _rounded_box(u, v, thing.half_width, thing.half_height, corner)


def _rounded_box(
    u: np.ndarray, v: np.ndarray, half_width: float, half_height: float, corner: float
) -> np.ndarray:
    qx = np.abs(u) - (half_width - corner)
    qy = np.abs(v) - (half_height - corner)
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
    """The empty table: grey cloth, a soft pool of lamp light in the middle, a faint weave and
    a few folds (fixed: the cloth does not move)."""
    ys, xs = _pixel_centres(width, height)
    light = np.exp(-((xs[None, :] - xs.mean()) ** 2 + (ys[:, None] - 0.5) ** 2) * 2.0)
    rng = np.random.default_rng(12345)
    weave = rng.normal(0.0, 0.012, size=(height, width))
    folds = sum(
        0.015 * np.sin(2 * np.pi * (xs[None, :] * fx + ys[:, None] * fy) + phase)
        for fx, fy, phase in rng.uniform((-1.5, -1.5, 0), (1.5, 1.5, 2 * np.pi), size=(3, 3))
    )
    grey = 0.42 + 0.1 * light + weave + folds
    return np.repeat(grey[:, :, None], 3, axis=2).astype(np.float32)


def _pixel_span(low: float, high: float, centres: np.ndarray) -> tuple[int, int]:
    return int(np.searchsorted(centres, low)), int(np.searchsorted(centres, high))
