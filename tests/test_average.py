"""The exported weight average draws with its own batch-norm statistics, not the live one's."""

from __future__ import annotations

import copy

import torch
from torch import nn

from ltsd.generator import GeneratorSpec, UNetGenerator
from ltsd.train.average import BatchNorm, WeightAverage

SPEC = GeneratorSpec(1, 3, ngf=4, max_channels=16, depth=4)


def _trained_apart(seed: int = 0) -> tuple[UNetGenerator, WeightAverage, torch.Tensor]:
    """A live generator whose weights and statistics have moved far from its average's, and a
    batch of inputs."""
    torch.manual_seed(seed)
    live = UNetGenerator(SPEC, dropout=True)
    average = WeightAverage(live, decay=0.999)
    inputs = torch.rand(8, 1, 64, 64) * 2 - 1
    live.train()
    with torch.no_grad():
        for step in range(5):
            for parameter in live.parameters():
                parameter.add_(torch.randn_like(parameter) * 0.3)
            live(inputs * (1 + step))  # statistics of other inputs, with dropout on
            average.update(live, step=10_000)  # the full decay: the average lags behind
    return live, average, inputs


def _running_stats(module: nn.Module) -> list[torch.Tensor]:
    return [
        stat.clone()
        for norm in module.modules()
        if isinstance(norm, BatchNorm)
        for stat in (norm.running_mean, norm.running_var)
    ]


def test_measured_statistics_are_the_averaged_weights_own():
    _, average, inputs = _trained_apart()
    with torch.no_grad():
        copied = average.module(inputs)  # eval mode, the live generator's statistics
        batch_normed = _batch_statistics_output(average.module, inputs)
    assert (copied - batch_normed).abs().max() > 0.05, "the copied statistics already fit"

    assert average.measure_statistics([inputs]) == 1
    with torch.no_grad():
        measured = average.module(inputs)
    # one batch: its running statistics are that batch's (variance unbiased: a hair apart)
    assert torch.allclose(measured, batch_normed, atol=5e-3)
    assert not average.module.training, "the average goes back to eval mode"
    norms = [norm for norm in average.module.modules() if isinstance(norm, BatchNorm)]
    assert not any(norm.training for norm in norms)


def _batch_statistics_output(module: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """The module's output with each batch-norm layer normalising by this batch's statistics
    (dropout off), leaving its running statistics as they were."""
    probe = copy.deepcopy(module)
    for norm in probe.modules():
        if isinstance(norm, BatchNorm):
            norm.train()
    return probe(inputs)


def test_every_batch_counts_the_same_and_dropout_stays_off():
    _, average, inputs = _trained_apart(seed=1)
    halves = [inputs[:4], inputs[4:]]
    average.measure_statistics(halves)
    first = _running_stats(average.module)
    average.measure_statistics(halves)  # the same batches again: the same statistics
    again = _running_stats(average.module)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    average.measure_statistics(reversed(halves))  # a plain average: the order does not matter
    assert all(
        torch.allclose(a, b, atol=1e-6)
        for a, b in zip(first, _running_stats(average.module), strict=True)
    )


def test_no_batches_leaves_the_statistics_alone():
    _, average, _ = _trained_apart(seed=2)
    before = _running_stats(average.module)
    momenta = [norm.momentum for norm in average.module.modules() if isinstance(norm, BatchNorm)]
    assert average.measure_statistics([]) == 0
    after = _running_stats(average.module)
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))
    assert momenta == [
        norm.momentum for norm in average.module.modules() if isinstance(norm, BatchNorm)
    ]
