"""The frame path in-process: real synthetic source, real models, real NDI sink."""

from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from ltsd.config import SyntheticConfig
from ltsd.frame import Frame
from ltsd.modelstore import load_model
from ltsd.params import LiveParams, ParamStore
from ltsd.pipeline import LatestSlot, OutputPlan, Pipeline
from ltsd.sinks.ndi import NdiSink
from ltsd.sources.synthetic import SyntheticSource
from tests.conftest import MODEL_RGB, unique_name
from tests.helpers.models import write_constant_model


def make_pipeline(models_dir: Path, size: tuple[int, int] | None = None) -> Pipeline:
    source = SyntheticSource(SyntheticConfig(width=96, height=54, fps=60))
    model = load_model(models_dir / "magenta.safetensors")
    sink = NdiSink(unique_name("pipe"))
    plan = OutputPlan(fixed_size=size, on_source_lost="hold", lost_after_s=1.0)
    return Pipeline(source, model, ParamStore(LiveParams()), sink, plan, torch.device("cpu"))


def synthetic_frame(width: int = 96, height: int = 54) -> Frame:
    pixels = SyntheticSource(SyntheticConfig(width=width, height=height)).frame_at(0)
    return Frame(pixels, 0, Fraction(30), 0)


def test_process_returns_the_models_colour_at_the_source_size(models_dir: Path):
    pipeline = make_pipeline(models_dir)
    out = pipeline.process(synthetic_frame())
    assert out.shape == (54, 96, 4) and out.dtype == np.uint8
    assert np.abs(out[:, :, [2, 1, 0]].astype(int) - MODEL_RGB).max() <= 1
    assert (out[:, :, 3] == 255).all()
    pipeline.sink.close()


def test_fixed_output_size_is_honoured(models_dir: Path):
    pipeline = make_pipeline(models_dir, size=(128, 72))
    assert pipeline.process(synthetic_frame()).shape == (72, 128, 4)
    pipeline.sink.close()


def test_a_bad_model_switch_keeps_the_running_model(models_dir: Path, tmp_path: Path):
    pipeline = make_pipeline(models_dir)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"garbage")
    problem = pipeline.switch_model(broken)
    assert problem is not None and "broken.safetensors" in problem
    assert pipeline.model.name == "magenta"
    write_constant_model(tmp_path, "teal", (20, 160, 150))
    assert pipeline.switch_model(tmp_path / "teal.safetensors") is None
    out = pipeline.process(synthetic_frame())
    assert np.abs(out[:, :, [2, 1, 0]].astype(int) - (20, 160, 150)).max() <= 1
    pipeline.sink.close()


def test_latest_slot_hands_on_only_the_newest_frame():
    slot = LatestSlot()
    frames = [Frame(np.zeros((2, 2, 4), np.uint8), tc, Fraction(30), 0) for tc in range(3)]
    for frame in frames:
        slot.put(frame)
    assert slot.take(0.01) is frames[-1]
    assert slot.take(0.01) is None
    assert slot.dropped == 2


def test_a_frame_that_cannot_be_processed_is_skipped_not_fatal(models_dir: Path):
    pipeline = make_pipeline(models_dir)
    empty = Frame(np.zeros((0, 0, 4), np.uint8), 0, Fraction(30), 0)
    assert pipeline._process_or_skip(empty, LiveParams()) is None
    assert pipeline.stats.frames_failed == 1
    assert pipeline._process_or_skip(synthetic_frame(), LiveParams()) is not None
    pipeline.sink.close()


def colour_of(out: np.ndarray) -> np.ndarray:
    return out[:, :, [2, 1, 0]].reshape(-1, 3).mean(axis=0)


def test_bypass_shows_what_the_model_sees_and_mix_blends_toward_it(models_dir: Path):
    pipeline = make_pipeline(models_dir)
    grey = Frame(np.full((54, 96, 4), 100, np.uint8), 0, Fraction(30), 0)
    seen = colour_of(pipeline.process(grey, LiveParams(bypass=True)))
    assert np.allclose(seen, 100, atol=1)  # flat grey stays that grey through the degradation
    half = colour_of(pipeline.process(grey, LiveParams(mix=0.5)))
    assert np.allclose(half, (np.array(MODEL_RGB) + 100) / 2, atol=1.5)
    pipeline.sink.close()


def test_crossfade_frames_lie_between_the_two_models(models_dir: Path, tmp_path: Path):
    pipeline = make_pipeline(models_dir)
    teal = (20, 160, 150)
    write_constant_model(tmp_path, "teal", teal)
    pipeline.set_model(load_model(tmp_path / "teal.safetensors"), crossfade_s=2.0)
    time.sleep(1.0)  # halfway, with a second's slack each side for a busy machine
    mid = colour_of(pipeline.process(synthetic_frame()))
    low, high = np.minimum(MODEL_RGB, teal), np.maximum(MODEL_RGB, teal)
    assert ((mid > low + 2) & (mid < high - 2)).all(), mid
    time.sleep(1.1)
    assert np.allclose(colour_of(pipeline.process(synthetic_frame())), teal, atol=1)
    pipeline.sink.close()
