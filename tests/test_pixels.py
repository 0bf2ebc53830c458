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
