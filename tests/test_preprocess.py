"""Pre-processing ops against values computed by hand."""

from __future__ import annotations

import pytest
import torch
from kornia.geometry.transform import resize

from ltsd.params import LiveParams
from ltsd.preprocess import (
    adjust,
    blur,
    degrade,
    fit,
    match_channels,
    prepare,
    to_grayscale,
    upscale_bicubic,
)


def test_grayscale_uses_itu_601_weights():
    pure = torch.eye(3).reshape(3, 3, 1, 1).permute(1, 0, 2, 3)  # red, green, blue pixels
    grey = to_grayscale(pure).flatten()
    assert torch.allclose(grey, torch.tensor([0.299, 0.587, 0.114]), atol=1e-3)


def test_blur_by_the_whole_size_gives_the_image_mean():
    image = torch.zeros(1, 1, 24, 24)
    image[..., :12, :] = 1.0  # half white: mean 0.5
    assert torch.allclose(blur(image, 24.0), torch.full_like(image, 0.5), atol=1e-5)


def test_blur_area_downscale_averages_blocks_of_factor_pixels():
    image = torch.zeros(1, 1, 48, 48)
    image[..., :24, :24] = 1.0  # top-left block white: 2x2 block means are [[1, 0], [0, 0]]
    blurred = blur(image, 24.0)
    corners = blurred[0, 0, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert corners[0] > 0.95 and corners[1:].abs().max() < 0.1
    assert abs(blurred.mean().item() - 0.25) < 0.03


def test_blur_factor_one_is_identity():
    image = torch.rand(2, 3, 16, 16)
    assert torch.equal(blur(image, 1.0), image)


@pytest.mark.parametrize(
    ("shape", "size"),
    [((1, 1, 11, 11), (256, 256)), ((4, 3, 5, 9), (64, 80)), ((2, 1, 1, 1), (8, 8))],
)
def test_bicubic_upscale_as_matrices_is_kornias_bicubic_resize(shape, size):
    image = torch.rand(shape)
    expected = resize(image, size, interpolation="bicubic", align_corners=False)
    with torch.inference_mode():  # the live path makes the matrices first...
        assert torch.allclose(upscale_bicubic(image, *size), expected, atol=1e-6)
    image.requires_grad_()  # ...and training's autograd can still use them
    upscaled = upscale_bicubic(image, *size)
    upscaled.sum().backward()
    assert torch.allclose(upscaled, expected, atol=1e-6) and image.grad is not None


def test_brightness_adds_and_clamps():
    image = torch.tensor([0.3, 0.9]).reshape(1, 1, 1, 2)
    out = adjust(image, 0.2, 1.0).flatten()
    assert torch.allclose(out, torch.tensor([0.5, 1.0]))


def test_contrast_scales_around_the_mean():
    image = torch.tensor([0.2, 0.6]).reshape(1, 1, 1, 2)  # mean 0.4
    assert torch.allclose(adjust(image, 0.0, 2.0).flatten(), torch.tensor([0.0, 0.8]))
    assert torch.allclose(adjust(image, 0.0, 0.0).flatten(), torch.tensor([0.4, 0.4]))


def test_per_sample_factors_apply_to_their_own_sample():
    image = torch.full((2, 1, 2, 2), 0.5)
    out = adjust(image, torch.tensor([0.1, -0.2]), 1.0)
    assert torch.allclose(out[:, 0, 0, 0], torch.tensor([0.6, 0.3]))


def test_fit_crop_keeps_the_middle_columns():
    image = torch.arange(8.0).repeat(4, 1).reshape(1, 1, 4, 8)  # each column holds its index
    cropped = fit(image, 4, 4, "crop")
    assert torch.equal(cropped[0, 0, 0], torch.tensor([2.0, 3.0, 4.0, 5.0]))


def test_fit_letterbox_pads_above_and_below_with_black():
    image = torch.ones(1, 3, 4, 8)
    boxed = fit(image, 4, 4, "letterbox")
    assert boxed.shape == (1, 3, 4, 4)
    assert boxed[..., 0, :].abs().max() == 0 and boxed[..., 3, :].abs().max() == 0
    assert torch.allclose(boxed[..., 1:3, :], torch.ones(1, 3, 2, 4))


def test_degrade_is_grey_blurred_then_adjusted():
    image = torch.rand(1, 3, 24, 24)
    expected = to_grayscale(image).mean().clamp(0, 1) + 0.1
    out = degrade(image, grayscale=True, blur_factor=24.0, brightness=0.1)
    assert out.shape == (1, 1, 24, 24)
    assert torch.allclose(out, expected.expand_as(out), atol=1e-4)


def test_match_channels_converts_both_ways():
    grey = torch.rand(1, 1, 4, 4)
    assert match_channels(grey, 3).shape == (1, 3, 4, 4)
    assert match_channels(torch.rand(1, 3, 4, 4), 1).shape == (1, 1, 4, 4)


def test_prepare_maps_to_model_range_and_size():
    white = torch.ones(1, 3, 90, 160)
    model_input = prepare(white, LiveParams(), 64, 64, 1)
    assert model_input.shape == (1, 1, 64, 64)
    assert torch.allclose(model_input, torch.ones_like(model_input), atol=1e-4)
