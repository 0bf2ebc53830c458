"""The fine-texture discriminator: it sees only 1–4 px detail, learns to tell smooth from
grainy, and trains (at its own learning rate), checkpoints and resumes inside `ltsd train`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ltsd.modelstore import load_model
from ltsd.train.fine_texture import FineTextureJudge, fine_bands
from tests.conftest import run_ltsd
from tests.test_train import TINY


def test_fine_bands_drop_colour_and_shapes_but_keep_one_pixel_detail():
    rows = torch.linspace(-1, 1, 64)
    gradient = rows[:, None].expand(64, 64)  # a smooth layout
    colour = torch.stack([gradient, gradient * 0 + 0.5, -gradient])[None]
    checker = ((torch.arange(64)[:, None] + torch.arange(64)) % 2).float() * 0.2 - 0.1
    assert fine_bands(colour)[..., 4:-4, 4:-4].abs().max() < 0.02  # edges: bilinear's border
    kept = fine_bands(colour + checker)[..., 4:-4, 4:-4] - fine_bands(colour)[..., 4:-4, 4:-4]
    assert torch.allclose(kept, checker[4:-4, 4:-4].expand_as(kept), atol=1e-5)


def _grainy(count: int, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(count, 3, 32, 32, generator=generator) * 2 - 1) * 0.5


def _smooth(count: int, generator: torch.Generator) -> torch.Tensor:
    coarse = torch.rand(count, 3, 4, 4, generator=generator) * 2 - 1
    return torch.nn.functional.interpolate(coarse, size=(32, 32), mode="bilinear")


def test_the_judge_learns_which_images_lack_the_detail_it_was_shown():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    judge = FineTextureJudge(torch.device("cpu"), learning_rate=2e-3)
    for _ in range(60):
        judge.step(fakes=_smooth(8, generator), reals=_grainy(8, generator))
    smooth_cost = judge.generator_loss(_smooth(16, generator)).item()
    grainy_cost = judge.generator_loss(_grainy(16, generator)).item()
    assert smooth_cost > grainy_cost + 1.0, (smooth_cost, grainy_cost)
    # the generator's loss reaches the images, not the judge's weights
    judge.optimizer.zero_grad(set_to_none=True)  # its own last update's
    fakes = _smooth(4, generator).requires_grad_(True)
    judge.generator_loss(fakes).backward()
    assert fakes.grad is not None and fakes.grad.abs().sum() > 0
    assert all(p.grad is None for p in judge.core.parameters())


def _folder(path: Path, seed: int) -> Path:
    path.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for index in range(3):
        pixels = rng.integers(0, 256, size=(150, 200, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path / f"picture_{index}.png")
    return path


def test_training_with_it_records_it_and_resumes_exactly(tmp_path: Path):
    world, camera = _folder(tmp_path / "world", 0), _folder(tmp_path / "camera", 1)

    def train(name: str, steps: int, *extra: str):
        return run_ltsd("train", str(world), "--name", name, "--models-dir", str(tmp_path),
                        "--run-dir", str(tmp_path / f"run-{name}"), "--steps", str(steps),
                        "--checkpoint-every", "2", "--no-features", "--fine-texture-weight", "1",
                        "--learning-rate", "0.0001", "--fine-texture-learning-rate", "0.0004",
                        "--camera-images", str(camera), *TINY, *extra)  # fmt: skip

    assert train("straight", 4).returncode == 0
    assert train("resumed", 2).returncode == 0
    resumed = train("resumed", 4, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    straight = load_model(tmp_path / "straight.safetensors")
    again = load_model(tmp_path / "resumed.safetensors")
    assert straight.info.provenance["fine_texture_weight"] == 1.0
    assert straight.info.provenance["fine_texture_learning_rate"] == 0.0004
    assert straight.info.provenance["learning_rate"] == 0.0001
    for (key, a), b in zip(straight.generator.state_dict().items(),
                           again.generator.state_dict().values(), strict=True):  # fmt: skip
        assert torch.equal(a, b), f"{key} differs after resume"
