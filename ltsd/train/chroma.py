"""A loss on the finest colour detail: the cause of the worlds' colour speckle, removed in training.

What the worlds' colour speckle was: single pixels alternating pink, green and cyan inside
textured areas (speckle ×2–9 the photographs' own, `ltsd.train.realism.speckle`). It comes from
the generator's last level (×2 nearest upsampling, then a 3×3 convolution to RGB), which is free
to put colour into the finest band, and nothing in training said not to: the pixel PatchGAN is
narrow, the L1 loss weighs a pixel's colour no more than its brightness, and the frozen ImageNet
features of the Projected-GAN discriminator respond to high-frequency patterns, so colour noise
is the cheapest way to move them. Photographs have almost none: lenses, demosaicing and 4:2:0
JPEG keep chroma smooth at the pixel scale.

So the finest Laplacian band of the output's Cb and Cr is held to the real image's, pixel for
pixel, with its own weight: the generator keeps its texture in brightness, where photographs
have it, and is told directly that per-pixel colour is wrong. The band is what `speckle` measures.
What it makes of the camera's images has no real image to hold to, so there only fine colour
beyond the world's crops' (on average, in the same batch) costs.
"""

from __future__ import annotations

import torch

from ltsd.train.realism import laplacian_pyramid, ycbcr


def fine_chroma(images: torch.Tensor) -> torch.Tensor:
    """(B, 2, H, W): the finest pyramid band of Cb and Cr of [-1, 1] RGB images."""
    chroma = ycbcr((images + 1) / 2)[:, 1:]
    return laplacian_pyramid(chroma, smallest=max(1, images.shape[-1] // 4))[0]


def fine_chroma_loss(fakes: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of the two images' finest chroma bands."""
    return (fine_chroma(fakes) - fine_chroma(targets)).abs().mean()


def fine_chroma_excess(fakes: torch.Tensor, reals: torch.Tensor) -> torch.Tensor:
    """How much more fine chroma the fakes have, on average, than the reals: 0 when no more."""
    excess = fine_chroma(fakes).abs().mean() - fine_chroma(reals).abs().mean().detach()
    return excess.clamp_min(0.0)
