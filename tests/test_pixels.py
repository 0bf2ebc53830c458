"""The byte-level fast paths against the float reference they replace."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ltsd.params import LiveParams
from ltsd.pixels import bgrx_to_tensor, fitted_input, output_bgrx, tensor_to_bgrx, to_rgb
from ltsd.preprocess import finish, fit, prepare

CPU = torch.device("cpu")


@pytest.mark.parametrize("mode", ["crop", "letterbox"])
@pytest.mark.parametrize("grayscale", [True, False])
def test_fast_input_path_matches_the_float_reference(mode: str, grayscale: bool):
    pixels = np.random.default_rng(0).integers(0, 256, (90, 160, 4), dtype=np.uint8)
    params = LiveParams(fit=mode, grayscale=grayscale, blur_factor=4.0, contrast=1.2)
    channels = 1 if grayscale else 3
    reference = prepare(bgrx_to_tensor(pixels, CPU), params, 64, 64, channels)
    fast = finish(fitted_input(pixels, 64, 64, mode, grayscale, CPU), params, channels)
    assert fast.shape == reference.shape == (1, channels, 64, 64)
    # the fast path rounds the resampled frame to bytes: half a level, ×2 for [-1, 1], ×contrast
    assert torch.allclose(fast, reference, atol=1.2 * 2 * 0.5 / 255 + 1e-5)


def test_output_is_scaled_in_bytes_to_cover_the_frame():
    model_output = torch.rand(1, 3, 64, 64)
    fast = output_bgrx(model_output, 90, 160)
    reference = tensor_to_bgrx(fit(model_output, 90, 160, "crop"))
    assert fast.shape == (90, 160, 4) and fast.dtype == np.uint8
    assert (fast[:, :, 3] == 255).all()
    assert np.abs(fast.astype(int) - reference.astype(int)).max() <= 2


def test_model_output_maps_from_tanh_range_to_bytes():
    grey = torch.full((1, 1, 8, 8), 0.0)  # mid-grey on the [-1, 1] scale
    assert output_bgrx(to_rgb(grey), 8, 8)[0, 0].tolist() == [128, 128, 128, 255]


def bgrx_to_uyvy(pixels: np.ndarray) -> np.ndarray:
    """The BT.709 video-range 4:2:2 encoding NDI applies, written out for the test."""
    rgb = pixels[:, :, [2, 1, 0]].astype(np.float64) / 255
    luma = rgb @ np.array([0.2126, 0.7152, 0.0722])
    blue = (rgb[:, :, 2] - luma) / 1.8556
    red = (rgb[:, :, 0] - luma) / 1.5748
    pair_mean = lambda plane: (plane[:, 0::2] + plane[:, 1::2]) / 2  # noqa: E731
    uyvy = np.empty((pixels.shape[0], pixels.shape[1] // 2, 4))
    uyvy[:, :, 0] = 128 + 224 * pair_mean(blue)
    uyvy[:, :, 1] = 16 + 219 * luma[:, 0::2]
    uyvy[:, :, 2] = 128 + 224 * pair_mean(red)
    uyvy[:, :, 3] = 16 + 219 * luma[:, 1::2]
    return np.round(uyvy).astype(np.uint8).reshape(pixels.shape[0], pixels.shape[1], 2)


@pytest.mark.parametrize("mode", ["crop", "letterbox"])
@pytest.mark.parametrize("grayscale", [True, False])
def test_uyvy_frames_give_the_model_what_the_same_bgrx_frame_gives(mode: str, grayscale: bool):
    ys, xs = np.mgrid[0:90, 0:160]
    pixels = np.full((90, 160, 4), 255, np.uint8)  # smooth colour ramps: 4:2:2 loses nothing
    pixels[:, :, 0] = xs * 255 // 159
    pixels[:, :, 1] = ys * 255 // 89
    pixels[:, :, 2] = 200 - xs // 2
    from_bgrx = fitted_input(pixels, 32, 32, mode, grayscale, CPU)
    from_uyvy = fitted_input(bgrx_to_uyvy(pixels), 32, 32, mode, grayscale, CPU, layout="uyvy")
    assert from_uyvy.shape == from_bgrx.shape == (1, 1 if grayscale else 3, 32, 32)
    assert (from_uyvy - from_bgrx).abs().mean() < 0.006  # a BT.601 decode is off by ~0.05
    assert (from_uyvy - from_bgrx).abs().max() < 0.025  # pairs averaged before the resample
