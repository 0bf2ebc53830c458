"""A texture loss: the distribution of small patches of each pyramid band, matched to the world's.

Why: `ltsd.train.realism` found that what the worlds make of everyday things is furthest from
their photographs in the statistics of small patches at each scale — too smooth in most places,
with sparse hard strokes (the fine bands' kurtosis about twice the photographs') — and the
discriminators, judging whole images, do not say so directly. Heitz et al. (CVPR 2021, "A
Sliced Wasserstein Loss for Neural Texture Synthesis") match such distributions directly: project
the patches on random directions, sort, and compare the sorted values. Here the patches are 7×7
in Y, Cb, Cr of every Laplacian band but the coarsest rest (the layout, which is the camera's by
design), of what the generator makes — of the world's crops and of the camera's images alike —
against the world's real crops in the same batch. Both sets are scaled by the real crops'
spread, so a band's strength counts as well as its shape.
"""

from __future__ import annotations

import torch

from ltsd.train.realism import PATCH, laplacian_pyramid, patches_at, ycbcr

PATCHES_PER_SET = 256
PROJECTIONS = 64


def _patches(band: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """`count` random PATCH×PATCH patches of a (N, C, H, W) band, from any of its images."""
    images, _, height, width = band.shape
    which = torch.randint(0, images, (count,), generator=generator)
    rows = torch.randint(0, height - PATCH + 1, (count,), generator=generator)
    columns = torch.randint(0, width - PATCH + 1, (count,), generator=generator)
    return patches_at(band, *(index.to(band.device) for index in (which, rows, columns)))


def texture_loss(
    fakes: torch.Tensor, reals: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Sliced Wasserstein distance between the patches of `fakes` and `reals` ([-1, 1] RGB),
    averaged over the bands; differentiable in `fakes`."""
    made = laplacian_pyramid(ycbcr((fakes + 1) / 2))[:-1]
    real = laplacian_pyramid(ycbcr((reals.detach() + 1) / 2))[:-1]
    total = fakes.new_zeros(())
    for made_band, real_band in zip(made, real, strict=True):  # every band is 32 px or more
        total = total + _sliced_distance(made_band, real_band, generator)
    return total / max(1, len(made))


def layout_loss(
    fakes: torch.Tensor, reals: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """The same distance on the low-pass rest alone (16 px: the tones and colours of where the
    bright and dark masses are), which `texture_loss` leaves to the camera.

    Why: over everyday things most of a world's distance from its photographs is there (ocean:
    three quarters, models/README.md session 32), and the one lever that moved it, dark pictures
    of the world, did so only indirectly. Measured since: it did not move ocean (its reference,
    the batch's few crops, is mostly noise at this level; models/README.md sessions 32–33)."""
    made = laplacian_pyramid(ycbcr((fakes + 1) / 2))[-1]
    real = laplacian_pyramid(ycbcr((reals.detach() + 1) / 2))[-1]
    return _sliced_distance(made, real, generator)


def _sliced_distance(
    made_band: torch.Tensor, real_band: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Mean |sorted projections| difference of PATCHES_PER_SET patches of each band, both scaled
    by the real patches' spread."""
    made_patches = _patches(made_band, PATCHES_PER_SET, generator)
    real_patches = _patches(real_band, PATCHES_PER_SET, generator)
    mean = real_patches.mean(dim=(0, 1))
    spread = real_patches.std(dim=(0, 1)).clamp_min(1e-4)
    made_flat = ((made_patches - mean) / spread).flatten(1)
    real_flat = ((real_patches - mean) / spread).flatten(1)
    directions = torch.randn(made_flat.shape[1], PROJECTIONS, generator=generator)
    directions = (directions / directions.norm(dim=0, keepdim=True)).to(made_flat)
    made_sorted = (made_flat @ directions).sort(dim=0).values
    real_sorted = (real_flat @ directions).sort(dim=0).values
    return (made_sorted - real_sorted).abs().mean()
