"""Sample sheets: what a world makes of the synthetic table scene, as one PNG.

    python -m ltsd.train.sheet --model nebula [--models-dir DIR] --output docs/samples/nebula.png

Each row is one moment of the scene: camera frame | what the model sees | what it makes of it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ltsd.config import ModelConfig, SyntheticConfig
from ltsd.modelstore import LoadedModel, load_model, model_path
from ltsd.params import LiveParams
from ltsd.pixels import bgrx_to_tensor
from ltsd.preprocess import prepare
from ltsd.sources.synthetic import SyntheticSource

MOMENTS_S = (0.0, 4.0, 9.0)


def sheet_rows(model: LoadedModel, params: LiveParams, seed: int = 0) -> np.ndarray:
    """(rows * size, 3 * size, 3) uint8 RGB: input | pre-processed | output for each moment."""
    size = model.info.resolution
    scene = SyntheticSource(SyntheticConfig(width=size * 16 // 9, height=size, fps=30, seed=seed))
    rows = []
    with torch.inference_mode():
        for moment in MOMENTS_S:
            frame = bgrx_to_tensor(scene.frame_at(round(moment * 30)), torch.device("cpu"))
            channels = model.info.architecture.in_channels
            seen = prepare(frame, params, size, size, channels)
            made = model.generator(seen)
            camera = prepare(frame, LiveParams(grayscale=False, blur_factor=1.0), size, size, 3)
            tiles = [camera, seen.expand(1, 3, size, size), made]
            rows.append(torch.cat([(t[0] + 1) / 2 for t in tiles], dim=2))
    image = torch.cat(rows, dim=1).clamp(0, 1).mul(255).round().to(torch.uint8)
    return image.permute(1, 2, 0).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--model", required=True)
    parser.add_argument("--models-dir", default="")
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    models_dir = ModelConfig(models_dir=args.models_dir).models_path()
    model = load_model(model_path(models_dir, args.model))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet_rows(model, LiveParams())).save(args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
