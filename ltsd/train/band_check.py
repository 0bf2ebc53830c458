"""What would a camera-like loss cost a world's photographs, band by band?

    python -m ltsd.train.band_check HELD_OUT_DIR [--training IMAGES_DIR] [--crops 96]

Why: a world's outputs are far from its photographs at every band of the realism score
(`ltsd.train.realism`). Before blaming a loss of resolution (the generator's last ×2 level) or
its colour at half resolution, put the world's own photographs through each such change and
judge them exactly as evaluate judges the outputs: one half of the held-out crops, changed,
against the other half. A change that does not move a band cannot be what keeps it off.
With `--training`, the world's training photographs are judged the same way: the distance a
generator that drew exactly what it was shown would score.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from ltsd.errors import run_command
from ltsd.generator import half_resolution_chroma
from ltsd.train.data import load_images
from ltsd.train.realism import level_distances, split_halves

Change = Callable[[torch.Tensor], torch.Tensor]


def at_resolution(images: torch.Tensor, factor: int, mode: str) -> torch.Tensor:
    """Averaged down by `factor`, resized back up by `mode` (nearest or bilinear)."""
    small = F.avg_pool2d(images, factor)
    if mode == "nearest":
        return F.interpolate(small, scale_factor=factor, mode="nearest")
    return F.interpolate(small, scale_factor=factor, mode=mode, align_corners=False)


def blurred(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """A separable Gaussian blur (reflected edges)."""
    radius = max(1, round(3 * sigma))
    taps = torch.arange(-radius, radius + 1, dtype=images.dtype)
    kernel = torch.exp(-(taps**2) / (2 * sigma**2))
    kernel /= kernel.sum()
    channels = images.shape[1]
    across = kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1)
    down = kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1)
    wide = F.pad(images, (radius, radius, 0, 0), mode="reflect")
    images = F.conv2d(wide, across, groups=channels)
    tall = F.pad(images, (0, 0, radius, radius), mode="reflect")
    return F.conv2d(tall, down, groups=channels)


def finest_band_scaled(images: torch.Tensor, factor: float) -> torch.Tensor:
    """The 1–2 px detail (the image less its half-resolution version) times `factor`."""
    smooth = at_resolution(images, 2, "bilinear")
    return (smooth + factor * (images - smooth)).clamp(0, 1)


def half_chroma(images: torch.Tensor) -> torch.Tensor:
    """Colour at half resolution, as a generator with `--chroma half` draws it."""
    return (half_resolution_chroma(images * 2 - 1) + 1) / 2


CHANGES: dict[str, Change] = {
    "as they are": lambda images: images,
    "colour at half resolution": half_chroma,
    "finest band at 0.44 of its strength": lambda images: finest_band_scaled(images, 0.44),
    "finest band at twice its strength": lambda images: finest_band_scaled(images, 2.0),
    "half resolution, nearest back": lambda images: at_resolution(images, 2, "nearest"),
    "half resolution, bilinear back": lambda images: at_resolution(images, 2, "bilinear"),
    "quarter resolution, bilinear back": lambda images: at_resolution(images, 4, "bilinear"),
    "blur σ 1 px": lambda images: blurred(images, 1.0),
    "blur σ 2 px": lambda images: blurred(images, 2.0),
}


def _distances(images: torch.Tensor, reference: torch.Tensor, seeds: int) -> list[float]:
    per_seed = [level_distances(images, reference, seed) for seed in range(seeds)]
    return [sum(values) / seeds for values in zip(*per_seed, strict=True)]


TRAINING = "the training photographs"


def band_costs(
    photographs: torch.Tensor, training: torch.Tensor | None = None, seeds: int = 3
) -> dict[str, list[float]]:
    """Per change: the patch distance per level (finest first, layout last, ×1e3, mean over
    `seeds`) of half the (N, 3, H, W) photographs changed, against the other half; and, given
    `training` crops, theirs (as many as the half) under "the training photographs"."""
    reference, other = split_halves(photographs)
    costs = {name: _distances(change(other), reference, seeds) for name, change in CHANGES.items()}
    if training is not None:
        costs[TRAINING] = _distances(training[: len(other)], reference, seeds)
    return costs


def main() -> None:
    from ltsd.train.evaluate import held_out_crops

    parser = argparse.ArgumentParser(description="what resolution and colour changes cost a "
                                     "world's own photographs, band by band")  # fmt: skip
    parser.add_argument("held_out", type=Path, help="photographs of the world kept from training")
    parser.add_argument("--training", type=Path, help="the world's training photographs")
    parser.add_argument("--crops", type=int, default=96)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    photographs = held_out_crops(load_images(args.held_out), args.crops, args.size)
    training = None
    if args.training is not None:  # drawn as the held-out are, half as many
        training = held_out_crops(load_images(args.training), args.crops // 2, args.size, draw=1)
    print("change | patch distance per level ×1e3, finest first, layout last")
    for name, distances in band_costs(photographs, training).items():
        print(f"{name} | " + " / ".join(f"{value:.0f}" for value in distances))


if __name__ == "__main__":
    run_command(main, "ltsd.train.band_check")
