"""`ltsd bench`: measured figures, printed as a markdown table (never asserted in tests).

Generator-only timing: every model in the models folder plus the two reference architectures
(the seed's web model and the original pix2pix), at the resolutions asked for.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ltsd.generator import GeneratorSpec, UNetGenerator, parameter_count
from ltsd.inference import for_inference
from ltsd.modelstore import list_models, load_model, name_of

REFERENCE_ARCHITECTURES = {
    "web re-make (ngf 8, cap 512)": GeneratorSpec(3, 3, ngf=8, max_channels=512, depth=8),
    "pix2pix (ngf 64, cap 512)": GeneratorSpec(3, 3, ngf=64, max_channels=512, depth=8),
}


@dataclass(frozen=True, slots=True)
class GeneratorTiming:
    name: str
    resolution: int
    parameters: int
    size_mb: float | None
    p50_ms: float
    p95_ms: float

    @property
    def fps(self) -> float:
        return 1000.0 / self.p50_ms


def time_generator(
    generator: torch.nn.Module, channels: int, resolution: int, device: torch.device, runs: int
) -> tuple[float, float]:
    """(p50, p95) milliseconds per frame, batch 1, after warm-up."""
    image = torch.zeros(1, channels, resolution, resolution, device=device)
    timings = []
    with torch.inference_mode():
        for index in range(runs + 5):
            started = time.perf_counter()
            generator(image)
            if device.type == "cuda":
                torch.cuda.synchronize()
            if index >= 5:
                timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[min(len(timings) - 1, int(len(timings) * 0.95))]


def generator_table(
    models_dir: Path, resolutions: list[int], device: torch.device, runs: int
) -> list[GeneratorTiming]:
    """Every shipped model and the reference architectures, each in the inference form that
    `ltsd run` uses (`ltsd.inference`), so the rows compare architectures, not code paths."""
    rows = []
    candidates: list[tuple[str, torch.nn.Module, int, int | None]] = []
    for listing in list_models(models_dir):
        if listing.info is not None:
            loaded = load_model(listing.path, device)
            candidates.append(
                (name_of(listing.path), loaded.generator, listing.parameters, listing.size_bytes)
            )
    for name, spec in REFERENCE_ARCHITECTURES.items():
        trained = UNetGenerator(spec).to(device, memory_format=torch.channels_last).eval()
        candidates.append((name, for_inference(trained), parameter_count(trained), None))
    for name, generator, parameters, size in candidates:
        channels = generator.spec.in_channels
        for resolution in resolutions:
            p50, p95 = time_generator(generator, channels, resolution, device, runs)
            size_mb = size / 1e6 if size is not None else None
            rows.append(GeneratorTiming(name, resolution, parameters, size_mb, p50, p95))
    return rows


def markdown(rows: list[GeneratorTiming]) -> str:
    lines = [
        "| generator | resolution | fps | p50 ms | p95 ms | parameters | MB on disk |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        size = f"{row.size_mb:.1f}" if row.size_mb is not None else "–"
        lines.append(
            f"| {row.name} | {row.resolution}² | {row.fps:.1f} | {row.p50_ms:.2f} | "
            f"{row.p95_ms:.2f} | {row.parameters:,} | {size} |"
        )
    return "\n".join(lines)


def sink_costs(
    width: int, height: int, frames: int, folder: Path
) -> list[tuple[str, float, float]]:
    """(sink, p50 ms, p95 ms) of one send() for each sink that runs on this platform."""
    import uuid
    from fractions import Fraction

    import numpy as np

    from ltsd.config import SyntheticConfig
    from ltsd.sinks import open_sinks
    from ltsd.sources.synthetic import SyntheticSource

    scene = SyntheticSource(SyntheticConfig(width=width, height=height))
    pictures = [scene.frame_at(index) for index in range(0, 60, 6)]
    specs = ["null", "ndi", f"file:{folder / 'bench.mp4'}", f"file:{folder / 'bench_%05d.png'}"]
    rows = []
    for spec in specs:
        sink = open_sinks((spec,), f"bench-{uuid.uuid4().hex[:6]}")
        timings = []
        for index in range(frames):
            pixels = np.ascontiguousarray(pictures[index % len(pictures)])
            started = time.perf_counter()
            sink.send(pixels, index, Fraction(30))
            timings.append((time.perf_counter() - started) * 1000)
        sink.close()
        timings.sort()
        label = spec.split(":")[0] + (
            " (H.264)" if spec.endswith(".mp4") else " (PNG)" if "%" in spec else ""
        )
        rows.append((label, statistics.median(timings), timings[int(len(timings) * 0.95)]))
    return rows
