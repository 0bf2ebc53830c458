"""The generator that is exported: a moving average of the trained weights, with batch-norm
statistics measured for the average itself.

Why measured: the average's weights are not the live generator's, so neither are the means and
variances its batch-norm layers see. Copying the live generator's running statistics (what this
did until session 37) paired the averaged weights with another network's statistics, taken with
dropout on and over its last dozen batches. At the end of a schedule the two networks agree and
it hardly matters; half way through, at the peak learning rate, it drew short vertical columns:
ocean from scratch at step 3,500 cut 4.8 % of its tiles into columns (`ltsd.train.realism.streaks`)
with copied statistics and 2.3 % with its own (models/README.md, session 37). Every export that
is judged before a run ends — `--minutes` sittings, `RUN/latest` — is one of those. SWA does the
same for the same reason (Izmailov et al. 2018, `torch.optim.swa_utils.update_bn`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import torch
from torch import nn

BatchNorm = nn.modules.batchnorm._BatchNorm


class WeightAverage:
    """An exponential moving average of a generator's weights.

    The decay ramps up from 0 (`(1 + step) / (10 + step)`), so early averages are not dominated
    by the random initialisation. `update` copies the live batch-norm statistics (cheap, and
    close enough between saves); `measure_statistics` replaces them with the average's own.
    """

    def __init__(self, generator: nn.Module, decay: float) -> None:
        self.module = copy.deepcopy(generator).eval().requires_grad_(False)
        self.decay = decay

    @torch.no_grad()
    def update(self, generator: nn.Module, step: int) -> None:
        decay = min(self.decay, (1 + step) / (10 + step))
        for averaged, current in zip(self.module.parameters(), generator.parameters(), strict=True):
            averaged.lerp_(current, 1.0 - decay)
        for averaged, current in zip(self.module.buffers(), generator.buffers(), strict=True):
            averaged.copy_(current)

    @torch.no_grad()
    def measure_statistics(self, batches: Iterable[torch.Tensor]) -> int:
        """Set every batch-norm layer's running mean and variance to their plain average over
        the averaged weights' own activations on `batches` (generator inputs, made the way
        training makes them), dropout off. Returns the batches used; with none, nothing changes."""
        norms = [module for module in self.module.modules() if isinstance(module, BatchNorm)]
        kept = [(norm.momentum, copy.deepcopy(norm.state_dict())) for norm in norms]
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None  # a cumulative average: every batch counts the same
            norm.train()  # the rest of the module stays in eval: no dropout
        used = 0
        try:
            for batch in batches:
                self.module(batch)
                used += 1
        finally:
            for norm, (momentum, state) in zip(norms, kept, strict=True):
                norm.momentum = momentum
                norm.eval()
                if not used:
                    norm.load_state_dict(state)
        return used
