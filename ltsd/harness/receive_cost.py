"""What receiving a camera costs in CPU, per colour format NDI is asked for.

A stand-in camera sends at the given size and rate; this process receives it for a few seconds
as UYVY and as BGRX (alternating, twice each) and reports its own CPU time per second of video,
NDI's decoding threads included.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

from ltsd.sources.ndi import NdiSource


def receive_costs(
    width: int, height: int, fps: int, seconds: float
) -> list[tuple[str, float, float]]:
    """(colour format, frames received per second, % of one core) for each run."""
    name = f"cost-cam-{uuid.uuid4().hex[:6]}"
    camera = subprocess.Popen(
        [sys.executable, "-m", "ltsd.harness.camera", "--name", name, "--width", str(width),
         "--height", str(height), "--fps", str(fps), "--seconds", str(8 * seconds + 60)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    rows = []
    try:
        camera.stdout.readline()  # started
        for color in ("uyvy", "bgrx", "uyvy", "bgrx"):
            source = NdiSource(name, "127.0.0.1", lost_after_s=5.0, color=color)
            warm_until = time.monotonic() + 30
            while source.read(timeout_s=0.1) is None and time.monotonic() < warm_until:
                pass
            frames, cpu_before, started = 0, _cpu_s(), time.monotonic()
            while time.monotonic() - started < seconds:
                frames += source.read(timeout_s=0.1) is not None
            elapsed = time.monotonic() - started
            rows.append((color, frames / elapsed, 100 * (_cpu_s() - cpu_before) / elapsed))
            source.close()
    finally:
        camera.terminate()
        camera.wait(timeout=10)
    return rows


def _cpu_s() -> float:
    times = os.times()
    return times.user + times.system


def markdown(rows: list[tuple[str, float, float]]) -> str:
    lines = ["| NDI asked for | frames/s received | CPU, % of one core |", "|---|---|---|"]
    lines += [f"| {color.upper()} | {fps:.1f} | {cpu:.0f} |" for color, fps, cpu in rows]
    return "\n".join(lines)
