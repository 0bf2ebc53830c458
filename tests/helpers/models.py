"""Real, tiny generator models whose output is known in advance, for end-to-end tests."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from ltsd.generator import GeneratorSpec, UNetGenerator
from ltsd.modelstore import ModelInfo, model_path, save_model

TINY_SPEC = GeneratorSpec(in_channels=1, out_channels=3, ngf=4, max_channels=16, depth=6)
TINY_RESOLUTION = 64


def constant_colour_generator(rgb: tuple[int, int, int]) -> UNetGenerator:
    """A U-Net whose output is `rgb` (0..255) everywhere, whatever the input: every weight is zero
    and the last layer's bias is atanh of the colour on the [-1, 1] scale."""
    generator = UNetGenerator(TINY_SPEC).eval()
    with torch.no_grad():
        for parameter in generator.parameters():
            parameter.zero_()
        for module in generator.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.fill_(1.0)
        last = generator.ups[-1][1]
        last.bias.copy_(torch.tensor([math.atanh(c / 255 * 2 - 1) for c in rgb]))
    return generator


def write_constant_model(models_dir: Path, name: str, rgb: tuple[int, int, int]) -> Path:
    path = model_path(models_dir, name)
    info = ModelInfo(name=name, architecture=TINY_SPEC, resolution=TINY_RESOLUTION,
                     description=f"constant {rgb}")  # fmt: skip
    save_model(path, constant_colour_generator(rgb), info, dtype=torch.float32)
    return path


def write_random_model(models_dir: Path, name: str, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    path = model_path(models_dir, name)
    info = ModelInfo(name=name, architecture=TINY_SPEC, resolution=TINY_RESOLUTION)
    save_model(path, UNetGenerator(TINY_SPEC).eval(), info)
    return path


MAGENTA, TEAL = (230, 26, 102), (20, 160, 150)


def two_constant_worlds(folder: Path) -> Path:
    """`folder` holding "magenta" and "teal", two worlds that each paint one colour: which one
    plays, and crossfades between them, can be read off any output pixel."""
    write_constant_model(folder, "magenta", MAGENTA)
    write_constant_model(folder, "teal", TEAL)
    return folder
