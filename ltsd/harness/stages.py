"""Where one frame's time goes: each stage of the CPU frame path timed on its own.

Stages run interleaved, frame after frame, so a busy neighbour slows them all alike; the two
generator forms (as trained, and rewritten for inference) and the two input layouts are timed side
by side for the same reason.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ltsd.config import SyntheticConfig
from ltsd.levels import levelled
from ltsd.modelstore import LoadedModel, load_model, load_trained
from ltsd.params import LiveParams
from ltsd.pixels import fitted_input, output_bgrx, to_rgb
from ltsd.preprocess import finish
from ltsd.sources.synthetic import SyntheticSource


def bgrx_to_uyvy(pixels: np.ndarray) -> np.ndarray:
    """A BGRX frame as NDI would deliver it in UYVY (BT.709, video range), for timing only."""
    rgb = pixels[:, :, [2, 1, 0]].astype(np.float32) / 255
    luma = rgb @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    pairs = np.empty((pixels.shape[0], pixels.shape[1] // 2, 4), np.float32)
    pairs[:, :, 0] = 128 + 224 * (rgb[:, 0::2, 2] - luma[:, 0::2]) / 1.8556
    pairs[:, :, 1] = 16 + 219 * luma[:, 0::2]
    pairs[:, :, 2] = 128 + 224 * (rgb[:, 0::2, 0] - luma[:, 0::2]) / 1.5748
    pairs[:, :, 3] = 16 + 219 * luma[:, 1::2]
    return pairs.clip(0, 255).astype(np.uint8).reshape(pixels.shape[0], pixels.shape[1], 2)


def stage_rows(
    model_path: Path, sizes: list[tuple[int, int]], runs: int
) -> list[tuple[str, str, float, float]]:
    """(size, stage, p50 ms, p95 ms) for each stage of the CPU frame path at each size."""
    model = load_model(model_path, torch.device("cpu"))
    _, trained = load_trained(model_path)
    rows = []
    for width, height in sizes:
        stages = _stages(model, trained, width, height)
        timings: dict[str, list[float]] = {name: [] for name in stages}
        with torch.inference_mode():
            for index in range(runs + 3):
                for name, stage in stages.items():
                    started = time.perf_counter()
                    stage()
                    if index >= 3:
                        timings[name].append((time.perf_counter() - started) * 1000)
        for name, values in timings.items():
            values.sort()
            p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
            rows.append((f"{width}x{height}", name, statistics.median(values), p95))
    return rows


def _stages(
    model: LoadedModel, trained: torch.nn.Module, width: int, height: int
) -> dict[str, Callable[[], object]]:
    """Each stage as a call on prepared inputs, for one synthetic frame of width × height."""
    device, params = torch.device("cpu"), levelled(LiveParams(), model.info.levels)
    side, channels = model.info.resolution, model.info.architecture.in_channels
    bgrx = SyntheticSource(SyntheticConfig(width=width, height=height)).frame_at(0)
    uyvy = bgrx_to_uyvy(bgrx)
    with torch.inference_mode():
        fitted = fitted_input(bgrx, side, side, params.fit, params.grayscale, device)
        seen = finish(fitted, params, channels)
        made = to_rgb(model.generator(seen))
    return {
        "copy out of NDI's buffer (UYVY)": lambda: np.array(uyvy, copy=True),
        "copy out of NDI's buffer (BGRX)": lambda: np.array(bgrx, copy=True),
        "crop + shrink + colour (UYVY)": lambda: fitted_input(
            uyvy, side, side, params.fit, params.grayscale, device, "uyvy"
        ),
        "crop + shrink + colour (BGRX)": lambda: fitted_input(
            bgrx, side, side, params.fit, params.grayscale, device
        ),
        "blur, brightness, contrast": lambda: finish(fitted, params, channels),
        "generator (inference form)": lambda: model.generator(seen),
        "generator (as trained)": lambda: trained(seen),
        "output to bytes, scaled up": lambda: output_bgrx(made, height, width),
    }


def markdown(rows: list[tuple[str, str, float, float]]) -> str:
    lines = ["| frame | stage | p50 ms | p95 ms |", "|---|---|---|---|"]
    lines += [f"| {size} | {stage} | {p50:.2f} | {p95:.2f} |" for size, stage, p50, p95 in rows]
    return "\n".join(lines)
