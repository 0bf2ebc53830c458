"""Auto exposure: a dim camera shown to the world as a well-exposed one, followed over a second."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from ltsd.exposure import TARGET_GREY, AutoExposure
from ltsd.frame import Frame
from ltsd.modelstore import load_model
from ltsd.params import LiveParams, ParamStore
from ltsd.pipeline import FrameProcessor
from tests.helpers.models import write_random_model


def grey(level: float) -> torch.Tensor:
    """A frame with a texture around `level`: a camera's picture, not a flat field."""
    ramp = torch.linspace(-0.1, 0.1, 32) * level
    return (level + ramp[None, None, None, :]).expand(1, 1, 32, 32)


def test_a_dim_and_a_bright_camera_both_reach_a_well_exposed_grey_and_black_stays_black():
    for level in (0.15, 0.3, 0.7):
        shown = AutoExposure().apply(grey(level), now_ns=0)
        assert float(shown.mean()) == pytest.approx(TARGET_GREY, abs=0.005), level
        assert float(shown.std()) == pytest.approx(
            float(grey(level).std()) * TARGET_GREY / level, rel=0.01
        )
    black = torch.zeros(1, 1, 32, 32)
    assert float(AutoExposure().apply(black, now_ns=0).max()) == 0.0


def followed(frame_rate: int, seconds: float, before: float, after: float) -> float:
    """The mean grey shown `seconds` after the room went from `before` to `after`."""
    exposure = AutoExposure()
    exposure.apply(grey(before), now_ns=0)
    step_ns = round(1e9 / frame_rate)
    shown = None
    for index in range(1, round(seconds * frame_rate) + 1):
        shown = exposure.apply(grey(after), now_ns=index * step_ns)
    assert shown is not None
    return float(shown.mean())


def test_it_follows_the_room_over_about_a_second_whatever_the_frame_rate():
    # the lights go down to a third: at first the world sees it darker, a few seconds on not
    at_once = followed(30, 1 / 30, before=0.45, after=0.15)
    assert at_once < 0.2
    assert 0.25 < followed(30, 1.0, before=0.45, after=0.15) < 0.4
    assert followed(30, 6.0, before=0.45, after=0.15) == pytest.approx(TARGET_GREY, abs=0.01)
    assert followed(60, 1.0, 0.45, 0.15) == pytest.approx(followed(25, 1.0, 0.45, 0.15), abs=1e-3)


def dark_frame(received_ns: int) -> Frame:
    pixels = np.full((48, 64, 4), 40, np.uint8)  # a third of a well-exposed grey
    pixels[:, ::2] = 30
    return Frame(pixels=pixels, timecode=0, frame_rate=Fraction(30), received_ns=received_ns)


def test_the_daemon_shows_the_world_a_dim_camera_brightened_only_when_asked(tmp_path):
    model = load_model(write_random_model(tmp_path, "world"))
    seen: dict[bool, list[float]] = {}
    for on in (False, True):
        store = ParamStore(LiveParams(auto_exposure=on, world_levels=False))
        processor = FrameProcessor(model, store, torch.device("cpu"))
        processor.on_seen = lambda picture, on=on: seen.setdefault(on, []).append(
            float(picture.mean())
        )
        for index in range(3):
            processor.process(dark_frame(index * 33_000_000))
    assert seen[False][-1] == pytest.approx(35 / 255, abs=0.01)
    assert seen[True][-1] == pytest.approx(TARGET_GREY, abs=0.02)
