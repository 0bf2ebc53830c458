"""The texture loss (ltsd.train.texture): patch statistics at every scale, held to the world's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import skimage.data
import torch
import torch.nn.functional as F

from ltsd.modelstore import load_model
from ltsd.train.texture import layout_loss, texture_loss
from tests.conftest import run_ltsd
from tests.test_train import TINY, images_dir  # noqa: F401 - the fixture


def crops_of_a_photograph() -> torch.Tensor:
    """Eight 128² crops of scikit-image's astronaut in [-1, 1]: halves of one world."""
    image = torch.from_numpy(np.array(skimage.data.astronaut())).permute(2, 0, 1).float() / 255
    tiles = [image[:, row : row + 128, column : column + 128]
             for row in (0, 128, 256, 384) for column in (64, 320)]  # fmt: skip
    return torch.stack(tiles) * 2 - 1


def loss(fakes: torch.Tensor, reals: torch.Tensor) -> float:
    return float(texture_loss(fakes, reals, torch.Generator().manual_seed(0)))


def test_the_photographs_other_half_is_closer_than_blurred_or_speckled_versions_of_it():
    crops = crops_of_a_photograph()
    reals, others = crops[0::2], crops[1::2]
    blurred = F.avg_pool2d(others, 5, stride=1, padding=2, count_include_pad=False)
    grain = torch.randn(others.shape, generator=torch.Generator().manual_seed(1))
    speckled = others + 0.1 * grain
    own = loss(others, reals)
    assert own < 0.8 * loss(blurred, reals)
    assert own < 0.5 * loss(speckled.clamp(-1, 1), reals)


def test_descending_the_loss_gives_a_blurred_image_back_its_texture():
    crops = crops_of_a_photograph()
    reals, others = crops[0::2], crops[1::2]
    made = F.avg_pool2d(others, 5, stride=1, padding=2, count_include_pad=False)
    before = loss(made, reals)
    made = made.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([made], lr=0.01)
    rng = torch.Generator().manual_seed(2)
    for _ in range(30):
        optimizer.zero_grad()
        texture_loss(made, reals, rng).backward()
        optimizer.step()
    assert loss(made.detach(), reals) < 0.8 * before


def test_the_layout_loss_sees_the_tones_the_texture_loss_leaves_to_the_camera():
    crops = crops_of_a_photograph()
    reals, others = crops[0::2], crops[1::2]
    # the same fine texture over a darker, bluer layout: what a world's palette can get wrong
    coarse = F.avg_pool2d(others, 33, stride=1, padding=16, count_include_pad=False)
    fine = others - coarse
    tint = torch.tensor([-0.4, -0.3, 0.3]).view(1, 3, 1, 1)
    retoned = (fine + 0.5 * coarse + tint).clamp(-1, 1)

    def layout(fakes: torch.Tensor) -> float:
        return float(layout_loss(fakes, reals, torch.Generator().manual_seed(0)))

    assert layout(others) < 0.5 * layout(retoned)
    assert loss(retoned, reals) < 1.5 * loss(others, reals)  # the bands hardly notice


def test_training_with_the_texture_loss_runs_resumes_and_records_its_weight(
    images_dir: Path,  # noqa: F811
    tmp_path: Path,
):
    common = ["train", str(images_dir), "--name", "textured", "--models-dir", str(tmp_path),
              "--run-dir", str(tmp_path / "run"), "--no-features", "--texture-weight", "10",
              "--layout-weight", "2", *TINY]  # fmt: skip
    first = run_ltsd(*common, "--steps", "2")
    assert first.returncode == 0, first.stderr
    resumed = run_ltsd(*common, "--steps", "3", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    provenance = load_model(tmp_path / "textured.safetensors").info.provenance
    assert provenance["texture_weight"] == 10 and provenance["steps"] == 3
    assert provenance["layout_weight"] == 2
    refused = run_ltsd(*common, "--steps", "3", "--texture-weight", "-1")
    assert refused.returncode != 0
    last_line = refused.stderr.strip().splitlines()[-1]
    assert last_line.endswith("--texture-weight: expected a number of at least 0, got -1")
