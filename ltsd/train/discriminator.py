"""PatchGAN discriminators: pix2pix's 70×70 one, and pix2pixHD's multi-scale set of them."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def patch_discriminator(in_channels: int, ndf: int = 64, layers: int = 3) -> nn.Sequential:
    """(B, in_channels, H, W) → (B, 1, H', W') real/fake logits per patch (pix2pix n_layers=3)."""
    blocks: list[nn.Module] = [
        nn.Conv2d(in_channels, ndf, 4, 2, 1),
        nn.LeakyReLU(0.2, inplace=True),
    ]
    width = ndf
    for layer in range(1, layers + 1):
        next_width = ndf * min(2**layer, 8)
        stride = 2 if layer < layers else 1
        blocks += [
            nn.Conv2d(width, next_width, 4, stride, 1, bias=False),
            nn.BatchNorm2d(next_width),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        width = next_width
    blocks.append(nn.Conv2d(width, 1, 4, 1, 1))
    return nn.Sequential(*blocks)


class MultiScaleDiscriminator(nn.Module):
    """PatchGANs on the pair at full, half, quarter … resolution (Wang et al. 2018, pix2pixHD).

    The coarse ones see whole shapes, the full-size one texture, so a lighter network at each scale
    judges as much as one wide one. forward returns, per scale, every block's activations with the
    logits last: the activations feed the feature-matching loss.
    """

    def __init__(self, in_channels: int, ndf: int, scales: int = 2, layers: int = 3) -> None:
        super().__init__()
        self.scales = nn.ModuleList(
            patch_discriminator(in_channels, ndf, layers) for _ in range(scales)
        )

    def forward(self, pair: torch.Tensor) -> list[list[torch.Tensor]]:
        judged = []
        for index, network in enumerate(self.scales):
            if index:
                pair = F.avg_pool2d(pair, 3, stride=2, padding=1, count_include_pad=False)
            activations, features = [], pair
            for block in network:
                features = block(features)
                if isinstance(block, nn.LeakyReLU):
                    activations.append(features)
            judged.append([*activations, features])
        return judged


def adversarial_loss(judged: list[list[torch.Tensor]], real: bool) -> torch.Tensor:
    """Mean binary cross-entropy of every scale's logits against all-real or all-fake."""
    losses = [
        F.binary_cross_entropy_with_logits(
            logits[-1], torch.full_like(logits[-1], 1.0 if real else 0.0)
        )
        for logits in judged
    ]
    return torch.stack(losses).mean()


def feature_matching_loss(
    fake: list[list[torch.Tensor]], real: list[list[torch.Tensor]]
) -> torch.Tensor:
    """L1 between the discriminator's activations on fake and (detached) real pairs, averaged over
    layers and scales: the generator learns the statistics of real texture, not just to fool."""
    losses = [
        F.l1_loss(fake_features, real_features.detach())
        for fake_scale, real_scale in zip(fake, real, strict=True)
        for fake_features, real_features in zip(fake_scale[:-1], real_scale[:-1], strict=True)
    ]
    return torch.stack(losses).mean()
