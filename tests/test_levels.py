"""A world's own input levels: kept in its file, played under the knobs, chosen on training data."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save_file

from ltsd.errors import ModelError
from ltsd.frame import Frame
from ltsd.generator import UNetGenerator
from ltsd.levels import InputLevels, levelled
from ltsd.modelstore import load_model, read_info, save_model, write_levels
from ltsd.params import LiveParams, ParamStore
from ltsd.pipeline import FrameProcessor
from ltsd.preprocess import prepare
from ltsd.train.evaluate import play
from ltsd.train.fit_levels import Greys, greys, matched
from tests.conftest import child_environment, run_ltsd
from tests.helpers.models import write_random_model


def test_the_levels_go_under_the_knobs_and_stay_in_their_ranges():
    dark = InputLevels(brightness=-0.3, contrast=1.5)
    played = levelled(LiveParams(brightness=0.1, contrast=2.0), dark)
    assert (played.brightness, played.contrast) == (pytest.approx(-0.2), 3.0)
    pinned = levelled(LiveParams(brightness=-0.9, contrast=4.0), dark)
    assert (pinned.brightness, pinned.contrast) == (-1.0, 4.0)
    knobs_alone = LiveParams(brightness=0.1, world_levels=False)
    assert levelled(knobs_alone, dark) == knobs_alone


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"brightness": 2.0}, "levels.brightness 2.0 is outside -1.0 … 1.0"),
        ({"contrast": "high"}, "levels.contrast must be a number, not str"),
        ({"contrast": float("nan")}, "levels.contrast nan is outside 0.0 … 4.0"),
        ({"gamma": 2.2}, "levels has unknown key(s) gamma"),
        ([0.1, 1.2], "levels must be an object, not list"),
    ],
)
def test_a_model_file_with_bad_levels_is_named_in_one_line(tmp_path: Path, raw, message: str):
    path = write_random_model(tmp_path, "odd")
    with_metadata(path, lambda metadata: metadata | {"levels": raw})
    with pytest.raises(ModelError) as error:
        read_info(path)
    assert str(error.value) == f"{path}: unreadable ltsd metadata ({message})"


def with_metadata(path: Path, change: Callable[[dict], dict]) -> None:
    """Rewrite a model file's ltsd metadata through `change`, as another tool or version might."""
    with safe_open(str(path), framework="pt") as handle:
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
        metadata = json.loads(handle.metadata()["ltsd"])
    save_file(tensors, str(path), metadata={"ltsd": json.dumps(change(metadata))})


def test_writing_levels_keeps_the_weights_and_old_files_have_none(tmp_path: Path):
    path = write_random_model(tmp_path, "world")
    with_metadata(path, lambda metadata: {k: v for k, v in metadata.items() if k != "levels"})
    assert read_info(path).levels == InputLevels()  # a file from before levels: the knobs alone
    before = load_model(path).generator.state_dict()
    info = write_levels(path, InputLevels(-0.25, 1.4))
    assert read_info(path) == info and info.levels == InputLevels(-0.25, 1.4)
    after = load_model(path).generator.state_dict()
    assert all(torch.equal(before[key], after[key]) for key in before)


def grey_frame(level: int) -> Frame:
    pixels = np.full((48, 64, 4), level, np.uint8)
    return Frame(pixels=pixels, timecode=0, frame_rate=Fraction(30), received_ns=0)


def test_the_daemon_shows_each_world_its_camera_at_the_worlds_levels(tmp_path: Path):
    path = write_random_model(tmp_path, "world")
    plain = load_model(path)
    write_levels(path, InputLevels(brightness=-0.3))
    dark = load_model(path)
    seen: list[torch.Tensor] = []
    for model, params in ((plain, LiveParams()), (dark, LiveParams()),
                          (dark, LiveParams(world_levels=False))):  # fmt: skip
        processor = FrameProcessor(model, ParamStore(params), torch.device("cpu"))
        processor.on_seen = seen.append
        processor.process(grey_frame(150))
    plain_seen, dark_seen, switched_off = (float(s.mean()) for s in seen)
    assert dark_seen == pytest.approx(plain_seen - 0.3, abs=0.01)
    assert switched_off == pytest.approx(plain_seen, abs=1e-6)
    # the evaluation plays a world as the daemon does
    frame = torch.full((1, 3, 64, 64), 150 / 255)
    assert float(play(dark, frame)[0].mean()) == pytest.approx(2 * dark_seen - 1, abs=0.01)


def photographs(count: int, low: float, high: float, seed: int) -> list[torch.Tensor]:
    """As `load_images` gives them: smooth grey fields from `low` to `high`."""
    rng = torch.Generator().manual_seed(seed)
    coarse = torch.rand(count, 1, 4, 4, generator=rng)
    fields = torch.nn.functional.interpolate(coarse, size=(96, 96), mode="bilinear")
    images = (low + (high - low) * fields).expand(-1, 3, -1, -1)
    return list((255 * images).round().to(torch.uint8))


def seen_greys(images: list[torch.Tensor], levels: InputLevels) -> tuple[float, float]:
    """(mean, spread) of what a world sees of `images` played at `levels`, on 0 … 1."""
    params = levelled(LiveParams(), levels)
    seen = torch.cat([(prepare(image[None].float() / 255, params, 64, 64, 1) + 1) / 2
                      for image in images])  # fmt: skip
    return float(seen.mean()), float(seen.flatten(1).std(dim=1).mean())


def test_matched_levels_show_a_world_the_camera_in_the_grey_it_learned():
    camera = photographs(8, 0.55, 0.85, seed=1)  # a bright, flat table
    world = photographs(8, 0.05, 0.65, seed=2)  # a dark world of strong contrasts
    levels = matched(greys(camera, 64), greys(world, 64))
    assert levels.brightness < -0.2 and levels.contrast > 1.5
    world_mean, world_spread = seen_greys(world, InputLevels())
    camera_mean, camera_spread = seen_greys(camera, InputLevels())
    shown_mean, shown_spread = seen_greys(camera, levels)
    assert abs(shown_mean - world_mean) < 0.03 < abs(camera_mean - world_mean)
    assert abs(shown_spread - world_spread) < 0.2 * world_spread < abs(camera_spread - world_spread)


def test_matched_levels_stay_within_the_knobs_ranges():
    levels = matched(Greys(mean=0.95, spread=0.001), Greys(mean=0.0, spread=0.3))
    assert levels == InputLevels(brightness=-0.95, contrast=4.0)


@pytest.mark.parametrize("over_the_camera", [False, True])
def test_fit_levels_writes_them_into_the_world_it_names(tmp_path: Path, over_the_camera: bool):
    path = write_random_model(tmp_path / "models", "dark")
    if over_the_camera:  # trained with --camera-images: it has seen the camera's greys as they are
        info = dataclasses.replace(read_info(path), provenance={"camera_images": "camera"})
        save_model(path, UNetGenerator(info.architecture).eval(), info)
    for folder, (low, high), seed in (("camera", (0.55, 0.85), 1), ("world", (0.05, 0.65), 2)):
        (tmp_path / folder).mkdir()
        for index, image in enumerate(photographs(4, low, high, seed)):
            Image.fromarray(image.permute(1, 2, 0).numpy()).save(tmp_path / folder / f"{index}.png")
    ran = subprocess.run(
        [sys.executable, "-m", "ltsd.train.fit_levels", str(tmp_path / "world"), "--model", "dark",
         "--models-dir", str(tmp_path / "models"), "--camera", str(tmp_path / "camera"), "--write"],
        capture_output=True, text=True, timeout=120, env=child_environment(),
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    levels = read_info(path).levels
    if over_the_camera:
        assert levels == InputLevels() and "it keeps the knobs alone" in ran.stdout
    else:
        assert levels.brightness < -0.2 and levels.contrast > 1.5
    assert f"brightness {levels.brightness:+.2f}, contrast {levels.contrast:.2f}" in ran.stdout
    listing = run_ltsd("models", "--models-dir", str(tmp_path / "models")).stdout.splitlines()
    shown = "-" if over_the_camera else f"{levels.brightness:+.2f} x{levels.contrast:.2f}"
    assert listing[1].startswith("dark ") and listing[1].split("MB", 1)[1].strip().startswith(shown)
