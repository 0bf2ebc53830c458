"""Training pairs made on the fly from target images only, as in Learning to See.

Each target is scaled to a random 100–130 % of the model size and randomly cropped; the input is
that crop passed through `ltsd.preprocess.degrade` — the daemon's own function — with random
brightness (±20 %) and contrast (±15 %).
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
from kornia.geometry.transform import resize
from PIL import Image

from ltsd.errors import LtsdError
from ltsd.preprocess import degrade
from ltsd.stills import StillError, decode_still, is_still
from ltsd.train.recipe import Degradation

log = logging.getLogger(__name__)


def load_images(
    folder: Path, short_side_limit: int | None = None, workers: int = 0
) -> list[torch.Tensor]:
    """Every readable image under `folder` (nested too) as (3, H, W) uint8 tensors
    (`load_named_images` without the paths)."""
    return list(load_named_images(folder, short_side_limit, workers).values())


def load_named_images(
    folder: Path, short_side_limit: int | None = None, workers: int = 0
) -> dict[Path, torch.Tensor]:
    """Every readable image under `folder` (nested too) as (3, H, W) uint8 tensors, by path
    (sorted).

    Decoding runs once, in `workers` processes (0 = one per core), so training never waits on
    JPEG decoding. Images whose short side exceeds `short_side_limit` are shrunk to it: crops are
    taken from the image scaled to 100–130 % of the model size, so keeping more pixels than that
    only costs memory (thousands of photos fit this way). Unreadable files are skipped with a
    warning naming each; no usable image is a LtsdError.
    """
    if not folder.is_dir():
        raise LtsdError(f"{folder}: image folder not found")
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and is_still(p))
    if not paths:
        raise LtsdError(f"{folder}: no readable images found")
    jobs = [(path, short_side_limit) for path in paths]
    if len(paths) == 1 or workers == 1:
        decoded = [_decode(job) for job in jobs]
    else:
        count = workers or min(len(paths), os.cpu_count() or 1)
        with ProcessPoolExecutor(max_workers=count) as pool:
            decoded = list(pool.map(_decode, jobs, chunksize=8))
    images = {}
    for path, pixels in zip(paths, decoded, strict=True):
        if isinstance(pixels, str):
            log.warning("skipping %s", pixels)
            continue
        images[path] = torch.from_numpy(pixels).permute(2, 0, 1).contiguous()
    if not images:
        raise LtsdError(f"{folder}: no readable images found")
    return images


def _decode(job: tuple[Path, int | None]) -> np.ndarray | str:
    """(H, W, 3) uint8 RGB of one file, shrunk so its short side is at most the limit; or why
    it cannot be used (a string: it crosses a process boundary)."""
    path, limit = job
    try:
        image = Image.fromarray(decode_still(path))
    except StillError as error:
        return str(error)
    short = min(image.size)
    if limit is not None and short > limit:
        scale = limit / short
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BOX)
    return np.asarray(image, dtype=np.uint8).copy()


def random_crops(
    images: list[torch.Tensor],
    count: int,
    size: int,
    recipe: Degradation,
    rng: torch.Generator,
    margin: int = 0,
) -> torch.Tensor:
    """`count` targets: each from a random image, scaled to 100–130 % of `size`, randomly cropped.

    Returns (count, 3, size + margin, size + margin) in [0, 1]: a margin leaves room for a
    second, moved view (`ltsd.train.steady`).
    """
    crops = []
    picks = torch.randint(len(images), (count,), generator=rng)
    for pick in picks.tolist():
        image = images[pick].float().div_(255.0)
        low, high = recipe.scale_range
        scale = low + (high - low) * float(torch.rand((), generator=rng))
        short_side = max(size, round(size * scale)) + margin
        scaled = resize(image[None], short_side, side="short", interpolation="area")
        height, width = scaled.shape[-2:]
        side = size + margin
        top = int(torch.randint(height - side + 1, (), generator=rng))
        left = int(torch.randint(width - side + 1, (), generator=rng))
        crop = scaled[..., top : top + side, left : left + side]
        if (recipe.flips or recipe.mirror) and bool(torch.rand((), generator=rng) < 0.5):
            crop = crop.flip(-1)
        if recipe.flips and bool(torch.rand((), generator=rng) < 0.5):
            crop = crop.flip(-2)
        crops.append(crop)
    return torch.cat(crops)


def make_pairs(
    targets: torch.Tensor, recipe: Degradation, rng: torch.Generator, views: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets) in [-1, 1] from targets (B, 3, H, W) in [0, 1]: the daemon's degradation
    with per-sample random brightness and contrast; with `recipe.darken`, the photograph itself
    darkened first, input and target alike (an underexposed picture of the world: the world learns
    to draw itself dark, not to brighten a dark room). With `views` > 1, targets are that many
    views of B / views scenes, one after the other, and each scene's views share its brightness,
    contrast and darkening, as consecutive frames of one camera do."""
    batch = targets.shape[0] // views
    brightness = (torch.rand(batch, generator=rng) * 2 - 1) * recipe.brightness_jitter
    contrast = 1 + (torch.rand(batch, generator=rng) * 2 - 1) * recipe.contrast_jitter
    brightness, contrast = brightness.repeat(views), contrast.repeat(views)
    if recipe.darken:  # an underexposed photograph of the world: a dark room still draws it
        gain = 1 - torch.rand(batch, generator=rng) * recipe.darken
        targets = targets * gain.repeat(views)[:, None, None, None].to(targets)
    degraded = degrade(
        targets, recipe.grayscale, recipe.blur_factor, brightness.to(targets), contrast.to(targets)
    )
    return degraded * 2 - 1, targets * 2 - 1
