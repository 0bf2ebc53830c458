"""Between NDI's BGRX bytes and the (B, C, H, W) float tensors the models work on."""

from __future__ import annotations

import numpy as np
import torch

from ltsd.preprocess import fit


def bgrx_to_tensor(pixels: np.ndarray, device: torch.device) -> torch.Tensor:
    """(H, W, 4) uint8 BGRX → (1, 3, H, W) float32 RGB in [0, 1] on `device`.

    The bytes travel as uint8 (4× less than float) and are converted on the device.
    """
    raw = torch.from_numpy(pixels).to(device, non_blocking=True)
    rgb = raw[:, :, [2, 1, 0]].permute(2, 0, 1).unsqueeze(0)
    return rgb.float().div_(255.0)


def to_frame(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """A model-side image (1, 1 or 3, h, w) in [-1, 1] → (1, 3, height, width) RGB in [0, 1].

    Scaled on the device to cover the frame with the aspect kept, so the square model output fills
    the frame the way the input filled the model.
    """
    unit = (image[:1].clamp(-1.0, 1.0) + 1.0) * 0.5
    if unit.shape[1] == 1:
        unit = unit.expand(1, 3, *unit.shape[-2:])
    return fit(unit, height, width, "crop")


def tensor_to_bgrx(unit: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) RGB in [0, 1] → (H, W, 4) uint8 BGRX on the host, copied once."""
    channels = unit[0, [2, 1, 0]].mul(255.0).round_().clamp_(0, 255).to(torch.uint8)
    opaque = torch.full_like(channels[:1], 255)
    bgrx = torch.cat([channels, opaque], dim=0).permute(1, 2, 0).contiguous()
    return bgrx.cpu().numpy()


def bgrx_to_rgba(pixels: np.ndarray, flip_rows: bool = False) -> np.ndarray:
    """(H, W, 4) BGRX → (H, W, 4) RGBA, opaque, C-contiguous; optionally bottom row first.

    Syphon and Spout take RGBA textures; OpenGL-side consumers count rows from the bottom.
    """
    rgba = pixels[::-1, :, [2, 1, 0, 3]] if flip_rows else pixels[:, :, [2, 1, 0, 3]]
    rgba = np.ascontiguousarray(rgba)
    rgba[:, :, 3] = 255
    return rgba
