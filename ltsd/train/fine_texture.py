"""A discriminator of fine texture alone: what no other loss asks the generator to draw.

Why: `ltsd.train.realism` found the worlds furthest from their photographs at the two finest
pyramid bands (1–4 px), over everyday inputs and over the world's own photographs alike
(models/README.md, session 21). Nothing in training judges those bands where it matters: the
PatchGAN is conditional and sees only the world's crops (not what the generator makes of the
camera's), the feature discriminator looks through EfficientNet's stride-2 stem, and L1 pulls
the fine bands toward their smooth mean. This one is unconditional, sees only the image minus
its 4×4-pixel average (the fine bands; colour and layout are gone, so it cannot judge them),
and has an 18-pixel receptive field: real patches are the world's crops, fake ones what the
generator made of them and of the camera's images. Hinge losses, as the feature discriminator.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ltsd.train.projected import hinge_discriminator_loss, hinge_generator_loss

AVERAGED_OVER = 4  # pixels: what is left after subtracting this average is the judged detail


def fine_bands(images: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) → the same minus its AVERAGED_OVER-pixel box average, brought back to full
    size: the 1–4 px detail, without the colour and shapes it sits on."""
    coarse = F.avg_pool2d(images, AVERAGED_OVER)
    return images - F.interpolate(coarse, size=images.shape[-2:], mode="bilinear",
                                  align_corners=False)  # fmt: skip


def fine_texture_discriminator(in_channels: int = 3, width: int = 32) -> nn.Sequential:
    """(B, in_channels, H, W) → (B, 1, H/4, W/4) logits, each judging an 18×18-pixel patch."""
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 4, 2, 1),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(width, 2 * width, 4, 2, 1),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(2 * width, 1, 3, 1, 1),
    )


class FineTextureJudge:
    """The fine-texture discriminator and its optimizer; `step` trains it once, `generator_loss`
    is what the generator pays for what it still tells apart."""

    def __init__(
        self,
        device: torch.device,
        learning_rate: float = 2e-4,
        wrap: Callable[[nn.Module], nn.Module] = lambda module: module,
    ) -> None:
        self.core = fine_texture_discriminator().to(device)
        self.network = wrap(self.core)  # under torchrun, DDP keeps every rank's judge the same
        self.optimizer = torch.optim.Adam(
            self.network.parameters(), learning_rate, betas=(0.5, 0.999)
        )

    def step(self, fakes: torch.Tensor, reals: torch.Tensor) -> None:
        """One update on the world's crops (`reals`) against generated images (`fakes`, any
        number, the camera's included), both [-1, 1] RGB."""
        self.optimizer.zero_grad(set_to_none=True)
        real = self.network(fine_bands(reals.detach()))
        fake = self.network(fine_bands(fakes.detach()))
        hinge_discriminator_loss([real], [fake]).backward()
        self.optimizer.step()

    def generator_loss(self, fakes: torch.Tensor) -> torch.Tensor:
        self.core.requires_grad_(False)
        loss = hinge_generator_loss([self.network(fine_bands(fakes))])
        self.core.requires_grad_(True)
        return loss
