"""The GPU check (issue #28): one run of a few minutes on a machine with CUDA, one markdown table.

    python -m ltsd.harness.gpu_check [--output gpu.md] [--model ocean] [--e2e-seconds 5]

It prints the device and driver, runs the CUDA-marked tests, times the generator at 256² and
512² in fp32, fp16 and bf16, runs `ltsd bench --e2e` at 1920×1080@60 with the default world and a
512² one, trains 200 steps of a tiny world, and checks that CUDA and CPU outputs of the same world
agree within 2/255. Without CUDA every step that needs it says so and the rest still runs, so CI
keeps the script working on its CPU.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ltsd.generator import GeneratorSpec, UNetGenerator
from ltsd.inference import InferenceGenerator, for_inference
from ltsd.modelstore import ModelInfo, load_model, model_path, save_model

REPO = Path(__file__).resolve().parent.parent.parent
AGREEMENT_LEVELS = 2.0  # of 255: CUDA's and the CPU's convolutions round differently


@dataclass
class Row:
    step: str
    result: str
    figure: str = ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, help="also write the table here")
    parser.add_argument("--model", default="ocean", help="the world to time and compare")
    parser.add_argument("--e2e-seconds", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=50, help="timed forwards per row")
    parser.add_argument("--train-steps", type=int, default=200)
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"),
                        help="cpu: the same steps on the CPU where they can run (CI)")  # fmt: skip
    args = parser.parse_args(argv)
    cuda = torch.cuda.is_available()
    device = torch.device(args.device if cuda else "cpu")
    rows = [device_row(cuda)]
    steps: list[tuple[str, bool, Callable[[], list[Row]]]] = [  # (name, CUDA only, step)
        ("CUDA-marked tests", True, cuda_tests),
        ("generator", False, lambda: generator_rows(args.model, args.runs, device)),
        ("end to end", True, lambda: e2e_rows(args.model, args.e2e_seconds)),
        ("training", False, lambda: training_row(device, args.train_steps)),
        ("CPU/CUDA agreement", False, lambda: agreement_row(args.model, device)),
    ]
    for name, cuda_only, step in steps:
        if device.type != "cuda" and (cuda_only or args.device == "cuda"):
            rows.append(Row(name, "skipped: no CUDA"))
            continue
        try:
            rows += step()
        except Exception as error:  # one failing step must not hide the others' figures
            rows.append(Row(name, f"FAILED: {type(error).__name__}: {str(error)[:160]}"))
    table = markdown(rows)
    print(table)
    if args.output:
        args.output.write_text(table + "\n")
    return 1 if any(row.result.startswith("FAILED") for row in rows) else 0


def device_row(cuda: bool) -> Row:
    if not cuda:
        return Row("device", f"cpu only ({platform.processor() or platform.machine()}), "
                   f"torch {torch.__version__}")  # fmt: skip
    name = torch.cuda.get_device_name(0)
    driver = "?"
    if shutil.which("nvidia-smi"):
        query = ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"]
        found = subprocess.run(query, capture_output=True, text=True, timeout=30)
        driver = found.stdout.strip() or "?"
    return Row("device", f"{name}, driver {driver}, CUDA {torch.version.cuda}, "
               f"torch {torch.__version__}")  # fmt: skip


def cuda_tests() -> list[Row]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-m", "cuda", "tests"],
                          cwd=REPO, capture_output=True, text=True, timeout=600)  # fmt: skip
    last = (done.stdout.strip().splitlines() or ["no output"])[-1]
    result = "passed" if done.returncode == 0 else "FAILED"
    return [Row("CUDA-marked tests", f"{result}: {last}", f"{time.monotonic() - started:.0f} s")]


def generator_rows(model: str, runs: int, device: torch.device) -> list[Row]:
    """Median ms a forward, batch 1: the world at 256², a random-weight one at 512²; fp32, and
    on CUDA fp16 and bf16 too."""
    world = load_model(model_path(REPO / "models", model), device).generator
    wide = random_world(device)
    dtypes = (torch.float32, torch.float16, torch.bfloat16) if device.type == "cuda" else (
        torch.float32,
    )  # fmt: skip
    rows = []
    for label, generator, size in ((f"{model} 256²", world, 256), ("random 512²", wide, 512)):
        for dtype in dtypes:
            net = generator.to(dtype)
            image = torch.rand(1, generator.spec.in_channels, size, size, device=device,
                               dtype=dtype) * 2 - 1  # fmt: skip
            median = timed_ms(lambda net=net, image=image: net(image), runs, device)
            rows.append(Row(f"generator {label} {str(dtype)[6:]}", "ok",
                            f"{median:.2f} ms ({1000 / median:.0f} fps)"))  # fmt: skip
        generator.float()
    return rows


def random_world(device: torch.device) -> InferenceGenerator:
    """ngf 8 like the shipped worlds, one level deeper for 512²; random weights time the same."""
    spec = GeneratorSpec(1, 3, 8, 128, 9, "nearest", "reflect")
    return for_inference(UNetGenerator(spec).eval().to(device))


def timed_ms(forward: Callable[[], torch.Tensor], runs: int, device: torch.device) -> float:
    def synchronize() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    with torch.inference_mode():
        for _ in range(min(10, runs)):
            forward()
        synchronize()
        times = []
        for _ in range(runs):
            began = time.perf_counter()
            forward()
            synchronize()
            times.append((time.perf_counter() - began) * 1000)
    return float(np.median(times))


def e2e_rows(model: str, seconds: float) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        wide = Path(folder) / "models"
        save_random_world(wide, "random512", 512)
        worlds = ((model, ["--model", model]),
                  ("random 512²", ["--model", "random512", "--models-dir", str(wide)]))  # fmt: skip
        for label, extra in worlds:
            done = subprocess.run(
                [sys.executable, "-m", "ltsd.cli", "bench", "--e2e", "--sizes", "1920x1080",
                 "--camera-fps", "60", "--seconds", str(seconds), "--device", "cuda", *extra],
                cwd=REPO, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            table = [line for line in done.stdout.splitlines() if line.startswith("| ltsd")]
            result = "ok" if done.returncode == 0 and table else "FAILED"
            rows.append(Row(f"e2e 1920x1080@60 {label}", result,
                            table[0] if table else done.stderr.strip()[-160:]))  # fmt: skip
    return rows


def save_random_world(folder: Path, name: str, resolution: int, ngf: int = 8) -> Path:
    """A world of the shipped architecture (`ngf` filters at the outer level) with random
    weights, as a file in `folder`: for timing, not for looking at."""
    depth = resolution.bit_length() - 1  # down to 1×1: 8 levels at 256², 9 at 512²
    spec = GeneratorSpec(1, 3, ngf, 128, depth, "nearest", "reflect")
    info = ModelInfo(name=name, architecture=spec, resolution=resolution,
                     description="random weights, for timing")  # fmt: skip
    path = model_path(folder, name)
    save_model(path, UNetGenerator(spec).eval(), info)
    return path


def training_row(device: torch.device, steps: int) -> list[Row]:
    with tempfile.TemporaryDirectory() as folder:
        images = Path(folder) / "images"
        images.mkdir()
        rng = np.random.default_rng(0)
        from PIL import Image

        for index in range(4):
            Image.fromarray(rng.integers(0, 256, (160, 160, 3), dtype=np.uint8)).save(
                images / f"{index}.png"
            )
        began = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "ltsd.cli", "train", str(images), "--name", "tiny",
             "--models-dir", str(Path(folder) / "models"), "--run-dir", str(Path(folder) / "run"),
             "--steps", str(steps), "--resolution", "128", "--ngf", "8", "--no-features",
             "--device", device.type],
            cwd=REPO, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        took = time.monotonic() - began
    result = "ok" if done.returncode == 0 else f"FAILED: {done.stderr.strip()[-160:]}"
    return [Row(f"train {steps} steps, 128², ngf 8, batch 4, {device.type}", result,
                f"{took:.0f} s")]  # fmt: skip


def agreement_row(model: str, device: torch.device) -> list[Row]:
    """The same world on the CPU and on `device`, on six photographs: the largest difference,
    in levels of 255."""
    from ltsd.train.evaluate import play, scoring_photographs

    path = model_path(REPO / "models", model)
    cpu, other = load_model(path, torch.device("cpu")), load_model(path, device)
    worst = 0.0
    for photograph in scoring_photographs(cpu.info.resolution).values():
        _, on_cpu = play(cpu, photograph)
        _, on_other = play(other, photograph.to(device))
        worst = max(worst, float((on_cpu - on_other.cpu()).abs().max()) * 127.5)
    result = "ok" if worst <= AGREEMENT_LEVELS else "FAILED"
    return [Row(f"CPU/{device.type} agreement, {model}", result, f"max {worst:.2f} of 255 levels")]


def markdown(rows: list[Row]) -> str:
    lines = [f"GPU check, {time.strftime('%Y-%m-%d')}", "", "| step | result | figure |",
             "|---|---|---|"]  # fmt: skip
    lines += [f"| {row.step} | {row.result} | {row.figure} |" for row in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
