"""A world that holds still under a moving camera: the pan-consistency loss.

Why the worlds flicker: the input is a ~11 px thumbnail of the frame (`ltsd.preprocess.blur`),
so a pan of a few pixels moves the thumbnail's sampling grid, and every thumbnail pixel changes a
little. A generator trained on single images is free to invent its fine texture from those small
differences, and it does: the feature-trained worlds redrew themselves from frame to frame (the
flicker score 0.6–0.9, `ltsd.train.realism.flicker`). Nothing in training showed it two views of
one scene.

So each step also takes a second view of every crop, moved by a random 1–`MAX_SHIFT` px (the
pan of a hand-held or slowly turned camera between frames), degrades it on its own as the daemon
would degrade the next frame, and asks the two outputs to agree where they overlap.
"""

from __future__ import annotations

import torch

MAX_SHIFT = 16  # px at the model's size: a slow pan, a few frames' worth


def pan_offsets(rng: torch.Generator) -> tuple[int, int]:
    """(down, right) of the second view: each 0..MAX_SHIFT, never both 0."""
    while True:
        down, right = (int(v) for v in torch.randint(MAX_SHIFT + 1, (2,), generator=rng))
        if down or right:
            return down, right


def two_views(wide: torch.Tensor, size: int, offsets: tuple[int, int]) -> torch.Tensor:
    """(2B, C, size, size) from crops (B, C, size + MAX_SHIFT, size + MAX_SHIFT): first every
    view at the top left, then every view moved by `offsets`."""
    down, right = offsets
    first = wide[..., :size, :size]
    second = wide[..., down : down + size, right : right + size]
    return torch.cat([first, second])


def pan_consistency_loss(outputs: torch.Tensor, offsets: tuple[int, int]) -> torch.Tensor:
    """Mean |first view's output − second's| over where they show the same place; `outputs` is
    (2B, C, H, W) in `two_views`' order."""
    down, right = offsets
    first, second = outputs.chunk(2)
    height, width = first.shape[-2:]
    overlap_first = first[..., down:, right:]
    overlap_second = second[..., : height - down, : width - right]
    return (overlap_first - overlap_second).abs().mean()
