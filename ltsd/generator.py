"""The pix2pix U-Net generator, with its width and depth as arguments.

Same layout as the original (Isola et al. 2017; junyanz/pytorch-CycleGAN-and-pix2pix): 4×4 stride-2
convolutions down, transposed convolutions up, a skip connection at every level. ngf 64 / cap 512 /
depth 8 is the paper's 54.4 M-parameter generator; ngf 8 / cap 512 is the web re-make's 16.8 M one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True, slots=True)
class GeneratorSpec:
    """The hyper-parameters that fix a generator's weights' shapes."""

    in_channels: int = 1
    out_channels: int = 3
    ngf: int = 64
    max_channels: int = 512
    depth: int = 8

    def widths(self) -> list[int]:
        """Channels after each encoder level: ngf doubling per level, capped at max_channels."""
        return [min(self.ngf * 2**level, self.max_channels) for level in range(self.depth)]


class UNetGenerator(nn.Module):
    """(B, in_channels, H, W) in [-1, 1] → (B, out_channels, H, W) in [-1, 1].

    H and W must be divisible by 2**depth. Dropout (training only) follows pix2pix: on the three
    decoder levels just above the bottleneck.
    """

    def __init__(self, spec: GeneratorSpec, dropout: bool = False) -> None:
        super().__init__()
        if spec.depth < 2:
            raise ValueError("a U-Net needs depth >= 2")
        self.spec = spec
        widths = spec.widths()
        innermost = spec.depth - 1

        downs: list[nn.Module] = [_conv(spec.in_channels, widths[0])]
        for level in range(1, spec.depth):
            layers = [nn.LeakyReLU(0.2, inplace=True), _conv(widths[level - 1], widths[level])]
            if level != innermost:
                layers.append(nn.BatchNorm2d(widths[level]))
            downs.append(nn.Sequential(*layers))

        ups: list[nn.Module] = []
        for level in range(innermost, 0, -1):
            in_width = widths[level] * (1 if level == innermost else 2)
            layers = [
                nn.ReLU(inplace=True),
                _up(in_width, widths[level - 1], bias=False),
                nn.BatchNorm2d(widths[level - 1]),
            ]
            if dropout and innermost - 3 < level < innermost:
                layers.append(nn.Dropout(0.5))
            ups.append(nn.Sequential(*layers))
        ups.append(
            nn.Sequential(
                nn.ReLU(inplace=True), _up(widths[0] * 2, spec.out_channels, bias=True), nn.Tanh()
            )
        )
        self.downs = nn.ModuleList(downs)
        self.ups = nn.ModuleList(ups)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        skips = []
        features = image
        for down in self.downs:
            features = down(features)
            skips.append(features)
        features = self.ups[0](skips[-1])
        for up, skip in zip(self.ups[1:], reversed(skips[:-1]), strict=True):
            features = up(torch.cat([features, skip], dim=1))
        return features


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _conv(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=4, stride=2, padding=1, bias=False)


def _up(in_channels: int, out_channels: int, bias: bool) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(
        in_channels, out_channels, kernel_size=4, stride=2, padding=1, bias=bias
    )
