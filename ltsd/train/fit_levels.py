"""Choose a world's input levels on the training side, and write them into its file.

    python -m ltsd.train.fit_levels runs/data/NAME --model NAME --camera runs/data/camera [--write]

Every brightness and contrast of a small grid is tried: crops of the camera's photographs
(everyday things, `--camera-images` of `ltsd train`) are played through the world with them and
judged by patch realism against the world's *training* photographs. The best pair is kept only
if it beats the knobs alone by more than the score's own noise; the held-out photographs that
`ltsd.train.evaluate` judges by are never looked at. `ltsd.levels` says why a world needs them.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import torch

from ltsd.config import ModelConfig
from ltsd.errors import run_command
from ltsd.levels import InputLevels
from ltsd.modelstore import LoadedModel, load_model, model_path, write_levels
from ltsd.train.data import load_images
from ltsd.train.evaluate import held_out_crops, played

BRIGHTNESS = (-0.3, -0.15, 0.0, 0.15)
CONTRAST = (0.8, 1.2, 1.6)
# one crop draw's realism moves by ±0.05 with the distance's seed (models/README.md): a gain
# smaller than that is noise, and the knobs alone are kept
MARGIN = 0.05


@dataclass(frozen=True, slots=True)
class Trial:
    levels: InputLevels
    realism: float  # mean over the seeds: 0 = the training photographs … 1 = the camera's


def try_levels(
    model: LoadedModel,
    camera: list[torch.Tensor],
    world: list[torch.Tensor],
    grid: list[InputLevels],
    crops: int = 48,
    seeds: int = 3,
) -> list[Trial]:
    """Each of `grid` judged as the module docstring says, on one draw of the crops."""
    from ltsd.train import realism

    size = model.info.resolution
    everyday = held_out_crops(camera, crops, size)
    photographs = held_out_crops(world, 2 * crops, size)
    trials = []
    for levels in grid:
        made = played(model, everyday, levels)
        scores = [realism.realism(made, everyday, photographs, seed).score for seed in range(seeds)]
        trials.append(Trial(levels, sum(scores) / len(scores)))
    return trials


def best(trials: list[Trial]) -> InputLevels:
    """The best trial's levels if it beats the knobs alone (levels (0, 1)) by MARGIN, else those."""
    plain = next(t.realism for t in trials if t.levels == InputLevels())
    winner = min(trials, key=lambda t: t.realism)
    return winner.levels if winner.realism < plain - MARGIN else InputLevels()


def grid() -> list[InputLevels]:
    return [InputLevels(b, c) for b in BRIGHTNESS for c in (*CONTRAST, 1.0)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("images_dir", type=Path, help="the world's training photographs")
    parser.add_argument("--model", required=True)
    parser.add_argument("--models-dir", default="")
    parser.add_argument("--camera", type=Path, required=True, help="everyday things' photographs")
    parser.add_argument("--crops", type=int, default=48)
    parser.add_argument("--write", action="store_true", help="write the chosen pair into the file")
    args = parser.parse_args()
    path = model_path(ModelConfig(models_dir=args.models_dir).models_path(), args.model)
    model = load_model(path)
    trials = try_levels(model, load_images(args.camera), load_images(args.images_dir), grid(),
                        args.crops)  # fmt: skip
    print("brightness  contrast  realism (against the training photographs)")
    for trial in trials:
        print(
            f"{trial.levels.brightness:+10.2f}  {trial.levels.contrast:8.2f}  {trial.realism:.2f}"
        )
    chosen = best(trials)
    print(f"chosen: brightness {chosen.brightness:+.2f}, contrast {chosen.contrast:.2f}")
    if args.write:
        write_levels(path, chosen)
        print(f"wrote them into {path}")


if __name__ == "__main__":
    run_command(main, "ltsd.train.fit_levels")
