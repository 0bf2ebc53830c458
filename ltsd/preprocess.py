"""Pre-processing: the kornia ops that turn a camera frame into the model's input domain.

Functions first, on (B, C, H, W) float tensors in [0, 1], device- and dtype-agnostic; `degrade` is
the Learning to See degradation and is called by both the live daemon and the trainer, so the two
always see the same input domain.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from kornia.color import rgb_to_grayscale
from kornia.enhance import adjust_brightness, adjust_contrast_with_mean_subtraction
from kornia.geometry.transform import resize

from ltsd.params import LiveParams

Factor = float | torch.Tensor


def fit(image: torch.Tensor, height: int, width: int, mode: str) -> torch.Tensor:
    """Resize (B, C, H, W) to (B, C, height, width) keeping the aspect ratio.

    mode "crop" cuts the middle of the frame to the target's aspect and scales it (crop first, so
    only the pixels kept are resampled); "letterbox" scales the whole frame to fit inside and pads
    the rest with black.
    """
    in_height, in_width = image.shape[-2:]
    if (in_height, in_width) == (height, width):
        return image
    if mode == "crop":
        top, left, keep_height, keep_width = crop_box(in_height, in_width, height, width)
        kept = image[..., top : top + keep_height, left : left + keep_width]
        return resample(kept, height, width)
    scaled_height, scaled_width = letterbox_size(in_height, in_width, height, width)
    scaled = resample(image, scaled_height, scaled_width)
    pad_top = (height - scaled_height) // 2
    pad_left = (width - scaled_width) // 2
    padding = (pad_left, width - scaled_width - pad_left, pad_top, height - scaled_height - pad_top)
    return F.pad(scaled, padding, value=0.0)


def letterbox_size(in_height: int, in_width: int, height: int, width: int) -> tuple[int, int]:
    """(rows, columns) an in_height × in_width frame scales to inside height × width."""
    scale = min(height / in_height, width / in_width)
    rows = min(height, max(1, round(in_height * scale)))
    return rows, min(width, max(1, round(in_width * scale)))


def crop_box(in_height: int, in_width: int, height: int, width: int) -> tuple[int, int, int, int]:
    """(top, left, rows, columns) of the middle of an in_height × in_width frame that has the
    aspect of height × width: what "crop" keeps."""
    keep_height = min(in_height, max(1, round(in_width * height / width)))
    keep_width = min(in_width, max(1, round(in_height * width / height)))
    return (in_height - keep_height) // 2, (in_width - keep_width) // 2, keep_height, keep_width


def resample(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Antialiased bilinear when shrinking, plain bilinear when enlarging.

    The same filter works on uint8 (B, C, H, W) channels-last tensors, where torch has a fast
    vectorised CPU path: the live input is shrunk in bytes before it becomes float.
    """
    if image.shape[-2:] == (height, width):
        return image
    shrinking = height <= image.shape[-2] and width <= image.shape[-1]
    return F.interpolate(
        image, size=(height, width), mode="bilinear", antialias=shrinking, align_corners=False
    )


def to_grayscale(image: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB → (B, 1, H, W) luma with ITU-R 601 weights (0.299, 0.587, 0.114)."""
    if image.shape[-3] == 1:
        return image
    return rgb_to_grayscale(image)


def blur(image: torch.Tensor, factor: float) -> torch.Tensor:
    """Area-downscale (B, C, H, W) by `factor`, then bicubic-upscale back to (H, W).

    This is Learning to See's blur: it removes detail the way a tiny camera image would, rather than
    smoothing like a Gaussian. factor <= 1 returns the image unchanged.
    """
    if factor <= 1.0:
        return image
    height, width = image.shape[-2:]
    small = (max(1, round(height / factor)), max(1, round(width / factor)))
    down = resize(image, small, interpolation="area")
    return upscale_bicubic(down, height, width).clamp(0.0, 1.0)


def upscale_bicubic(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """kornia's bicubic `resize` of (B, C, h, w) to (B, C, height, width), as two matrix products.

    Bicubic weights are separable and the same along every row and column, so the resize is
    rows @ image @ columns.T with matrices made once per size by kornia's own resize. Same
    result to float rounding; torch's CPU bicubic kernel took about 1 ms per 256² frame, this
    takes a few hundredths (docs/performance.md).
    """
    rows = _bicubic_matrix(image.shape[-2], height, image.device, image.dtype)
    columns = _bicubic_matrix(image.shape[-1], width, image.device, image.dtype)
    return rows @ image @ columns.T


@functools.lru_cache(maxsize=64)
def _bicubic_matrix(
    size_in: int, size_out: int, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """(size_out, size_in): output sample i = row i · input samples, for kornia's bicubic resize."""
    with torch.inference_mode(False):  # a plain tensor, usable by training's autograd as well
        impulses = torch.eye(size_in, device=device, dtype=dtype).view(size_in, 1, size_in, 1)
        responses = resize(impulses, (size_out, 1), interpolation="bicubic", align_corners=False)
        return responses.view(size_in, size_out).T.contiguous()


def adjust(image: torch.Tensor, brightness: Factor, contrast: Factor) -> torch.Tensor:
    """Add `brightness` to every pixel, then scale by `contrast` around each image's mean grey.

    Factors are floats or (B,) tensors (per-sample jitter in training); output clamped to [0, 1].
    """
    if not (isinstance(brightness, float) and brightness == 0.0):
        image = adjust_brightness(image, brightness)
    if not (isinstance(contrast, float) and contrast == 1.0):
        image = adjust_contrast_with_mean_subtraction(image, contrast)
    return image


def degrade(
    image: torch.Tensor,
    grayscale: bool,
    blur_factor: float,
    brightness: Factor = 0.0,
    contrast: Factor = 1.0,
) -> torch.Tensor:
    """The Learning to See degradation: grey, blurred, brightness and contrast shifted.

    (B, 3, H, W) in [0, 1] → (B, 1 or 3, H, W) in [0, 1]. The daemon calls it with the live
    parameters; the trainer calls it with random brightness and contrast per sample.
    """
    if grayscale:
        image = to_grayscale(image)
    image = blur(image, blur_factor)
    return adjust(image, brightness, contrast)


def match_channels(image: torch.Tensor, channels: int) -> torch.Tensor:
    """Give the generator the channel count it was built for (grey ↔ RGB)."""
    have = image.shape[-3]
    if have == channels:
        return image
    if channels == 1:
        return to_grayscale(image)
    return image.expand(*image.shape[:-3], channels, *image.shape[-2:])


def prepare(
    image: torch.Tensor, params: LiveParams, height: int, width: int, channels: int
) -> torch.Tensor:
    """A frame (B, 3, H, W) in [0, 1] → generator input (B, channels, height, width) in [-1, 1]."""
    if params.grayscale:  # grey and resizing are both linear: grey first is a third of the work
        image = to_grayscale(image)
    return finish(fit(image, height, width, params.fit), params, channels)


def finish(fitted: torch.Tensor, params: LiveParams, channels: int) -> torch.Tensor:
    """A frame already fitted to the model's size (grey or RGB, [0, 1]) → generator input: the
    degradation, the model's channel count, the [-1, 1] range."""
    degraded = degrade(
        fitted, params.grayscale, params.blur_factor, params.brightness, params.contrast
    )
    return match_channels(degraded, channels) * 2.0 - 1.0
