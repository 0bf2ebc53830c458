from __future__ import annotations

import pytest
import torch

from ltsd.generator import GeneratorSpec, UNetGenerator, parameter_count


@pytest.mark.parametrize(
    ("spec", "parameters"),
    [
        (GeneratorSpec(3, 3, ngf=64, max_channels=512, depth=8), 54_413_955),  # pix2pix unet_256
        (GeneratorSpec(3, 3, ngf=8, max_channels=512, depth=8), 16_780_371),  # the web re-make
    ],
)
def test_parameter_counts_match_the_published_generators(spec, parameters):
    assert parameter_count(UNetGenerator(spec)) == parameters


def test_output_has_the_input_size_and_tanh_range():
    generator = UNetGenerator(GeneratorSpec(1, 3, ngf=4, max_channels=16, depth=6)).eval()
    with torch.no_grad():
        out = generator(torch.randn(2, 1, 64, 64))
    assert out.shape == (2, 3, 64, 64)
    assert out.abs().max() <= 1.0


def test_widths_double_up_to_the_cap():
    assert GeneratorSpec(ngf=8, max_channels=64, depth=6).widths() == [8, 16, 32, 64, 64, 64]
