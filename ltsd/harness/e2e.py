"""End to end over NDI on loopback: camera → (ltsd | bare relay) → receiver, same harness, same run.

Output fps is counted at the receiver; latency is arrival time minus the moment the camera sent
that frame: its timecode is its counter, and the camera logs when each send returned, on the
machine-wide monotonic clock.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from pythonosc.udp_client import SimpleUDPClient

from ltsd.harness.receiver import NdiReceiver, ReceivedFrame


@dataclass(frozen=True, slots=True)
class Run:
    label: str  # "relay" or "ltsd"
    width: int
    height: int
    camera_fps: int
    output_fps: float
    latency_p50_ms: float
    latency_p95_ms: float
    frames: int
    osc_messages_per_s: int = 0  # as actually sent during the measurement


def measure(
    label: str,
    target: list[str],
    width: int,
    height: int,
    camera_fps: int,
    warmup_s: float,
    seconds: float,
    osc_port: int | None = None,
    osc_messages_per_s: int = 0,
) -> Run:
    """Start a camera and `target` (argv with {camera} and {output} placeholders), receive, stop."""
    with tempfile.TemporaryDirectory(prefix="ltsd-e2e-") as scratch:
        send_log = Path(scratch) / "send-times.txt"
        frames, sent_per_s = _receive_through(
            target, width, height, camera_fps, warmup_s, seconds, send_log, osc_port,
            osc_messages_per_s,
        )  # fmt: skip
        sent_s = _send_times(send_log)
    if len(frames) < 2:
        return Run(label, width, height, camera_fps, 0.0, float("nan"), float("nan"), len(frames))
    fps = (len(frames) - 1) / (frames[-1].arrived_s - frames[0].arrived_s)
    timed = [f for f in frames if f.timecode in sent_s]
    latencies = sorted((f.arrived_s - sent_s[f.timecode]) * 1000 for f in timed)
    p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
    return Run(label, width, height, camera_fps, fps, statistics.median(latencies), p95,
               len(frames), sent_per_s)  # fmt: skip


def _receive_through(
    target: list[str],
    width: int,
    height: int,
    camera_fps: int,
    warmup_s: float,
    seconds: float,
    send_log: Path,
    osc_port: int | None,
    osc_messages_per_s: int,
) -> tuple[list[ReceivedFrame], int]:
    """The frames that came out of `target` during `seconds`, and the OSC rate actually sent."""
    camera_name = f"bench-cam-{uuid.uuid4().hex[:6]}"
    output_name = f"bench-out-{uuid.uuid4().hex[:6]}"
    lifetime = str(warmup_s + seconds + 60)
    camera = subprocess.Popen(
        [sys.executable, "-m", "ltsd.harness.camera", "--name", camera_name, "--width", str(width),
         "--height", str(height), "--fps", str(camera_fps), "--seconds", lifetime,
         "--send-times", str(send_log)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    argv = [a.format(camera=camera_name, output=output_name) for a in target]
    daemon = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        camera.stdout.readline()  # started
        receiver = NdiReceiver(output_name, timeout_s=60)
        receiver.frames(count=10**9, timeout_s=warmup_s, keep_pixels=False)
        flood = _OscFlood(osc_port, osc_messages_per_s) if osc_messages_per_s else None
        frames = receiver.frames(count=10**9, timeout_s=seconds, keep_pixels=False)
        sent_per_s = flood.stop() if flood is not None else 0
        receiver.close()
    finally:
        for process in (daemon, camera):
            process.terminate()
            process.wait(timeout=10)
    return frames, sent_per_s


def _send_times(log: Path) -> dict[int, float]:
    """timecode → monotonic seconds the camera's send returned (a torn last line is skipped)."""
    times = {}
    for line in log.read_text().splitlines(keepends=True):
        parts = line.split()
        if len(parts) == 2 and line.endswith("\n"):
            times[int(parts[0])] = int(parts[1]) / 1e9
    return times


KNOBS = ("/ltsd/pre/brightness/norm", "/ltsd/pre/contrast/norm", "/ltsd/pre/blur_factor/norm",
         "/ltsd/mix/norm")  # fmt: skip


class _OscFlood:
    """Sends `rate` OSC messages a second to ltsd until stopped (a controller gone wild), turning
    four knobs in turn with values that keep changing."""

    def __init__(self, port: int, rate: int) -> None:
        self._client = SimpleUDPClient("127.0.0.1", port)
        self._rate = rate
        self._stop = threading.Event()
        self._sent, self._started = 0, time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        sent = 0
        started = self._started = time.monotonic()
        while not self._stop.is_set():
            due = int((time.monotonic() - started) * self._rate)
            for _ in range(min(due - sent, 1000)):
                knob = KNOBS[sent % len(KNOBS)]
                self._client.send_message(knob, 0.4 + (sent % 100) / 500)  # around the middle
                sent += 1
            self._sent = sent
            time.sleep(0.001)

    def stop(self) -> int:
        """Stop sending; the rate actually sent, messages a second."""
        self._stop.set()
        self._thread.join(timeout=2)
        return round(self._sent / max(1e-9, time.monotonic() - self._started))


def markdown(runs: list[Run]) -> str:
    lines = [
        "| size | camera fps | pipeline | OSC msg/s | output fps | latency p50 ms | p95 ms | "
        "fps ratio to relay | added latency p50 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    relays = {(r.width, r.height): r for r in runs if r.label == "relay"}
    for run in runs:
        relay = relays.get((run.width, run.height))
        ratio = f"{run.output_fps / relay.output_fps:.2f}" if relay and relay.output_fps else "–"
        added = f"{run.latency_p50_ms - relay.latency_p50_ms:.1f}" if relay else "–"
        lines.append(
            f"| {run.width}x{run.height} | {run.camera_fps} | {run.label} | "
            f"{run.osc_messages_per_s or '–'} | {run.output_fps:.1f} | {run.latency_p50_ms:.1f} | "
            f"{run.latency_p95_ms:.1f} | {ratio} | {added} |"
        )
    return "\n".join(lines)
