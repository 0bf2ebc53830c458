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
