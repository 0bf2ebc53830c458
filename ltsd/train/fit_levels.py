"""Choose a world's input levels from its training photographs, and write them into its file.

    python -m ltsd.train.fit_levels runs/data/NAME --model NAME --camera runs/data/camera [--write]

The levels bring the grey a camera shows the world to the grey its training showed it: crops
of the camera's photographs (everyday things, as `ltsd train --camera-images` takes them) and of
the world's training photographs are seen as the daemon sees them (grey, blurred), and the
brightness is the difference of their mean greys, the contrast the ratio of their spread within
a frame (the contrast knob scales each frame about its own mean). Statistics of what the world
was shown, nothing judged: the held-out photographs `ltsd.train.evaluate` judges by are never
looked at. `ltsd.levels` says why a world needs them; models/README.md (session 24) why these
statistics and not a search on the realism score.

A world trained with `--camera-images` has already learned to draw itself over the camera's
greys as they are: levels only take it away from them (clouds: realism 0.88 against 0.55), so it
keeps (0, 1).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import torch

from ltsd.config import ModelConfig
from ltsd.errors import run_command
from ltsd.levels import BRIGHTNESS_RANGE, CONTRAST_RANGE, InputLevels, within
from ltsd.modelstore import model_path, read_info, write_levels
from ltsd.params import LiveParams
from ltsd.preprocess import prepare
from ltsd.train.data import load_images
from ltsd.train.evaluate import held_out_crops


@dataclass(frozen=True, slots=True)
class Greys:
    """How a set of photographs looks to a world: grey on the 0 … 1 scale, as the daemon sees it."""

    mean: float  # over every pixel of every crop
    spread: float  # the standard deviation within a crop, averaged over the crops


def greys(images: list[torch.Tensor], size: int, crops: int = 64) -> Greys:
    seen = torch.cat([prepare(crop[None], LiveParams(), size, size, 1)
                      for crop in held_out_crops(images, crops, size)])  # fmt: skip
    seen = (seen.flatten(1) + 1) / 2
    return Greys(float(seen.mean()), float(seen.std(dim=1).mean()))


def matched(camera: Greys, world: Greys) -> InputLevels:
    """The levels that take the camera's greys to the world's, within the knobs' ranges."""
    brightness = within(world.mean - camera.mean, BRIGHTNESS_RANGE)
    contrast = within(world.spread / max(camera.spread, 1e-3), CONTRAST_RANGE)
    return InputLevels(round(brightness, 2), round(contrast, 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("images_dir", type=Path, help="the world's training photographs")
    parser.add_argument("--model", required=True)
    parser.add_argument("--models-dir", default="")
    parser.add_argument("--camera", type=Path, required=True, help="everyday things' photographs")
    parser.add_argument("--write", action="store_true", help="write the levels into the file")
    args = parser.parse_args()
    path = model_path(ModelConfig(models_dir=args.models_dir).models_path(), args.model)
    info = read_info(path)  # a missing or broken file: one line, before any work
    camera = greys(load_images(args.camera), info.resolution)
    world = greys(load_images(args.images_dir), info.resolution)
    print(f"camera: mean grey {camera.mean:.3f}, spread {camera.spread:.3f}")
    print(f"world:  mean grey {world.mean:.3f}, spread {world.spread:.3f}")
    levels = matched(camera, world)
    if info.provenance.get("camera_images"):
        levels = InputLevels()
        print("it learned to draw itself over the camera's own greys (ltsd train "
              "--camera-images): it keeps the knobs alone")  # fmt: skip
    print(f"levels: brightness {levels.brightness:+.2f}, contrast {levels.contrast:.2f} "
          f"(in the file now: {info.levels})")  # fmt: skip
    if args.write:
        write_levels(path, levels)
        print(f"wrote them into {path}")


if __name__ == "__main__":
    run_command(main, "ltsd.train.fit_levels")
