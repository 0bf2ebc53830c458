"""Discriminators on frozen pretrained features, a perceptual loss, and DiffAugment.

Projected GANs (Sauer, Chitta, Müller & Geiger 2021) judge images in the feature space of a frozen
ImageNet network through fixed random 1×1 projections, one small discriminator per scale: the
features already know what photographs look like, so a discriminator trained from a few dozen
images learns fast and cannot be fooled by colour speckle or stroke textures no photograph has.
The random projections (never trained) spread every feature channel over every discriminator
input, so no scale's discriminator can lean on a few channels.

DiffAugment (Zhao et al. 2020) translates, cuts out and recolours real and generated images
alike before they are judged, with gradients flowing through, so a discriminator on a small set
cannot memorise its images. The pair (generated, real) is augmented with the same draw, so the
perceptual loss (LPIPS-style: unit-normalised features, squared difference) compares like with like.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ltsd.train.features import TAP_CHANNELS, EfficientNetLite0

PROJECTED_WIDTHS = (32, 64, 128, 256)
PATCH_GRID = 8  # each scale's discriminator judges an 8×8 grid of overlapping regions


class FeatureProjector(nn.Module):
    """The frozen feature network and its fixed random projections: images → four feature maps."""

    def __init__(self, network: EfficientNetLite0, seed: int = 0) -> None:
        super().__init__()
        self.network = network.to(memory_format=torch.channels_last)
        generator = torch.Generator().manual_seed(seed)
        projections = []
        for width_in, width_out in zip(TAP_CHANNELS, PROJECTED_WIDTHS, strict=True):
            weight = torch.randn(width_out, width_in, 1, 1, generator=generator)
            projections.append(weight * (2.0 / width_in) ** 0.5)  # Kaiming: variance kept
        self.projections = [nn.Parameter(p, requires_grad=False) for p in projections]
        for index, projection in enumerate(self.projections):
            self.register_parameter(f"projection_{index}", projection)
        self.requires_grad_(False)

    def taps(self, images: torch.Tensor) -> list[torch.Tensor]:
        """The feature network's four scales of (B, 3, H, W) in [-1, 1]."""
        return self.network.taps(images.contiguous(memory_format=torch.channels_last))

    def project(self, taps: list[torch.Tensor]) -> list[torch.Tensor]:
        return [F.conv2d(t, p) for t, p in zip(taps, self.projections, strict=True)]


def _down_block(width_in: int, width_out: int) -> nn.Sequential:
    return nn.Sequential(
        spectral_norm(nn.Conv2d(width_in, width_out, 4, 2, 1, bias=False)),
        nn.BatchNorm2d(width_out),
        nn.LeakyReLU(0.2, inplace=True),
    )


class ProjectedDiscriminator(nn.Module):
    """One small patch discriminator per projected scale; logits (B, 1, 8, 8) each."""

    def __init__(self, resolution: int = 256) -> None:
        super().__init__()
        heads = []
        for scale, width in enumerate(PROJECTED_WIDTHS):
            size = resolution // 2 ** (scale + 2)  # the taps are at strides 4, 8, 16, 32
            blocks: list[nn.Module] = []
            while size > PATCH_GRID:
                blocks.append(_down_block(width, min(width * 2, 512)))
                width, size = min(width * 2, 512), size // 2
            blocks.append(spectral_norm(nn.Conv2d(width, 1, 3, 1, 1)))
            heads.append(nn.Sequential(*blocks))
        self.heads = nn.ModuleList(heads)

    def forward(self, projected: list[torch.Tensor]) -> list[torch.Tensor]:
        return [head(features) for head, features in zip(self.heads, projected, strict=True)]


def hinge_discriminator_loss(real: list[torch.Tensor], fake: list[torch.Tensor]) -> torch.Tensor:
    losses = [F.relu(1 - r).mean() + F.relu(1 + f).mean() for r, f in zip(real, fake, strict=True)]
    return torch.stack(losses).mean()


def hinge_generator_loss(fake: list[torch.Tensor]) -> torch.Tensor:
    return torch.stack([-f.mean() for f in fake]).mean()


def perceptual_loss(fake: list[torch.Tensor], real: list[torch.Tensor]) -> torch.Tensor:
    """Mean over scales of the squared difference of channel-unit-normalised features."""
    losses = []
    for f, r in zip(fake, real, strict=True):
        f = f / (f.square().sum(1, keepdim=True).sqrt() + 1e-6)
        r = r / (r.square().sum(1, keepdim=True).sqrt() + 1e-6)
        losses.append((f - r.detach()).square().sum(1).mean())
    return torch.stack(losses).mean()


def paired_augment(
    fakes: torch.Tensor, reals: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same augmentation of each generated image and its real counterpart."""
    draws = _draw(fakes.shape[0], fakes.shape[-1], generator)
    return _augment(fakes, draws), _augment(reals, draws)


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """An augmentation of generated images that have no real counterpart (the camera's)."""
    return _augment(images, _draw(images.shape[0], images.shape[-1], generator))


def _draw(batch: int, size: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    def uniform(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator)

    shift = size // 8
    cut = size // 2
    return {
        "brightness": uniform(batch, 1, 1, 1) - 0.5,
        "saturation": uniform(batch, 1, 1, 1) * 2,
        "contrast": uniform(batch, 1, 1, 1) + 0.5,
        "shift": torch.randint(-shift, shift + 1, (batch, 2), generator=generator),
        "cut": torch.randint(0, size + (1 - cut % 2), (batch, 2), generator=generator),
    }


def _augment(images: torch.Tensor, draws: dict[str, torch.Tensor]) -> torch.Tensor:
    """On [-1, 1] images: DiffAugment's colour, translation and cutout (their [-1, 1] forms)."""
    device = images.device
    brightness, saturation, contrast = (draws[k].to(device) for k in ("brightness", "saturation",
                                                                        "contrast"))  # fmt: skip
    images = images + brightness
    mean = images.mean(dim=1, keepdim=True)
    images = (images - mean) * saturation + mean
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    images = (images - mean) * contrast + mean

    batch, _, height, width = images.shape
    rows = torch.arange(height, device=device)
    columns = torch.arange(width, device=device)
    shift = draws["shift"].to(device)
    # translation with zero fill: gather from shifted coordinates, zero where out of range
    source_rows = rows[None, :] - shift[:, 0:1]
    source_columns = columns[None, :] - shift[:, 1:2]
    valid = ((source_rows >= 0) & (source_rows < height))[:, :, None] & (
        (source_columns >= 0) & (source_columns < width)
    )[:, None, :]
    source_rows = source_rows.clamp(0, height - 1)
    source_columns = source_columns.clamp(0, width - 1)
    index = (source_rows[:, :, None] * width + source_columns[:, None, :]).view(batch, 1, -1)
    flat = images.reshape(batch, images.shape[1], -1)
    images = flat.gather(2, index.expand(-1, images.shape[1], -1)).view_as(images)
    images = images * valid[:, None].to(images.dtype)

    cut_size = height // 2
    centre = draws["cut"].to(device)
    top = (centre[:, 0:1] - cut_size // 2).clamp(0, height)
    left = (centre[:, 1:2] - cut_size // 2).clamp(0, width)
    inside = ((rows[None, :] >= top) & (rows[None, :] < top + cut_size))[:, :, None] & (
        (columns[None, :] >= left) & (columns[None, :] < left + cut_size)
    )[:, None, :]
    return images * (~inside)[:, None].to(images.dtype)
