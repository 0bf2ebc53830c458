"""Is a world worth watching? Held-out L1 against a baseline, and two scores of its pictures.

    python -m ltsd.train.evaluate [IMAGES_DIR] --model NAME [--models-dir DIR] [--crops 64]
        [--held-out DIR --inputs DIR]

With --held-out (photographs of the world that training never saw) and --inputs (photographs of
everyday things, `models/make_worlds.py --data-only` makes both), it also judges the world against
its world with `ltsd.train.realism`'s scores: patch-statistics realism, feature-space realism (KID),
colour speckle, stroke direction and streaks (short vertical columns, long horizontal smears)
against the held-out photographs' (and the range of each held-out photograph's own stroke), and
the flicker of a slow pan; patch realism is also split into
texture (the pyramid's bands: what the world draws) and layout (its low-pass rest: the camera's, by
design), with the lowest score a world that keeps the camera's layout can reach; with IMAGES_DIR
too, the training images' own speckle, stroke and realism (the world copies them: a held-out set
unlike its training set in these moves the bar, not the world; real photographs of the world score
well above the scale's 0, which is other crops of the same held-out photographs). With --draws,
realism is also judged with the held-out photographs split by photograph, whose 0 is other
photographs.

- Held-out L1 (needs the world's IMAGES_DIR): the baseline is the degraded input tinted with the
  dataset's mean colour: it already has the right brightness layout and the right average colour,
  so a model only beats it by adding the world's texture and colour structure. Held-out crops are
  drawn with a seed the trainer never uses.
- On six real photographs (scikit-image's coffee, chelsea, astronaut, rocket and camera and
  scikit-learn's china.jpg, cut to 256×256, played through the world as the daemon would), the
  mean of two scores of the output's luminance:
  - periodic-artefact score: mean log10 ratio of the spectral power at the multiples of N/8
    (periods 8, 4, 8/3 and 2 px, where transposed convolutions leave their checkerboard) to the
    median power of each such frequency's neighbourhood, Hann-windowed. A photograph scores
    about −0.4 … +0.1; a visible grid +1 and more.
  - detail score: mean absolute Laplacian of the luminance on a 0..255 scale: flat mush scores
    near 0, the photographs themselves 4 to 20.
"""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ltsd.config import ModelConfig
from ltsd.errors import run_command
from ltsd.levels import KNOBS_ALONE, InputLevels, levelled
from ltsd.modelstore import LoadedModel, load_model, load_trained, model_path
from ltsd.params import LiveParams
from ltsd.preprocess import prepare, to_grayscale
from ltsd.train.data import (
    Degradation,
    load_images,
    load_named_images,
    make_pairs,
    random_crops,
)
from ltsd.train.realism import Realism

HELD_OUT_SEED = 1_000_003
PHOTOGRAPH_NAMES = ("coffee", "chelsea", "astronaut", "rocket", "camera", "china")
ARTEFACT_PERIOD_PX = 8  # transposed convolutions' grid repeats every 2, 4, 8 px (3 levels)
NEIGHBOURHOOD = 3  # the median is taken over a 7×7 block of frequencies around each one
# splitting the held-out photographs by photograph needs this many source photographs a side:
# clouds' four (two and two) are further from each other than everyday things are from them
FEWEST_PER_HALF = 8


@dataclass(frozen=True, slots=True)
class Evaluation:
    model_l1: float
    baseline_l1: float
    crops: int


def evaluate(model: LoadedModel, images: list[torch.Tensor], crops: int) -> Evaluation:
    """Mean absolute error on a [0, 1] scale over `crops` held-out pairs: degraded as the world
    was trained, but of the photographs as they are (not darkened) and on the crops every world
    is judged on (no mirror draws), so that worlds trained with and without those compare."""
    trained = Degradation(**_recipe_fields(model.info.preprocessing))
    recipe = replace(trained, mirror=False, darken=0.0)
    rng = torch.Generator().manual_seed(HELD_OUT_SEED)
    targets = random_crops(images, crops, model.info.resolution, recipe, rng)
    inputs, _ = make_pairs(targets, recipe, rng)
    mean_colour = torch.stack([image.float().mean(dim=(1, 2)) / 255 for image in images]).mean(0)
    mean_grey = to_grayscale(mean_colour.reshape(1, 3, 1, 1)).item()
    grey = (to_grayscale(inputs) + 1) / 2
    baseline = (grey * (mean_colour / max(mean_grey, 1e-3)).reshape(1, 3, 1, 1)).clamp(0, 1)
    with torch.inference_mode():
        outputs = torch.cat([model.generator(inputs[i : i + 8]) for i in range(0, crops, 8)])
    made = (outputs + 1) / 2
    return Evaluation(
        model_l1=(made - targets).abs().mean().item(),
        baseline_l1=(baseline - targets).abs().mean().item(),
        crops=crops,
    )


@dataclass(frozen=True, slots=True)
class PictureScores:
    """Means over the six photographs of what a world makes of them."""

    periodic: float
    detail: float


def scoring_photographs(size: int = 256) -> dict[str, torch.Tensor]:
    """The six photographs, centre-cut square and area-resized: name → (1, 3, size, size) in
    [0, 1]. They ship with scikit-image and scikit-learn (`pip install -e ".[worlds]"`)."""
    import skimage.data
    from sklearn.datasets import load_sample_image

    photographs = {}
    for name in PHOTOGRAPH_NAMES:
        pixels = (
            load_sample_image(f"{name}.jpg") if name == "china" else getattr(skimage.data, name)()
        )
        image = torch.from_numpy(np.array(pixels)).float().div(255)
        image = image[..., None].expand(-1, -1, 3) if image.ndim == 2 else image[..., :3]
        height, width = image.shape[:2]
        side = min(height, width)
        top, left = (height - side) // 2, (width - side) // 2
        square = image[top : top + side, left : left + side].permute(2, 0, 1)[None]
        photographs[name] = F.interpolate(square, size=(size, size), mode="area")
    return photographs


def play(
    model: LoadedModel, photograph: torch.Tensor, levels: InputLevels | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(what the model sees, what it makes) of a (1, 3, H, W) frame in [0, 1], with the daemon's
    default live parameters and the world's own levels (or `levels`); both in [-1, 1] at the
    model's size."""
    size = model.info.resolution
    params = levelled(LiveParams(), model.info.levels if levels is None else levels)
    with torch.inference_mode():
        seen = prepare(photograph, params, size, size, model.info.architecture.in_channels)
        return seen, model.generator(seen).clamp(-1, 1)


def periodic_artefact_score(luminance: torch.Tensor) -> float:
    """Mean log10(power / neighbourhood median) at the multiples of N/8 of an (N, N) image's
    spectrum (the module docstring says why). N must be a multiple of 8."""
    size = luminance.shape[-1]
    window = torch.hann_window(size, periodic=False, dtype=torch.float64)
    centred = (luminance.double() - luminance.double().mean()) * window[:, None] * window[None, :]
    power = torch.fft.fft2(centred).abs().square()
    step = size // ARTEFACT_PERIOD_PX
    offsets = torch.arange(-NEIGHBOURHOOD, NEIGHBOURHOOD + 1)
    ratios = []
    for row in range(0, size, step):
        for column in range(0, size, step):
            if row == column == 0:
                continue
            rows, columns = (row + offsets) % size, (column + offsets) % size
            block = power[rows][:, columns].flatten()
            around = torch.cat([block[: block.numel() // 2], block[block.numel() // 2 + 1 :]])
            ratio = power[row, column] / around.median().clamp_min(1e-20)
            ratios.append(torch.log10(ratio.clamp_min(1e-20)))
    return float(torch.stack(ratios).mean())


def detail_score(luminance: torch.Tensor) -> float:
    """Mean absolute 4-neighbour Laplacian of an (H, W) luminance on a 0..255 scale."""
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
    laplacian = F.conv2d(luminance.float()[None, None] * 255, kernel[None, None])
    return float(laplacian.abs().mean())


def picture_scores(model: LoadedModel) -> PictureScores:
    """The two scores of what `model` makes of the six photographs, averaged."""
    periodic, detail = [], []
    for photograph in scoring_photographs(model.info.resolution).values():
        _, made = play(model, photograph)
        luminance = to_grayscale((made + 1) / 2)[0, 0]
        periodic.append(periodic_artefact_score(luminance))
        detail.append(detail_score(luminance))
    return PictureScores(sum(periodic) / len(periodic), sum(detail) / len(detail))


@dataclass(frozen=True, slots=True)
class WorldScores:
    """What a world makes of everyday photographs, against held-out photographs of its world."""

    patches: Realism  # patch statistics: 0 = the world's photographs, 1 = the inputs
    feature_realism: float  # KID on EfficientNet-Lite0 features, on the same scale
    kid: float  # ×1e3
    speckle_ratio: float  # outputs' fine chroma / luma over the photographs'
    stroke: float  # outputs' log10 horizontal / vertical fine-gradient energy
    photo_stroke: float
    streaks: tuple[float, float]  # share of tiles: (vertical columns, horizontal smears)
    photo_streaks: tuple[float, float]
    flicker: float
    fine_detail_ratio: float  # outputs' finest-band luma energy over the photographs'
    # the world played on the other half of its own held-out photographs, judged as the outputs
    # are: per-level patch distance (finest first) and fine detail. What it still loses here is
    # not the inputs' fault (they are its world), but its generator's and its losses'.
    own_levels: tuple[float, ...]
    own_fine_detail_ratio: float


def held_out_crops(
    images: list[torch.Tensor], count: int, size: int, draw: int = 0
) -> torch.Tensor:
    """`count` crops (N, 3, size, size) in [0, 1], drawn as training draws its own, with a seed
    training never uses (one per `draw`)."""
    rng = torch.Generator().manual_seed(HELD_OUT_SEED + draw)
    return random_crops(images, count, size, Degradation(), rng)


def played(
    model: LoadedModel, photographs: torch.Tensor, levels: InputLevels | None = None
) -> torch.Tensor:
    """What `model` makes of each (N, 3, H, W) photograph in [0, 1], one frame at a time as the
    daemon plays them, in [0, 1]."""
    return torch.cat([(play(model, photo[None], levels)[1] + 1) / 2 for photo in photographs])


def judged_draw(
    model: LoadedModel,
    inputs: list[torch.Tensor],
    world: list[torch.Tensor],
    crops: int,
    draw: int = 0,
    shown: list[torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(2·`crops` crops of the world's photographs, `crops` of the inputs, what the model makes
    of those — or, given `shown`, `crops` crops of those): the three sets a world is judged
    on, for one draw of the crops."""
    everyday, judged = judged_inputs(model, inputs, crops, draw, shown)
    return held_out_crops(world, 2 * crops, model.info.resolution, draw), everyday, judged


def judged_inputs(
    model: LoadedModel,
    inputs: list[torch.Tensor],
    crops: int,
    draw: int = 0,
    shown: list[torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(`crops` crops of the inputs, what the model makes of those — or, given `shown`, `crops`
    crops of those), for one draw of the crops."""
    size = model.info.resolution
    everyday = held_out_crops(inputs, crops, size, draw)
    judged = played(model, everyday) if shown is None else held_out_crops(shown, crops, size, draw)
    return everyday, judged


def world_scores(
    model: LoadedModel, inputs: list[torch.Tensor], world: list[torch.Tensor], crops: int = 48
) -> WorldScores:
    from ltsd.train import realism

    photographs, everyday, made = judged_draw(model, inputs, world, crops)
    feature_score, kid = realism.feature_realism(made, everyday, photographs)
    reference, other = realism.split_halves(photographs)
    own = played(model, other[: len(made)], KNOBS_ALONE)  # its own world: no camera to level
    photo_detail = realism.fine_detail(photographs)
    return WorldScores(
        patches=realism.realism(made, everyday, photographs),
        feature_realism=feature_score,
        kid=kid,
        speckle_ratio=realism.speckle(made) / realism.speckle(photographs),
        stroke=realism.stroke_direction(made),
        photo_stroke=realism.stroke_direction(photographs),
        streaks=realism.streaks(made),
        photo_streaks=realism.streaks(photographs),
        flicker=pan_flicker(model, inputs),
        fine_detail_ratio=realism.fine_detail(made) / photo_detail,
        own_levels=tuple(realism.level_distances(own, reference)),
        own_fine_detail_ratio=realism.fine_detail(own) / photo_detail,
    )


def realism_over_draws(
    model: LoadedModel,
    inputs: list[torch.Tensor],
    world: list[torch.Tensor],
    draws: int,
    seeds: int = 3,
    crops: int = 48,
    shown: list[torch.Tensor] | None = None,
) -> list[Realism]:
    """Patch realism on `draws` draws of the crops × `seeds` seeds of the distance's random
    patches and projections: one draw's score moves by ±0.05 and more (models/README.md), as
    much as a training changes it, so a world is judged on the spread. Given `shown` (the
    training photographs), their crops are judged in place of the outputs, on the same draws."""
    from ltsd.train import realism

    results = []
    for draw in range(draws):
        photographs, everyday, made = judged_draw(model, inputs, world, crops, draw, shown)
        results += [realism.realism(made, everyday, photographs, seed) for seed in range(seeds)]
    return results


def paired_gaps(results: list[Realism], shown: list[Realism]) -> list[float]:
    """Each draw and seed's output score minus its training images' on that same draw and seed
    (`realism_over_draws` with and without `shown`). The two share the draw's held-out crops and
    patches, so the noise they share cancels (much of clouds', less of ocean's): what is left
    is how far the world is from what a perfect copy of its training set would score (0: as
    close as that)."""
    return [made.score - copy.score for made, copy in zip(results, shown, strict=True)]


def source_photograph(path: Path) -> str:
    """The photograph a file was cut from: make_worlds.py names a photograph's crops
    STEM_00.jpg, STEM_01.jpg, …"""
    return re.sub(r"_\d+$", "", path.stem)


def stroke_by_photograph(
    named: dict[Path, torch.Tensor], size: int, crops: int = 16
) -> dict[str, float]:
    """Each held-out source photograph's own stroke direction (`crops` crops of its files, drawn
    as the evaluation draws): the pooled figure the stroke bar uses is carried by the photographs
    with the most fine energy, and this shows how far apart the photographs themselves lean."""
    from ltsd.train import realism

    by_source: dict[str, list[torch.Tensor]] = {}
    for path, image in named.items():
        by_source.setdefault(source_photograph(path), []).append(image)
    return {
        source: realism.stroke_direction(held_out_crops(images, crops, size))
        for source, images in sorted(by_source.items())
    }


Halves = tuple[list[torch.Tensor], list[torch.Tensor]]


def halves_by_source(named: dict[Path, torch.Tensor]) -> tuple[Halves, int]:
    """The images split in two with every crop of one photograph on the same side (alternate
    source photographs), and how many source photographs there are."""
    sources = sorted({source_photograph(path) for path in named})
    first = set(sources[0::2])
    halves: Halves = ([], [])
    for path, image in named.items():
        halves[source_photograph(path) not in first].append(image)
    return halves, len(sources)


def realism_by_photograph(
    model: LoadedModel,
    inputs: list[torch.Tensor],
    halves: Halves,
    draws: int,
    seeds: int = 3,
    crops: int = 48,
    shown: list[torch.Tensor] | None = None,
) -> list[Realism]:
    """Patch realism with the held-out photographs split by photograph (`halves_by_source`),
    each half the reference in turn, over `draws` × 2 × `seeds`: its 0 is other photographs of
    the world, not other crops of the same ones (`realism_over_draws`' 0, where a crop is most
    of its photograph). Given `shown`, their crops are judged in place of the outputs."""
    from ltsd.train import realism

    size = model.info.resolution
    results = []
    for draw in range(draws):
        everyday, made = judged_inputs(model, inputs, crops, draw, shown)
        for first in (0, 1):
            reference = held_out_crops(halves[first], crops, size, draw)
            other = held_out_crops(halves[1 - first], crops, size, draw)
            results += [
                realism.realism_against(made, everyday, reference, other, seed)
                for seed in range(seeds)
            ]
    return results


def spread(values: list[float], signed: bool = False) -> str:
    """Some scores' mean and range, as "0.53 (0.48–0.59)" (or "+0.07 (-0.05–+0.21)" when
    `signed`), over those that have a scale (NaN: `realism.on_scale`), saying how many had
    none."""
    scored = [value for value in values if not math.isnan(value)]
    if not scored:
        return "no scale (the inputs are as close to the world as its own photographs)"
    form = "+.2f" if signed else ".2f"
    mean = sum(scored) / len(scored)
    text = f"{mean:{form}} ({min(scored):{form}}–{max(scored):{form}})"
    if len(scored) < len(values):
        text += f", no scale in {len(values) - len(scored)} of {len(values)}"
    return text


def score(value: float) -> str:
    """One score to two places, or "no scale" (NaN: `realism.on_scale`)."""
    return "no scale" if math.isnan(value) else f"{value:.2f}"


@dataclass(frozen=True, slots=True)
class ShownScores:
    """The world's training photographs judged as its outputs are: what a world that drew
    exactly what it was shown would score."""

    speckle_ratio: float  # their fine chroma / luma over the held-out photographs'
    stroke: float
    patches: Realism | None  # on the scale of the outputs' (needs the inputs)


def training_set_scores(
    training: list[torch.Tensor],
    world: list[torch.Tensor],
    size: int,
    crops: int = 48,
    inputs: list[torch.Tensor] | None = None,
) -> ShownScores:
    """The training images' own speckle, strokes and (given the everyday `inputs`) patch realism
    against the held-out photographs, drawn as the outputs' first draw is. A world's speckle and
    strokes follow its training images, so a held-out set unlike them in these makes a bar on
    them a bar on the data; and real photographs of the world that are not the held-out ones
    score above 0 on the realism scale, whose 0 is the held-out photographs' crops against
    each other."""
    from ltsd.train import realism

    shown = held_out_crops(training, 2 * crops, size)
    photographs = held_out_crops(world, 2 * crops, size)
    patches = None
    if inputs is not None:
        everyday = held_out_crops(inputs, crops, size)
        patches = realism.realism(held_out_crops(training, crops, size), everyday, photographs)
    return ShownScores(
        speckle_ratio=realism.speckle(shown) / realism.speckle(photographs),
        stroke=realism.stroke_direction(shown),
        patches=patches,
    )


def pan_flicker(model: LoadedModel, inputs: list[torch.Tensor], frames: int = 24) -> float:
    """`realism.flicker` of a 2-px-a-frame pan across the widest input photograph, scaled to the
    model's height."""
    from ltsd.train import realism

    size = model.info.resolution
    widest = max(inputs, key=lambda image: image.shape[-1] / image.shape[-2])
    height, width = widest.shape[-2:]
    scaled = F.interpolate(widest[None].float() / 255, size=(size, max(size + 2 * frames,
                           round(width * size / height))), mode="area")  # fmt: skip
    pan = realism.pan_frames(scaled, size, frames, step=2)
    return realism.flicker(lambda frame: (play(model, frame)[1] + 1) / 2, pan, step=2)


def at_chroma(model: LoadedModel, chroma: str) -> LoadedModel:
    """The same world drawing its colour at `chroma` ("half" or "full"), whatever its file says:
    what a world trained before half chroma would look like with it, before any training."""
    from ltsd.generator import UNetGenerator
    from ltsd.inference import for_inference

    info, trained = load_trained(model.path)
    spec = replace(info.architecture, chroma=chroma)
    rebuilt = UNetGenerator(spec).to(memory_format=torch.channels_last)
    rebuilt.load_state_dict(trained.state_dict())
    return LoadedModel(replace(info, architecture=spec), for_inference(rebuilt.eval()), model.path)


def _by_photograph(
    model: LoadedModel,
    everyday: list[torch.Tensor],
    halves: Halves,
    draws: int,
    training: list[torch.Tensor] | None,
) -> str:
    results = realism_by_photograph(model, everyday, halves, draws)
    line = (
        f"over {draws} draws × 2 × 3 seeds: realism {spread([r.score for r in results])}, "
        f"texture realism {spread([r.texture for r in results])}"
    )
    if training is not None:
        shown = realism_by_photograph(model, everyday, halves, draws, shown=training)
        line += (
            f"; its training images: realism {spread([r.score for r in shown])}, texture "
            f"realism {spread([r.texture for r in shown])}"
        )
    return line


def _levels(distances: tuple[float, ...]) -> str:
    return " / ".join(f"{distance:.0f}" for distance in distances)


def _recipe_fields(preprocessing: dict) -> dict:
    known = Degradation.__dataclass_fields__
    fields = {key: value for key, value in preprocessing.items() if key in known}
    if "scale_range" in fields:
        fields["scale_range"] = tuple(fields["scale_range"])
    return fields


def main() -> None:
    parser = argparse.ArgumentParser(description="held-out L1 and picture scores of a world")
    parser.add_argument("images_dir", type=Path, nargs="?", help="the world's images (for L1)")
    parser.add_argument("--model", required=True)
    parser.add_argument("--models-dir", default="")
    parser.add_argument("--crops", type=int, default=64)
    parser.add_argument("--held-out", type=Path, help="photographs of the world kept from training")
    parser.add_argument("--inputs", type=Path, help="photographs of everyday things to play")
    parser.add_argument(
        "--draws",
        type=int,
        default=1,
        help="also judge patch realism over this many crop draws × 3 seeds (mean, range)",
    )
    parser.add_argument(
        "--chroma",
        choices=("half", "full"),
        help="play it with its colour at this resolution (default: its file's)",
    )
    args = parser.parse_args()
    models_dir = ModelConfig(models_dir=args.models_dir).models_path()
    model = load_model(model_path(models_dir, args.model))
    if args.chroma is not None:
        model = at_chroma(model, args.chroma)
    scores = picture_scores(model)
    line = f"{args.model}: periodic {scores.periodic:+.2f}, detail {scores.detail:.1f}"
    levels = model.info.levels
    if levels != KNOBS_ALONE:  # every score below but the L1 is of the world played so
        line += f" at its input levels ({levels.brightness:+.2f}, ×{levels.contrast:.2f})"
    # each folder is decoded once, however many scores read it
    training = load_images(args.images_dir) if args.images_dir is not None else None
    named_held_out = load_named_images(args.held_out) if args.held_out is not None else {}
    held_out = list(named_held_out.values()) if named_held_out else None
    everyday = load_images(args.inputs) if args.inputs is not None else None
    if training is not None:
        result = evaluate(model, training, args.crops)
        line += (
            f", model L1 {result.model_l1:.4f}, baseline L1 {result.baseline_l1:.4f} "
            f"({result.crops} held-out crops)"
        )
    print(line)
    if held_out is not None and everyday is not None:
        world = world_scores(model, everyday, held_out)
        patches = world.patches
        print(
            f"{args.model}: realism {score(patches.score)} (patch distance {patches.distance:.1f},"
            f" photographs' own {patches.floor:.1f}), feature realism "
            f"{score(world.feature_realism)} (KID×1e3 {world.kid:.1f}), speckle "
            f"×{world.speckle_ratio:.2f}, stroke {world.stroke:+.2f} (photographs "
            f"{world.photo_stroke:+.2f}), flicker {world.flicker:.2f}"
        )
        print(
            f"{args.model}: texture realism {score(patches.texture)}, layout realism "
            f"{score(patches.layout)} (the camera's), lowest realism this layout allows "
            f"{score(patches.best_with_layout)}; patch distance per level, finest to layout: "
            f"photographs' own {_levels(patches.photographs)}, inputs {_levels(patches.inputs)}, "
            f"outputs {_levels(patches.outputs)}"
        )
        print(
            f"{args.model}: streaks: {world.streaks[0]:.1%} of its tiles are vertical columns, "
            f"{world.streaks[1]:.1%} horizontal smears (photographs {world.photo_streaks[0]:.1%},"
            f" {world.photo_streaks[1]:.1%})"
        )
        leans = stroke_by_photograph(named_held_out, model.info.resolution)
        low, high = min(leans, key=leans.get), max(leans, key=leans.get)
        print(
            f"{args.model}: stroke of each held-out photograph alone: {leans[low]:+.2f} ({low})"
            f" … {leans[high]:+.2f} ({high}) over {len(leans)}"
        )
        print(
            f"{args.model}: fine detail ×{world.fine_detail_ratio:.2f} the photographs'; played "
            f"on its own held-out photographs: patch distance per level "
            f"{_levels(world.own_levels)}, fine detail ×{world.own_fine_detail_ratio:.2f}"
        )
    if held_out is not None and everyday is not None and args.draws > 1:
        results = realism_over_draws(model, everyday, held_out, args.draws)
        print(
            f"{args.model}: over {args.draws} draws × 3 seeds: realism "
            f"{spread([r.score for r in results])}, texture realism "
            f"{spread([r.texture for r in results])}, lowest realism the layout allows "
            f"{spread([r.best_with_layout for r in results])}"
        )
        if training is not None:
            shown = realism_over_draws(model, everyday, held_out, args.draws, shown=training)
            print(
                f"{args.model}: its training images over the same draws: realism "
                f"{spread([r.score for r in shown])}, texture realism "
                f"{spread([r.texture for r in shown])}; the world's realism minus theirs, "
                f"draw by draw: {spread(paired_gaps(results, shown), signed=True)}"
            )
        halves, sources = halves_by_source(named_held_out)
        if sources // 2 >= FEWEST_PER_HALF:
            line = _by_photograph(model, everyday, halves, args.draws, training)
            print(f"{args.model}: held-out photographs split by photograph, {line}")
        else:
            print(
                f"{args.model}: its held-out files are cut from {sources} photographs: too few "
                f"to split by photograph ({FEWEST_PER_HALF} a side at least)"
            )
    if held_out is not None and training is not None:
        shown = training_set_scores(training, held_out, model.info.resolution, inputs=everyday)
        line = (
            f"{args.model}: its training images: speckle ×{shown.speckle_ratio:.2f}, stroke "
            f"{shown.stroke:+.2f}"
        )
        if shown.patches is not None:
            line += (
                f", realism {score(shown.patches.score)}, texture realism "
                f"{score(shown.patches.texture)} (patch distance per level "
                f"{_levels(shown.patches.outputs)}: a world that drew exactly these)"
            )
        print(line)


if __name__ == "__main__":
    run_command(main, "ltsd.train.evaluate")
