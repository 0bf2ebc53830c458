"""Colour at half resolution (`GeneratorSpec.chroma`): the generator cannot paint single pixels
pink, green and cyan, and keeps every bit of its brightness detail; model files say which."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ltsd.generator import GeneratorSpec, UNetGenerator, half_resolution_chroma
from ltsd.modelstore import ModelInfo, load_model, load_trained, save_model
from ltsd.train.realism import laplacian_pyramid, speckle, ycbcr
from tests.conftest import run_ltsd
from tests.test_train import TINY, images_dir  # noqa: F401 - the fixture

FULL = GeneratorSpec(1, 3, 8, 128, 8, "nearest", "reflect")
HALF = GeneratorSpec(1, 3, 8, 128, 8, "nearest", "reflect", chroma="half")


def test_it_keeps_the_brightness_and_takes_the_colour_out_of_the_finest_scale():
    noise = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0)) - 0.5
    made = half_resolution_chroma(noise)  # within [-1, 1] after it: nothing clamped
    brightness = ycbcr(torch.cat([noise, made]))[:, 0]
    torch.testing.assert_close(brightness[2:], brightness[:2], atol=1e-5, rtol=0)
    fine = [laplacian_pyramid(ycbcr(images)[:, 1:], smallest=8)[0] for images in (noise, made)]
    assert fine[1].square().mean() < 0.05 * fine[0].square().mean()
    flat = torch.tensor([0.6, -0.2, 0.1]).view(1, 3, 1, 1).expand(1, 3, 32, 32)
    torch.testing.assert_close(half_resolution_chroma(flat), flat)  # even colour: unchanged


def test_the_same_weights_speckle_at_full_chroma_and_not_at_half():
    torch.manual_seed(0)
    full = UNetGenerator(FULL).eval()
    half = UNetGenerator(HALF).eval()
    half.load_state_dict(full.state_dict())
    image = torch.rand(2, 1, 256, 256) * 2 - 1
    with torch.no_grad():
        speckles = [speckle((generator(image) + 1) / 2) for generator in (full, half)]
    assert speckles[1] < 0.1 * speckles[0]


def test_model_files_keep_it_and_files_from_before_it_play_at_full(tmp_path: Path):
    torch.manual_seed(1)
    trained = UNetGenerator(HALF).eval()
    path = tmp_path / "half.safetensors"
    save_model(path, trained, ModelInfo("half", HALF, 256), torch.float32)
    loaded = load_model(path)
    assert loaded.info.architecture.chroma == "half"
    image = torch.rand(1, 1, 256, 256) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(loaded.generator(image), trained(image), atol=1e-4, rtol=0)
    old = json.loads(ModelInfo("old", FULL, 256).to_json())
    del old["architecture"]["chroma"]  # what every file written before it holds
    assert ModelInfo.from_json(json.dumps(old)).architecture.chroma == "full"


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"chroma": "quarter"}, "chroma 'quarter' is not one of full, half"),
     ({"chroma": "half", "out_channels": 1}, "needs 3 output channels")],
)  # fmt: skip
def test_a_wrong_chroma_is_named(fields, message):
    with pytest.raises(ValueError, match=message):
        GeneratorSpec(1, **{"out_channels": 3, **fields})


def test_training_draws_at_half_chroma_by_default_and_goes_on_from_a_full_chroma_world(
    images_dir: Path,  # noqa: F811
    tmp_path: Path,
):
    common = ("train", str(images_dir), "--models-dir", str(tmp_path), "--no-features",
              "--steps", "1", *TINY)  # fmt: skip
    old = run_ltsd(*common, "--name", "old", "--chroma", "full", "--run-dir", str(tmp_path / "o"))
    assert old.returncode == 0, old.stderr
    new = run_ltsd(*common, "--name", "new", "--init-from", "old", "--run-dir", str(tmp_path / "n"))
    assert new.returncode == 0, new.stderr
    chromas = [load_trained(tmp_path / f"{name}.safetensors")[0].architecture.chroma
               for name in ("old", "new")]  # fmt: skip
    assert chromas == ["full", "half"]


def test_evaluate_plays_a_full_chroma_world_at_half_and_its_speckle_falls(tmp_path: Path):
    from ltsd.train.evaluate import at_chroma, play

    torch.manual_seed(2)
    path = tmp_path / "old.safetensors"
    save_model(path, UNetGenerator(FULL).eval(), ModelInfo("old", FULL, 256), torch.float32)
    model = load_model(path)
    halved = at_chroma(model, "half")
    assert halved.info.architecture.chroma == "half" and model.info.architecture.chroma == "full"
    image = torch.rand(1, 3, 256, 256)
    speckles = [speckle((play(world, image)[1] + 1) / 2) for world in (model, halved)]
    assert speckles[1] < 0.1 * speckles[0]
