"""A world's own input levels: kept in its file, played under the knobs, chosen on training data."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

from ltsd.errors import ModelError
from ltsd.frame import Frame
from ltsd.levels import InputLevels, levelled
from ltsd.modelstore import LoadedModel, ModelInfo, load_model, read_info, write_levels
from ltsd.params import LiveParams, ParamStore
from ltsd.pipeline import FrameProcessor
from ltsd.train.evaluate import play
from ltsd.train.fit_levels import Trial, best, try_levels
from tests.helpers.models import TINY_RESOLUTION, TINY_SPEC, write_random_model


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
    with safe_open(str(path), framework="pt") as handle:
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
        metadata = json.loads(handle.metadata()["ltsd"])
    metadata["levels"] = raw
    from safetensors.torch import save_file

    save_file(tensors, str(path), metadata={"ltsd": json.dumps(metadata)})
    with pytest.raises(ModelError) as error:
        read_info(path)
    assert str(error.value) == f"{path}: unreadable ltsd metadata ({message})"


def test_writing_levels_keeps_the_weights_and_old_files_have_none(tmp_path: Path):
    path = write_random_model(tmp_path, "world")
    assert read_info(path).levels == InputLevels()  # written without: the knobs alone
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


class DarkWorld(torch.nn.Module):
    """A world that learned its grain from dark photographs: it draws it where it sees their
    grey (below 0.75) and elsewhere only the grey it sees. Patch realism does not see brightness
    itself, only what a world draws at it."""

    def forward(self, seen: torch.Tensor) -> torch.Tensor:
        grain = torch.rand(seen.shape, generator=torch.Generator().manual_seed(0)) - 0.5
        return (seen + 0.5 * grain * (seen < 0.5)).clamp(-1, 1).expand(-1, 3, -1, -1)


def photographs(count: int, low: float, high: float, grain: float, seed: int) -> list[torch.Tensor]:
    """As `load_images` gives them: smooth fields from `low` to `high` with `grain` of noise."""
    rng = torch.Generator().manual_seed(seed)
    coarse = torch.rand(count, 1, 6, 6, generator=rng)
    fields = torch.nn.functional.interpolate(coarse, size=(96, 96), mode="bicubic").clamp(0, 1)
    noise = grain * (torch.rand(count, 1, 96, 96, generator=rng) - 0.5)
    images = (low + (high - low) * fields + noise).clamp(0, 1).expand(-1, 3, -1, -1)
    return list((255 * images).round().to(torch.uint8))


def test_the_fitted_levels_take_bright_camera_photographs_into_a_dark_worlds_grey():
    info = ModelInfo(name="dark", architecture=TINY_SPEC, resolution=TINY_RESOLUTION)
    model = LoadedModel(info, DarkWorld(), Path("dark.safetensors"))  # type: ignore[arg-type]
    camera = photographs(6, 0.6, 1.0, grain=0.0, seed=1)
    world = photographs(6, 0.0, 0.3, grain=0.25, seed=2)
    grid = [InputLevels(b, 1.0) for b in (-0.3, 0.0, 0.15)]
    trials = try_levels(model, camera, world, grid, crops=16, seeds=1)
    scores = {trial.levels.brightness: trial.realism for trial in trials}
    assert scores[-0.3] < scores[0.0] - 0.2
    assert best(trials) == InputLevels(-0.3, 1.0)


def test_a_gain_within_the_scores_noise_keeps_the_knobs_alone():
    plain = Trial(InputLevels(), 0.60)
    assert best([plain, Trial(InputLevels(-0.15, 1.2), 0.57)]) == InputLevels()
    assert best([plain, Trial(InputLevels(-0.15, 1.2), 0.50)]) == InputLevels(-0.15, 1.2)
