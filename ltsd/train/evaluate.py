"""Does a world beat the trivial answer? Mean L1 on held-out crops, model vs. baseline.

    python -m ltsd.train.evaluate IMAGES_DIR --model NAME [--models-dir DIR] [--crops 64]

The baseline is the degraded input tinted with the dataset's mean colour: it already has the right
brightness layout and the right average colour, so a model only beats it by adding the world's
texture and colour structure. Held-out crops are drawn with a seed the trainer never uses.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import torch

from ltsd.config import ModelConfig
from ltsd.modelstore import LoadedModel, load_model, model_path
from ltsd.preprocess import to_grayscale
from ltsd.train.data import Degradation, load_images, make_pairs, random_crops

HELD_OUT_SEED = 1_000_003


@dataclass(frozen=True, slots=True)
class Evaluation:
    model_l1: float
    baseline_l1: float
    crops: int


def evaluate(model: LoadedModel, images: list[torch.Tensor], crops: int) -> Evaluation:
    """Mean absolute error on a [0, 1] scale over `crops` held-out pairs."""
    recipe = Degradation(**_recipe_fields(model.info.preprocessing))
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


def _recipe_fields(preprocessing: dict) -> dict:
    known = Degradation.__dataclass_fields__
    fields = {key: value for key, value in preprocessing.items() if key in known}
    if "scale_range" in fields:
        fields["scale_range"] = tuple(fields["scale_range"])
    return fields


def main() -> None:
    parser = argparse.ArgumentParser(description="held-out L1: model vs tinted degraded input")
    parser.add_argument("images_dir", type=Path)
    parser.add_argument("--model", required=True)
    parser.add_argument("--models-dir", default="")
    parser.add_argument("--crops", type=int, default=64)
    args = parser.parse_args()
    models_dir = ModelConfig(models_dir=args.models_dir).models_path()
    model = load_model(model_path(models_dir, args.model))
    result = evaluate(model, load_images(args.images_dir), args.crops)
    print(
        f"{args.model}: model L1 {result.model_l1:.4f}, baseline L1 {result.baseline_l1:.4f} "
        f"({result.crops} held-out crops)"
    )


if __name__ == "__main__":
    main()
