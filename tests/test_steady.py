"""The pan-consistency loss (ltsd.train.steady): two views of one scene, moved, must agree."""

from __future__ import annotations

from pathlib import Path

import torch

from ltsd.modelstore import load_model
from ltsd.train.data import Degradation, make_pairs
from ltsd.train.steady import MAX_SHIFT, pan_consistency_loss, pan_offsets, two_views
from tests.conftest import run_ltsd
from tests.test_train import TINY, images_dir  # noqa: F401 - the fixture


def test_offsets_are_small_pans_never_none():
    rng = torch.Generator().manual_seed(0)
    offsets = [pan_offsets(rng) for _ in range(500)]
    assert all(0 <= d <= MAX_SHIFT and 0 <= r <= MAX_SHIFT and (d or r) for d, r in offsets)
    assert len(set(offsets)) > 100


def test_a_world_that_moves_with_the_camera_scores_zero_and_one_that_redraws_does_not():
    rng = torch.Generator().manual_seed(1)
    scene = torch.rand(2, 3, 64 + MAX_SHIFT, 64 + MAX_SHIFT, generator=rng)
    offsets = (5, 11)
    views = two_views(scene, 64, offsets)
    assert views.shape == (4, 3, 64, 64)
    assert pan_consistency_loss(views, offsets) == 0  # what it sees, where it sees it
    redrawn = views + 0.2 * torch.randn(views.shape, generator=rng)  # new grain every frame
    assert pan_consistency_loss(redrawn, offsets) > 0.1
    assert pan_consistency_loss(views, (6, 11)) > 0.1  # the overlap is where the pan puts it


def test_both_views_of_a_scene_get_the_same_brightness_and_contrast():
    flat = torch.full((3, 3, 32, 32), 0.5)  # three scenes, each plain grey
    inputs, _ = make_pairs(torch.cat([flat, flat]), Degradation(), torch.Generator(), views=2)
    first, second = inputs.chunk(2)
    assert torch.equal(first, second)
    assert first[0].mean() != first[1].mean()  # while scenes differ from each other


def test_training_with_the_pan_loss_runs_and_records_its_weight(images_dir: Path, tmp_path):  # noqa: F811
    trained = run_ltsd("train", str(images_dir), "--name", "steady", "--models-dir",
                       str(tmp_path), "--steps", "2", "--run-dir", str(tmp_path / "run"),
                       "--no-features", "--pan-weight", "10", *TINY)  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert load_model(tmp_path / "steady.safetensors").info.provenance["pan_weight"] == 10
