from __future__ import annotations

import numpy as np

from ltsd.config import SyntheticConfig
from ltsd.sources.synthetic import SyntheticSource


def test_same_seed_draws_the_same_frames_and_other_seeds_do_not():
    a = SyntheticSource(SyntheticConfig(width=96, height=54, seed=3))
    b = SyntheticSource(SyntheticConfig(width=96, height=54, seed=3))
    c = SyntheticSource(SyntheticConfig(width=96, height=54, seed=4))
    assert np.array_equal(a.frame_at(10), b.frame_at(10))
    assert not np.array_equal(a.frame_at(10), c.frame_at(10))


def test_scene_moves_and_is_a_grey_table_with_things_on_it():
    source = SyntheticSource(SyntheticConfig(width=160, height=90, fps=30))
    first, later = source.frame_at(0), source.frame_at(60)
    assert first.shape == (90, 160, 4) and first.dtype == np.uint8
    assert np.abs(first.astype(int) - later.astype(int)).mean() > 1.0
    grey = first[:, :, :3].mean(axis=2)
    assert 60 < np.median(grey) < 180  # mostly table
    assert grey.std() > 10  # with objects on it


def test_read_paces_frames_and_numbers_them():
    source = SyntheticSource(SyntheticConfig(width=32, height=18, fps=100))
    frames = [source.read(timeout_s=1.0) for _ in range(3)]
    assert [f.timecode for f in frames] == [0, 100_000, 200_000]


def test_things_are_moved_by_hand_pushed_then_left_to_rest():
    from ltsd.sources.synthetic import make_things, placement

    for thing in make_things(0):
        path = np.array([placement(thing, n / 30, 16 / 9) for n in range(600)])  # 20 s
        steps = np.abs(np.diff(path[:, :2], axis=0)).max(axis=1)
        assert steps.max() < 0.05, f"{thing.kind} jumps"  # smooth: no teleporting
        resting = (steps == 0).mean()
        assert 0.5 < resting < 0.95, f"{thing.kind} rests {resting:.0%} of the time"
