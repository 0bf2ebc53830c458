"""The pix2pix PatchGAN discriminator: judges 70×70 patches of (input, output) pairs."""

from __future__ import annotations

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
