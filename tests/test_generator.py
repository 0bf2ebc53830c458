"""The U-Net's decoders: resize-convolution is what it says, and equals its transposed form."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ltsd.generator import GeneratorSpec, ResizeConv, UNetGenerator, nearest_as_transposed


@pytest.mark.parametrize("padding", ["zeros", "reflect"])
@pytest.mark.parametrize("size", [(1, 1), (2, 3), (7, 9)])
def test_resize_convolution_is_nearest_upsampling_then_a_3x3_convolution(padding, size):
    torch.manual_seed(0)
    layer = ResizeConv(5, 4, bias=True, padding=padding)
    image = torch.randn(2, 5, *size)
    upsampled = F.interpolate(image, scale_factor=2, mode="nearest")
    if padding == "reflect":
        expected = F.conv2d(
            F.pad(upsampled, (1, 1, 1, 1), mode="reflect"), layer.weight, layer.bias
        )
    else:
        expected = F.conv2d(upsampled, layer.weight, layer.bias, padding=1)
    got = layer(image)
    assert got.shape == (2, 4, 2 * size[0], 2 * size[1])
    assert (got - expected).abs().max() < 1e-5


def test_the_derived_kernel_repeats_each_3x3_tap_as_nearest_upsampling_does():
    weight = torch.zeros(1, 1, 3, 3)
    weight[0, 0, 1, 1] = 1.0  # the centre tap alone: output pixel = its upsampled input pixel
    kernel = nearest_as_transposed(weight)[0, 0]
    assert torch.equal(
        kernel, torch.tensor([[0.0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]])
    )


def test_resize_convolution_generator_draws_no_checkerboard_from_a_flat_image():
    """A flat grey input gives a flat interior with resize-convolutions; transposed ones give
    each 2×2 phase its own value (the checkerboard) from the first step of training."""
    torch.manual_seed(1)
    flat = torch.zeros(1, 1, 64, 64)
    spreads = {}
    for upsample in ("nearest", "transposed"):
        generator = UNetGenerator(GeneratorSpec(1, 3, 4, 16, 6, upsample=upsample)).eval()
        with torch.no_grad():
            interior = generator(flat)[..., 8:-8, 8:-8]
        spreads[upsample] = float(interior.std())
    assert spreads["nearest"] < 1e-5 < spreads["transposed"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"upsample": "bilinear"}, "upsample 'bilinear'"),
        ({"padding": "circular"}, "padding 'circular'"),
        ({"padding": "reflect"}, "reflect padding needs upsample 'nearest'"),
    ],
)
def test_a_spec_outside_the_supported_architectures_is_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        GeneratorSpec(**fields)
