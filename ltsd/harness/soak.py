"""Memory soak: RSS across N frames with model switches and parameter changes, counted in frames.

    python -m ltsd.harness.soak --frames 100000 [--models-dir DIR] [--width 640 --height 360]
        [--fps 30]

Runs the real frame path (synthetic source → pre-processing → generator → NDI sink) as fast as it
goes, or paced at --fps for a soak as long in time as a show, switching model every
`--switch-every` frames and changing parameters, and prints RSS (and CUDA memory when present) at
intervals. The CI test runs a short version; long soaks are this
command, recorded in docs/performance.md.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import torch

from ltsd.config import Config, SyntheticConfig
from ltsd.control.commands import Controls
from ltsd.library import ModelLibrary
from ltsd.params import LiveParams, ParamStore
from ltsd.pipeline import OutputPlan, Pipeline
from ltsd.sinks.ndi import NdiSink
from ltsd.sources.synthetic import SyntheticSource


def rss_bytes() -> int:
    """Resident set size of this process, from /proc (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


@dataclass(frozen=True, slots=True)
class Sample:
    frame: int
    rss_mb: float
    cuda_mb: float
    elapsed_s: float


def soak(
    models_dir: Path, frames: int, every: int, switch_every: int, width: int, height: int,
    device: torch.device, fps: float = 240.0,
) -> list[Sample]:  # fmt: skip
    """RSS every `every` frames while the pipeline runs; the last sample is after it stopped."""
    config = Config(synthetic=SyntheticConfig(width=width, height=height, fps=fps))
    started = time.monotonic()
    library = ModelLibrary(models_dir, device, budget_mb=512.0)
    names = library.names()
    params = ParamStore(LiveParams(crossfade=0.0))
    sink = NdiSink(f"soak-{uuid.uuid4().hex[:6]}")
    source = SyntheticSource(config.synthetic)
    pipeline = Pipeline(source, library.get(names[0]), params, sink,
                        OutputPlan(None, "hold", 1.0), device)  # fmt: skip
    controls = Controls(pipeline, library, params, config, lambda _: source)
    samples: list[Sample] = []
    stop = threading.Event()
    runner = threading.Thread(target=pipeline.run, args=(stop, frames), daemon=True)
    runner.start()
    knob = itertools.cycle([0.0, 0.25, 0.5, 0.75, 1.0])
    next_sample = next_switch = 0
    model_cycle = itertools.cycle(names)
    while runner.is_alive():
        runner.join(timeout=0.01)
        done = pipeline.stats.frames_out
        if done >= next_switch:
            controls.switch_model(next(model_cycle))
            controls.set_param_norm("contrast", next(knob))
            controls.set_param("mix", 0.5 + 0.5 * next(knob))
            next_switch += switch_every
        if done >= next_sample:
            cuda = torch.cuda.memory_allocated() / 1e6 if device.type == "cuda" else 0.0
            samples.append(Sample(done, rss_bytes() / 1e6, cuda, time.monotonic() - started))
            next_sample += every
    stop.set()
    sink.close()
    samples.append(Sample(pipeline.stats.frames_out, rss_bytes() / 1e6, 0.0,
                          time.monotonic() - started))  # fmt: skip
    return samples


def main() -> None:
    from ltsd.config import ModelConfig
    from ltsd.daemon import pick_device, set_cpu_threads
    from ltsd.heap import hold_heap

    parser = argparse.ArgumentParser(description="memory soak of the frame path")
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=5000, help="frames between samples")
    parser.add_argument("--switch-every", type=int, default=300, help="frames between switches")
    parser.add_argument("--models-dir", default="")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--fps", type=float, default=240.0, help="source frame rate (pacing)")
    parser.add_argument("--let-heap-trim", action="store_true",
                        help="leave glibc's heap trimming on (ltsd run turns it off)")  # fmt: skip
    args = parser.parse_args()
    device = pick_device(args.device)
    set_cpu_threads(0)
    if not args.let_heap_trim:
        hold_heap()
    models_dir = ModelConfig(models_dir=args.models_dir).models_path()
    samples = soak(models_dir, args.frames, args.every, args.switch_every, args.width,
                   args.height, device, args.fps)  # fmt: skip
    print("| frame | minutes | RSS MB | CUDA MB |\n|---|---|---|---|")
    for sample in samples[:-1]:
        print(f"| {sample.frame} | {sample.elapsed_s / 60:.1f} | {sample.rss_mb:.1f} | "
              f"{sample.cuda_mb:.1f} |")  # fmt: skip
    running = samples[:-1]
    warm = next((s for s in running if s.frame >= min(args.frames // 10, 5000)), running[0])
    print(f"\nRSS growth after warm-up (frame {warm.frame} → {running[-1].frame}, "
          f"{(running[-1].elapsed_s - warm.elapsed_s) / 60:.1f} min): "
          f"{running[-1].rss_mb - warm.rss_mb:+.1f} MB "
          f"(after shutdown: {samples[-1].rss_mb:.1f} MB)")  # fmt: skip
    settled = [s.rss_mb for s in running if s.frame >= warm.frame]
    print(
        f"RSS after warm-up: {min(settled):.1f}–{max(settled):.1f} MB; trend (median of the "
        f"last quarter of samples minus median of the first): {quarter_trend(settled):+.1f} MB"
    )


def quarter_trend(values: list[float]) -> float:
    """Median of the last quarter minus median of the first: a leak moves every sample, while the
    allocator's swing of a few MB between single samples does not move a median."""
    quarter = max(1, len(values) // 4)
    return statistics.median(values[-quarter:]) - statistics.median(values[:quarter])


if __name__ == "__main__":
    main()
