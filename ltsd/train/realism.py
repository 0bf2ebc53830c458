"""Does a world look like photographs of its world? Scores of sets of images, not of one.

Every function takes (N, 3, H, W) RGB in [0, 1]:
- `speckle`: fine chroma over fine luma (the energy of the finest Laplacian-pyramid band of
  Cb and Cr against Y's). Photographs have little colour at the finest scale (lenses,
  demosaicing, JPEG); a generator that paints per-pixel red, green and cyan has much.
- `stroke_direction`: log10 of horizontal over vertical fine-gradient energy of the luma. Sea
  photographs are dominated by horizontal wave crests (vertical gradients: about −0.4); vertical
  streaks push it toward 0 or above.
- `streaks`: the share of small tiles whose fine luma detail repeats itself a few pixels further
  down each column much more than along each row (columns), and the other way round (smears).
  Photographs of the sea have almost no columns (0.1 % of tiles: their glints are short); a
  world that cuts its rocks and water into short vertical columns has 3–4 %, which
  `stroke_direction` cannot tell from choppy water (models/README.md, sessions 31 and 36).
- `fine_detail`: the energy (root mean square) of the luma's finest band: how much 1–2 px
  detail a set has. Judged as a ratio to the photographs': a world that paints smooth surfaces
  where photographs have grain, edges and foliage reads well under 1.
- `level_distances`: Karras et al. 2018's sliced Wasserstein distance between the 7×7 patches
  of each level of two sets' Laplacian pyramids: how far the textures, at every scale, are
  from each other's. `realism` puts it on a scale: 0 = the world's photographs against the
  world's photographs, 1 = unprocessed input photographs against them; and splits it into the
  band-pass levels (the world's texture) and the low-pass rest (the layout, which a Learning to
  See world takes from the camera by design, so it stays near the inputs' whatever the world).
- `kid`: Kernel Inception Distance (Bińkowski et al. 2018) on the pooled features of the
  frozen EfficientNet-Lite0 (`ltsd.train.features`) instead of Inception: unbiased for small sets.
- `flicker`: on a slow pan over a photograph, the output's change from frame to frame once the
  pan is undone, over the input's change: 0 for a world that moves with the camera, ~1 and more
  for one that redraws itself every frame.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ltsd.generator import YCBCR_ROWS

PATCH = 7
PATCHES_PER_IMAGE = 128
PROJECTIONS = 512
SMALLEST_LEVEL = 16
_YCBCR = torch.tensor(YCBCR_ROWS)


def ycbcr(images: torch.Tensor) -> torch.Tensor:
    return torch.einsum("oc,nchw->nohw", _YCBCR.to(images), images)


def _down(images: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(images, 2)


def _up(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False)


def laplacian_pyramid(images: torch.Tensor, smallest: int = SMALLEST_LEVEL) -> list[torch.Tensor]:
    """Band-pass levels, finest first, down to `smallest` px; the last is the low-pass rest."""
    levels = []
    current = images
    while min(current.shape[-2:]) >= 2 * smallest:
        smaller = _down(current)
        levels.append(current - _up(smaller, current.shape[-2:]))
        current = smaller
    levels.append(current)
    return levels


def speckle(images: torch.Tensor) -> float:
    """Energy (mean square) of the finest band's chroma (Cb, Cr) over its luma's."""
    fine = laplacian_pyramid(ycbcr(images.double()))[0]
    luma = fine[:, 0].square().mean()
    chroma = fine[:, 1:].square().sum(1).mean()
    return float(chroma / luma.clamp_min(1e-12))


def fine_detail(images: torch.Tensor) -> float:
    """Root mean square of the finest Laplacian band of the luma."""
    luma = ycbcr(images.double())[:, :1]
    return float(laplacian_pyramid(luma)[0].square().mean().sqrt())


def stroke_direction(images: torch.Tensor) -> float:
    """log10(energy of horizontal differences / energy of vertical differences) of the finest
    band of the luma."""
    luma = ycbcr(images.double())[:, :1]
    fine = laplacian_pyramid(luma)[0]
    horizontal = (fine[..., :, 1:] - fine[..., :, :-1]).square().mean()
    vertical = (fine[..., 1:, :] - fine[..., :-1, :]).square().mean()
    return float(torch.log10(horizontal.clamp_min(1e-12) / vertical.clamp_min(1e-12)))


STREAK_LAG = 6  # px at the model's size: longer than a glint, shorter than a column
STREAK_TILE = 32  # px: a column is local (a cliff, a rock), so it is looked for tile by tile
STREAK_EXCESS = 0.3  # a tile whose detail repeats this much more down than along is a column


def streaks(images: torch.Tensor) -> tuple[float, float]:
    """(columns, smears): the share of STREAK_TILE-px tiles whose luma detail (the luma minus
    its centred 5×5 average) correlates with itself STREAK_LAG px down each column by more than
    STREAK_EXCESS above its correlation STREAK_LAG px along each row; and the other way round.
    Compared with each other, not alone: a smooth tile repeats itself both ways. The average is
    centred, not `fine_texture.fine_bands`' 4 px blocks: their grid, read 6 px on, sent the sea
    photographs' figure below 0 and the shipped ocean's further (models/README.md, session 36)."""
    luma = ycbcr(images.double())[:, :1]
    fine = luma - F.avg_pool2d(F.pad(luma, (2, 2, 2, 2), mode="reflect"), 5, stride=1)
    lag = STREAK_LAG
    origin = fine[..., :-lag, :-lag]
    down = _tile_correlations(origin, fine[..., lag:, :-lag])
    along = _tile_correlations(origin, fine[..., :-lag, lag:])
    columns = float((down - along > STREAK_EXCESS).double().mean())
    smears = float((along - down > STREAK_EXCESS).double().mean())
    return columns, smears


def _tile_correlations(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pearson correlation of `a` with `b` (N, 1, H, W) within each STREAK_TILE² tile."""
    height = a.shape[-2] - a.shape[-2] % STREAK_TILE
    width = a.shape[-1] - a.shape[-1] % STREAK_TILE
    a, b = a[..., :height, :width], b[..., :height, :width]

    def mean(x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, STREAK_TILE)

    covariance = mean(a * b) - mean(a) * mean(b)
    variances = (mean(a * a) - mean(a).square()) * (mean(b * b) - mean(b).square())
    return (covariance / variances.clamp_min(1e-12).sqrt()).flatten()


def patches_at(
    level: torch.Tensor, images: torch.Tensor, rows: torch.Tensor, columns: torch.Tensor
) -> torch.Tensor:
    """The PATCH×PATCH patches of a (N, C, H, W) level whose top-left corners are (rows,
    columns) of `images` (three (K,) index tensors) → (K, PATCH·PATCH, C)."""
    offsets = torch.arange(PATCH, device=level.device)
    row_index = (rows[:, None] + offsets)[:, :, None]  # (K, 7, 1)
    column_index = (columns[:, None] + offsets)[:, None, :]  # (K, 1, 7)
    picked = level.permute(0, 2, 3, 1)[images[:, None, None], row_index, column_index]
    return picked.reshape(len(images), PATCH * PATCH, level.shape[1])


def _descriptors(level: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """PATCHES_PER_IMAGE random 7×7×3 patches of each image, normalised per colour channel."""
    count, _, height, width = level.shape
    rows = torch.randint(0, height - PATCH + 1, (count, PATCHES_PER_IMAGE), generator=generator)
    columns = torch.randint(0, width - PATCH + 1, (count, PATCHES_PER_IMAGE), generator=generator)
    images = torch.arange(count)[:, None].expand(count, PATCHES_PER_IMAGE)
    patches = patches_at(level, images.flatten(), rows.flatten(), columns.flatten())
    patches = (patches - patches.mean(dim=(0, 1))) / patches.std(dim=(0, 1)).clamp_min(1e-8)
    return patches.reshape(patches.shape[0], -1)


def _sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, generator: torch.Generator) -> float:
    directions = torch.randn(a.shape[1], PROJECTIONS, generator=generator, dtype=a.dtype)
    directions /= directions.norm(dim=0, keepdim=True)
    projected_a = (a @ directions).sort(dim=0).values
    projected_b = (b @ directions).sort(dim=0).values
    if projected_a.shape[0] != projected_b.shape[0]:  # compare quantiles of unequal sets
        count = min(projected_a.shape[0], projected_b.shape[0])
        quantiles = torch.linspace(0, 1, count, dtype=a.dtype)
        projected_a = torch.quantile(projected_a, quantiles, dim=0)
        projected_b = torch.quantile(projected_b, quantiles, dim=0)
    return float((projected_a - projected_b).abs().mean())


def level_distances(a: torch.Tensor, b: torch.Tensor, seed: int = 0) -> list[float]:
    """The sliced Wasserstein distance of the two sets' patches at each pyramid level, finest
    first, the layout (low-pass rest) last (×1e3, as Karras et al. report it)."""
    generator = torch.Generator().manual_seed(seed)
    levels_a = laplacian_pyramid(a.double())
    levels_b = laplacian_pyramid(b.double())
    return [
        1e3
        * _sliced_wasserstein(
            _descriptors(level_a, generator), _descriptors(level_b, generator), generator
        )
        for level_a, level_b in zip(levels_a, levels_b, strict=True)
    ]


# the inputs must be this much further from the world than its own photographs are, or the
# scale is noise over a near-zero width (clouds' 17 skies split by photograph: ±1e13, session 28)
NARROWEST_SCALE = 0.1


def on_scale(value: float, floor: float, ceiling: float) -> float:
    """`value` on the scale where `floor` (the world against itself) is 0 and `ceiling` (the
    inputs against the world) is 1; NaN when there is no such scale: the inputs are within
    NARROWEST_SCALE of the world's own photographs' distance, so nothing tells them apart."""
    if ceiling - floor <= NARROWEST_SCALE * abs(floor):
        return math.nan
    return (value - floor) / (ceiling - floor)


def split_halves(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Alternate images into two halves (adjacent crops of one photograph land apart)."""
    return images[0::2], images[1::2]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


@dataclass(frozen=True, slots=True)
class Realism:
    """Patch realism of a set of outputs, whole and split into texture and layout.

    `best_with_layout` is what `score` would be if every band were as close to the world's
    photographs as they are to each other and only the layout stayed the outputs': the lowest
    score a world that keeps the camera's layout can reach."""

    score: float  # every level, 0 = the world's photographs … 1 = the inputs
    texture: float  # the band-pass levels only, on their own 0 … 1 scale
    layout: float  # the low-pass rest only, on its own scale
    best_with_layout: float
    distance: float  # mean over levels, ×1e3
    floor: float  # the world's photographs' own
    photographs: tuple[float, ...]  # per level, finest first: the photographs' own distance
    inputs: tuple[float, ...]  # … the inputs'
    outputs: tuple[float, ...]  # … the outputs'


def realism(
    outputs: torch.Tensor, inputs: torch.Tensor, world: torch.Tensor, seed: int = 0
) -> Realism:
    """Outputs against half the world's photographs' crops, on the 0 (the other half) … 1
    (inputs) scale."""
    return realism_against(outputs, inputs, *split_halves(world), seed)


def realism_against(
    outputs: torch.Tensor,
    inputs: torch.Tensor,
    reference: torch.Tensor,
    other: torch.Tensor,
    seed: int = 0,
) -> Realism:
    """Outputs against the `reference` crops of the world, on the 0 (`other` crops of the
    world) … 1 (inputs) scale. Each set is cut to the size of `other` (or smaller) so the three
    are measured on equally many patches."""
    count = min(len(other), len(outputs), len(inputs))
    floor = level_distances(other[:count], reference, seed)
    ceiling = level_distances(inputs[:count], reference, seed)
    made = level_distances(outputs[:count], reference, seed)
    return Realism(
        score=on_scale(_mean(made), _mean(floor), _mean(ceiling)),
        texture=on_scale(_mean(made[:-1]), _mean(floor[:-1]), _mean(ceiling[:-1])),
        layout=on_scale(made[-1], floor[-1], ceiling[-1]),
        best_with_layout=on_scale(_mean([*floor[:-1], made[-1]]), _mean(floor), _mean(ceiling)),
        distance=_mean(made),
        floor=_mean(floor),
        photographs=tuple(floor),
        inputs=tuple(ceiling),
        outputs=tuple(made),
    )


def _polynomial_kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a @ b.T / a.shape[1] + 1) ** 3


def kid(a: torch.Tensor, b: torch.Tensor) -> float:
    """Unbiased MMD² with the cubic polynomial kernel between two sets of feature vectors."""
    a, b = a.double(), b.double()
    m, n = a.shape[0], b.shape[0]
    k_aa, k_bb, k_ab = _polynomial_kernel(a, a), _polynomial_kernel(b, b), _polynomial_kernel(a, b)
    same_a = (k_aa.sum() - k_aa.diagonal().sum()) / (m * (m - 1))
    same_b = (k_bb.sum() - k_bb.diagonal().sum()) / (n * (n - 1))
    return float(same_a + same_b - 2 * k_ab.mean())


def pooled_features(images: torch.Tensor, batch: int = 16) -> torch.Tensor:
    """(N, 1280) pooled EfficientNet-Lite0 head features of [0, 1] images at 224²."""
    from ltsd.train.features import feature_network

    network = feature_network()
    chunks = []
    with torch.inference_mode():
        for start in range(0, images.shape[0], batch):
            chunk = F.interpolate(images[start : start + batch].float(), size=(224, 224),
                                  mode="bilinear", antialias=True, align_corners=False)  # fmt: skip
            chunks.append(network.pooled(chunk * 2 - 1))
    return torch.cat(chunks)


def feature_realism(
    outputs: torch.Tensor, inputs: torch.Tensor, world: torch.Tensor
) -> tuple[float, float]:
    """(score on the 0 … 1 scale, KID ×1e3) of outputs against half the world's photographs."""
    reference, other = split_halves(world)
    count = min(len(other), len(outputs), len(inputs))
    features = {
        name: pooled_features(images)
        for name, images in (("ref", reference), ("other", other[:count]),
                             ("inputs", inputs[:count]), ("outputs", outputs[:count]))
    }  # fmt: skip
    floor = kid(features["other"], features["ref"])
    ceiling = kid(features["inputs"], features["ref"])
    distance = kid(features["outputs"], features["ref"])
    return on_scale(distance, floor, ceiling), 1e3 * distance


def pan_frames(photograph: torch.Tensor, size: int, frames: int, step: int) -> torch.Tensor:
    """(frames, 3, size, size) crops of a (1, 3, H, W) photograph, each `step` px further right."""
    top = (photograph.shape[-2] - size) // 2
    needed = size + step * (frames - 1)
    if photograph.shape[-1] < needed or photograph.shape[-2] < size:
        raise ValueError(f"a {frames}-frame pan of {size} px by {step} px needs {needed} px")
    return torch.cat(
        [photograph[..., top : top + size, i * step : i * step + size] for i in range(frames)]
    )


def flicker(
    world: Callable[[torch.Tensor], torch.Tensor], frames: torch.Tensor, step: int
) -> float:
    """Mean |output(t+1) shifted back by `step` − output(t)| over mean |input(t+1) − input(t)|,
    away from a border of 2·step px (where the pan brings in new content)."""
    outputs = torch.cat([world(frames[i : i + 1]) for i in range(frames.shape[0])])
    margin = 2 * step

    def moved(images: torch.Tensor) -> torch.Tensor:  # frame t+1's content under frame t's
        return images[1:, ..., margin - step : -margin - step]

    def still(images: torch.Tensor) -> torch.Tensor:
        return images[:-1, ..., margin:-margin]

    change = (moved(outputs) - still(outputs)).abs().mean()
    motion = (frames[1:, ..., margin:-margin] - still(frames)).abs().mean()
    return float(change / motion.clamp_min(1e-12))
