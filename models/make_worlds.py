"""Regenerate every world shipped in models/ from scratch: data, exact training command, seed.

    python models/make_worlds.py [--only NAME] [--threads 1]

Data installs offline with pip: scikit-image's hubble_deep_field.jpg behind fractal gas rendered
here (nebula), scikit-learn's flower.jpg (flowers), and fractal clouds rendered here from seeded
noise (clouds). Each model is
trained with `ltsd train`, then its sample sheet is written to docs/samples/NAME.png.
Needs `pip install -e ".[worlds]"`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

REPO = Path(__file__).resolve().parent.parent

# name → the exact `ltsd train` arguments after IMAGES_DIR (steps fixed so a rerun is the same run)
WORLDS: dict[str, list[str]] = {
    "nebula": ["--steps", "1200"],
    "flowers": ["--steps", "1200"],
    "clouds": ["--steps", "1200"],
}
COMMON = ["--resolution", "256", "--ngf", "8", "--max-filters", "128", "--ndf", "32",
          "--batch-size", "4", "--seed", "0", "--device", "cpu"]  # fmt: skip


def fractal_noise(size: int, generator: torch.Generator, octaves: int = 6) -> torch.Tensor:
    """(size, size) fractal value noise in [0, 1]: octaves of bicubic-upsampled random grids."""
    total = torch.zeros(1, 1, size, size)
    amplitude, weight = 1.0, 0.0
    for octave in range(octaves):
        cells = 2 ** (octave + 2)
        grid = torch.rand(1, 1, cells, cells, generator=generator)
        total += amplitude * F.interpolate(grid, size=(size, size), mode="bicubic")
        weight += amplitude
        amplitude *= 0.55
    noise = total[0, 0] / weight
    return (noise - noise.min()) / (noise.max() - noise.min())


def nebula_images(folder: Path, count: int = 24, size: int = 512, seed: int = 1) -> None:
    """Crops of the Hubble deep field, lifted, behind glowing fractal gas.

    The deep field alone is black sky with point-like galaxies, which the 24x degradation turns
    into a flat dark grey: a net trained on it maps a grey table to black. The gas gives the
    world structure at the scale the degraded input keeps, so grey becomes glowing nebula.
    """
    import skimage

    path = Path(skimage.__file__).parent / "data" / "hubble_deep_field.jpg"
    field = torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1)
    field = (field.float() / 255) ** 0.6
    generator = torch.Generator().manual_seed(seed)
    palette = torch.tensor(
        [[0.95, 0.30, 0.60], [0.25, 0.55, 0.95], [1.0, 0.62, 0.30], [0.55, 0.35, 0.95]]
    )
    for index in range(count):
        top = int(torch.randint(0, field.shape[1] - size + 1, (), generator=generator))
        left = int(torch.randint(0, field.shape[2] - size + 1, (), generator=generator))
        stars = field[:, top : top + size, left : left + size]
        gas = ((fractal_noise(size, generator) - 0.25) / 0.6).clamp(0, 1) ** 1.5
        hue = fractal_noise(size, generator, octaves=3)
        first, second = palette[torch.randperm(len(palette), generator=generator)[:2]]
        colour = first[:, None, None] * (1 - hue) + second[:, None, None] * hue
        core = ((gas - 0.6) / 0.4).clamp(0, 1)
        glow = (gas * colour + 0.5 * core).clamp(0, 1)
        image = 1 - (1 - stars) * (1 - glow)  # screen blend: gas lights up behind the galaxies
        pixels = (image.permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
        Image.fromarray(np.ascontiguousarray(pixels)).save(folder / f"nebula_{index:02d}.png")


def flowers_images(folder: Path) -> None:
    import sklearn.datasets

    shutil.copy(Path(sklearn.datasets.__file__).parent / "images" / "flower.jpg", folder)


def clouds_images(folder: Path, count: int = 24, size: int = 512, seed: int = 0) -> None:
    """Skies with fractal cumulus: a blue gradient, white tops, grey undersides."""
    generator = torch.Generator().manual_seed(seed)
    rows = torch.linspace(0, 1, size)[:, None].expand(size, size)
    for index in range(count):
        zenith = torch.tensor([0.16, 0.36, 0.72]) + 0.08 * torch.rand(3, generator=generator)
        horizon = torch.tensor([0.62, 0.76, 0.90])
        sky = zenith[:, None, None] * (1 - rows) + horizon[:, None, None] * rows
        density = fractal_noise(size, generator)
        cover = 0.45 + 0.35 * float(torch.rand((), generator=generator))
        cloud = ((density - (1 - cover)) / 0.25).clamp(0, 1)
        shade = fractal_noise(size, generator, octaves=4)
        light = (0.72 + 0.28 * (1 - rows) * shade + 0.15 * cloud).clamp(0, 1)
        image = sky * (1 - cloud) + light * cloud
        pixels = (image.permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).numpy()
        Image.fromarray(np.ascontiguousarray(pixels)).save(folder / f"sky_{index:02d}.png")


MAKERS = {"nebula": nebula_images, "flowers": flowers_images, "clouds": clouds_images}


def main() -> None:
    parser = argparse.ArgumentParser(description="regenerate the shipped worlds")
    parser.add_argument("--only", choices=sorted(WORLDS))
    parser.add_argument("--threads", type=int, default=1, help="torch threads per training run")
    args = parser.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    for name, extra in WORLDS.items():
        if args.only and name != args.only:
            continue
        with tempfile.TemporaryDirectory() as scratch:
            images = Path(scratch) / name
            images.mkdir()
            MAKERS[name](images)
            command = [sys.executable, "-m", "ltsd.cli", "train", str(images), "--name", name,
                       "--models-dir", str(REPO / "models"), *COMMON, *extra]  # fmt: skip
            print("$", " ".join(command[1:]), flush=True)
            subprocess.run(command, check=True, env=env, cwd=REPO)
        sheet = REPO / "docs" / "samples" / f"{name}.png"
        subprocess.run([sys.executable, "-m", "ltsd.train.sheet", "--model", name, "--output",
                        str(sheet)], check=True, cwd=REPO)  # fmt: skip


if __name__ == "__main__":
    main()
