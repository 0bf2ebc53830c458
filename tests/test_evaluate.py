"""The picture scores of `ltsd.train.evaluate`: a grid reads high, a photograph low."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ltsd.preprocess import to_grayscale
from ltsd.train.evaluate import detail_score, periodic_artefact_score, scoring_photographs


def luminances() -> dict[str, torch.Tensor]:
    return {name: to_grayscale(photo)[0, 0] for name, photo in scoring_photographs().items()}


def test_every_test_photograph_scores_low_on_periodic_artefacts():
    scores = {name: periodic_artefact_score(image) for name, image in luminances().items()}
    assert all(-0.6 < score < 0.2 for score in scores.values()), scores


def test_a_faint_8_pixel_grid_over_a_photograph_scores_high():
    """What a transposed-convolution decoder leaves: a pattern repeating every 8 px (any shape),
    here at ±4 % of full scale over a smooth photograph."""
    photograph = luminances()["coffee"]
    tile = torch.rand(8, 8, generator=torch.Generator().manual_seed(0))
    grid = tile.repeat(32, 32)
    gridded = photograph * 0.92 + 0.08 * grid
    assert periodic_artefact_score(photograph) < 0.2
    assert periodic_artefact_score(gridded) > 1.0


def test_detail_is_zero_when_flat_and_several_levels_on_a_photograph():
    flat = torch.full((256, 256), 0.5)
    ramp = torch.linspace(0, 1, 256)[None, :].expand(256, 256)  # smooth: no second derivative
    assert detail_score(flat) == 0.0
    assert detail_score(ramp) < 0.01
    assert detail_score(luminances()["astronaut"]) > 4.0
    edges = torch.zeros(256, 256)
    edges[:, ::2] = 1.0  # a one-pixel stripe alternates by 255: Laplacian 2·255 everywhere
    assert abs(detail_score(edges) - 510.0) < 1e-3


def test_the_training_sets_own_speckle_is_measured_against_the_held_out_photographs():
    from ltsd.train.evaluate import training_set_scores

    rng = torch.Generator().manual_seed(0)
    photographs = [(torch.rand(3, 96, 96, generator=rng) * 255).to(torch.uint8) for _ in range(3)]
    grey = [p.float().mean(0, keepdim=True).expand(3, -1, -1).to(torch.uint8) for p in photographs]
    same = training_set_scores(photographs, photographs, 64, crops=8)
    greyer = training_set_scores(grey, photographs, 64, crops=8)
    assert 0.7 < same.speckle_ratio < 1.4  # the same pictures: about 1
    assert greyer.speckle_ratio < 0.01  # no colour at all: no colour speckle
    assert same.patches is None  # realism needs the inputs
    ramp = training_set_scores([torch.arange(96.0).repeat(3, 96, 1).to(torch.uint8)] * 2,
                               photographs, 64, crops=4)  # fmt: skip
    assert ramp.stroke > 1  # a ramp across: horizontal differences only


def test_each_held_out_photographs_stroke_is_told_apart():
    from pathlib import Path

    from ltsd.train.evaluate import stroke_by_photograph

    rows = torch.zeros(3, 96, 96)
    rows[:, ::4] = 1.0  # horizontal lines: vertical differences only
    named = {Path("lines_00.jpg"): rows, Path("lines_01.jpg"): rows,
             Path("posts_00.jpg"): rows.transpose(1, 2)}  # fmt: skip
    leans = stroke_by_photograph({p: (i * 255).to(torch.uint8) for p, i in named.items()}, 64, 4)
    assert list(leans) == ["lines", "posts"]  # crops of one photograph counted as one
    assert leans["lines"] < -1 < 1 < leans["posts"]


def test_the_training_photographs_are_judged_on_the_outputs_realism_scale(small_world):
    from ltsd.train.evaluate import realism_over_draws, training_set_scores

    model, world, inputs = small_world
    astronaut = [(scoring_photographs(192)["astronaut"][0] * 255).to(torch.uint8)]
    same = training_set_scores(world, world, 128, crops=8, inputs=inputs)
    other = training_set_scores(astronaut, world, 128, crops=8, inputs=inputs)
    # the held-out photographs themselves score near 0; another photograph well above
    assert abs(same.patches.score) < 0.35
    assert other.patches.score > same.patches.score + 0.2
    # over draws, the first draw and seed is that same judgement
    over = realism_over_draws(model, inputs, world, draws=2, seeds=1, crops=8, shown=astronaut)
    assert over[0].score == other.patches.score
    assert over[1].score != over[0].score


def test_the_world_is_judged_draw_by_draw_against_its_training_photographs(small_world):
    from ltsd.train.evaluate import paired_gaps, realism_over_draws, spread

    model, world, inputs = small_world
    astronaut = [(scoring_photographs(192)["astronaut"][0] * 255).to(torch.uint8)]
    copy = realism_over_draws(model, inputs, world, draws=2, seeds=1, crops=8, shown=world)
    other = realism_over_draws(model, inputs, world, draws=2, seeds=1, crops=8, shown=astronaut)
    # a set against itself, draw for draw, is exactly level; another photograph is further on
    # every draw, though the draws themselves move the scores
    assert paired_gaps(copy, copy) == [0.0] * 2
    gaps = paired_gaps(other, copy)
    assert len(gaps) == 2 and all(gap > 0.1 for gap in gaps)
    with pytest.raises(ValueError):  # draws that do not pair up are refused, not misread
        paired_gaps(other, copy[:1])
    assert spread([0.25, -0.05], signed=True) == "+0.10 (-0.05–+0.25)"


@pytest.fixture
def small_world(tmp_path):
    """(an untrained 128 px world, uint8 photographs of a world, of everyday things)."""
    from ltsd.generator import GeneratorSpec, UNetGenerator
    from ltsd.modelstore import ModelInfo, load_model, save_model

    spec = GeneratorSpec(1, 3, 4, 16, 7, "nearest", "reflect")
    save_model(tmp_path / "w.safetensors", UNetGenerator(spec).eval(), ModelInfo("w", spec, 128))
    model = load_model(tmp_path / "w.safetensors")
    photographs = {name: photo[0] for name, photo in scoring_photographs(192).items()}
    world = [(photographs[name] * 255).to(torch.uint8) for name in ("coffee", "chelsea", "china")]
    inputs = [(photographs[name] * 255).to(torch.uint8) for name in ("camera", "rocket")]
    return model, world, inputs


def test_patch_realism_is_judged_over_several_draws_of_the_crops(small_world):
    from ltsd.train import realism
    from ltsd.train.evaluate import held_out_crops, played, realism_over_draws, spread

    model, world, inputs = small_world
    results = realism_over_draws(model, inputs, world, draws=2, seeds=2, crops=8)
    assert len(results) == 4
    # draw 0, seed 0 is the single judgement world_scores makes
    everyday = held_out_crops(inputs, 8, 128)
    first = realism.realism(played(model, everyday), everyday, held_out_crops(world, 16, 128))
    assert first.score == results[0].score
    assert len({r.score for r in results}) == 4  # every draw and seed measures anew
    assert len({r.floor for r in results[::2]}) == 2  # the second draw crops other photographs
    assert spread([0.5, 0.25, 0.75]) == "0.50 (0.25–0.75)"
    nan = float("nan")  # a draw without a scale (realism.on_scale) is counted, not averaged
    assert spread([0.5, nan, 0.25]) == "0.38 (0.25–0.50), no scale in 1 of 3"
    assert spread([nan, nan]).startswith("no scale")


def test_world_scores_also_play_the_world_on_its_own_held_out_photographs(small_world):
    from ltsd.train import realism
    from ltsd.train.evaluate import held_out_crops, played, world_scores

    model, world, inputs = small_world
    scores = world_scores(model, inputs, world, crops=8)
    # the other half of the world's crops, played and judged against the reference half
    reference, other = realism.split_halves(held_out_crops(world, 16, 128))
    own = played(model, other)
    assert scores.own_levels == tuple(realism.level_distances(own, reference))
    assert len(scores.own_levels) == len(scores.patches.outputs)
    made = played(model, held_out_crops(inputs, 8, 128))
    photographs = held_out_crops(world, 16, 128)
    detail = realism.fine_detail(photographs)
    assert scores.fine_detail_ratio == pytest.approx(realism.fine_detail(made) / detail)
    assert scores.own_fine_detail_ratio == pytest.approx(realism.fine_detail(own) / detail)
    assert scores.streaks == pytest.approx(realism.streaks(made))
    assert scores.photo_streaks == pytest.approx(realism.streaks(photographs))


def test_realism_by_photograph_puts_its_zero_at_other_photographs(small_world):
    from ltsd.train import realism
    from ltsd.train.evaluate import (
        halves_by_source,
        held_out_crops,
        realism_by_photograph,
        realism_over_draws,
    )

    model, world, inputs = small_world
    coffee, chelsea, china = world
    # two crops cut from one photograph stay on one side, whatever their order
    flipped = chelsea.flip(-1)
    named = {Path("chelsea_00.jpg"): chelsea, Path("coffee.png"): coffee,
             Path("chelsea_01.jpg"): flipped, Path("china.jpg"): china}  # fmt: skip
    (first, second), sources = halves_by_source(named)
    assert sources == 3
    # sources chelsea, china, coffee alternate: chelsea's two crops and coffee | china
    assert [id(image) for image in first] == [id(chelsea), id(coffee), id(flipped)]
    assert len(second) == 1 and second[0] is china
    by_photograph = realism_by_photograph(model, inputs, (first, second), draws=1, seeds=2, crops=8)
    by_crop = realism_over_draws(model, inputs, world, draws=1, seeds=2, crops=8)
    assert len(by_photograph) == 4  # 1 draw × each half the reference in turn × 2 seeds
    # other photographs of a world are further apart than other crops of the same ones
    assert min(r.floor for r in by_photograph) > max(r.floor for r in by_crop)
    # on realism_against's scale, the other half scores 0 and the inputs 1
    reference = held_out_crops(first, 8, 128)
    other = held_out_crops(second, 8, 128)
    everyday = held_out_crops(inputs, 8, 128)
    assert realism.realism_against(other, everyday, reference, other).score == 0
    assert realism.realism_against(everyday, everyday, reference, other).score == 1


def test_held_out_l1_judges_a_darkened_or_mirrored_world_on_the_same_pairs(small_world):
    """`--darken` and `--mirror` change what a world was shown, not what it is judged on: the
    same generator scores the same held-out L1 whichever of them its file records."""
    from dataclasses import replace

    from ltsd.train.evaluate import evaluate

    model, world, _ = small_world
    plain = evaluate(model, world, crops=8)
    for recipe in ({"darken": 0.7}, {"mirror": True}, {"darken": 0.7, "mirror": True}):
        recorded = replace(model, info=replace(model.info, preprocessing=recipe))
        assert evaluate(recorded, world, crops=8) == plain, recipe
    flipped = replace(model, info=replace(model.info, preprocessing={"flips": True}))
    assert evaluate(flipped, world, crops=8) != plain  # the test can tell a recipe apart
