"""Sample sheets: what a world makes of real photographs (and of the synthetic scene), as a PNG.

    python -m ltsd.train.sheet --model space [--models-dir DIR] --output docs/samples/space.png

Each row is one of the six test photographs of `ltsd.train.evaluate`, then the built-in table
scene (what a newcomer's `ltsd run` shows first): camera | what the model sees | what it makes of
it. `--synthetic` shows three moments of the table scene instead. `--beside OTHER.safetensors`
adds a fourth column, what another world file makes of the same frame: a candidate judged next to
the world it would replace, on one sheet. `--dim 0.3` shows the photographs at a third of their
light (a dim room), as the daemon plays them: camera | the world | the world with
`auto_exposure` on (ltsd.exposure).
"""

from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ltsd.config import ModelConfig, SyntheticConfig
from ltsd.errors import LtsdError, run_command
from ltsd.frame import Frame
from ltsd.modelstore import LoadedModel, load_model, model_path
from ltsd.params import LiveParams, ParamStore
from ltsd.pipeline import FrameProcessor
from ltsd.pixels import bgrx_to_tensor, output_bgrx
from ltsd.sources.synthetic import SyntheticSource
from ltsd.train.evaluate import play, scoring_photographs

MOMENTS_S = (0.0, 4.0, 9.0)


def sheet_rows(
    model: LoadedModel, frames: list[torch.Tensor], beside: LoadedModel | None = None
) -> np.ndarray:
    """(rows * size, 3 * size, 3) uint8 RGB: camera | pre-processed | output for each frame,
    frames being (1, 3, H, W) in [0, 1]; with `beside`, a fourth column: its output."""
    size = model.info.resolution
    rows = []
    for frame in frames:
        seen, made = play(model, frame)
        camera = torch.nn.functional.interpolate(frame, size=(size, size), mode="area") * 2 - 1
        tiles = [camera, seen.expand(1, 3, size, size), made]
        if beside is not None:
            other = play(beside, frame)[1]
            tiles.append(torch.nn.functional.interpolate(other, size=(size, size), mode="area"))
        rows.append(torch.cat([(tile[0] + 1) / 2 for tile in tiles], dim=2))
    return picture(rows)


def dim_rows(model: LoadedModel, frames: list[torch.Tensor], light: float) -> np.ndarray:
    """(rows * size, 3 * size, 3) uint8 RGB: the camera at `light` of its light | what the
    daemon makes of it | the same with `auto_exposure` on, each frame played once as a first
    frame (the exposure measured afresh)."""
    size = model.info.resolution
    cpu = torch.device("cpu")
    rows = []
    for frame in frames:
        pixels = output_bgrx(frame * light, size, size)
        tiles = [bgrx_to_tensor(pixels, cpu)]
        for auto_exposure in (False, True):
            params = ParamStore(LiveParams(auto_exposure=auto_exposure))
            processor = FrameProcessor(model, params, cpu, (size, size))
            made = processor.process(Frame(pixels, 0, Fraction(30), 0))
            tiles.append(bgrx_to_tensor(made, cpu))
        rows.append(torch.cat([tile[0] for tile in tiles], dim=2))
    return picture(rows)


def picture(rows: list[torch.Tensor]) -> np.ndarray:
    """Rows (3, h, W) in [0, 1], one under the other, as (H, W, 3) uint8 RGB for a PNG."""
    image = torch.cat(rows, dim=1).clamp(0, 1).mul(255).round().to(torch.uint8)
    return image.permute(1, 2, 0).numpy()


def scene_frames(size: int, seed: int = 0) -> list[torch.Tensor]:
    """Moments of the synthetic table scene, centre-cut square."""
    scene = SyntheticSource(SyntheticConfig(width=size, height=size, fps=30, seed=seed))
    cpu = torch.device("cpu")
    return [bgrx_to_tensor(scene.frame_at(round(moment * 30)), cpu) for moment in MOMENTS_S]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--model", required=True)
    parser.add_argument("--models-dir", default="")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--synthetic", action="store_true", help="the table scene, not photos")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    parser.add_argument("--beside", type=Path, help="another world file, shown in a 4th column")
    parser.add_argument("--dim", type=float, metavar="LIGHT",
                        help="the photographs at this much of their light: camera | world | "
                        "world with auto_exposure")  # fmt: skip
    args = parser.parse_args()
    if args.dim is not None and not 0 < args.dim <= 1:
        raise LtsdError(
            f"--dim: expected a fraction of the light above 0, at most 1, got {args.dim:g}"
        )
    if args.dim is not None and args.beside is not None:
        raise LtsdError("--dim and --beside: a dim sheet has no column for another world")
    models_dir = ModelConfig(models_dir=args.models_dir).models_path()
    model = load_model(model_path(models_dir, args.model), precision=args.precision)
    beside = None if args.beside is None else load_model(args.beside, precision=args.precision)
    size = model.info.resolution
    if args.synthetic:
        frames = scene_frames(size)
    else:
        frames = [*scoring_photographs(size).values(), scene_frames(size)[0]]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if args.dim is not None:
        Image.fromarray(dim_rows(model, frames, args.dim)).save(args.output)
    else:
        Image.fromarray(sheet_rows(model, frames, beside)).save(args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    run_command(main, "ltsd.train.sheet")
