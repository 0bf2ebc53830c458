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
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from pythonosc.udp_client import SimpleUDPClient

from ltsd.harness.receiver import NdiReceiver, ReceivedFrame


@dataclass(frozen=True, slots=True)
class RunShape:
    """What one measurement watches: the camera's frames, and for how long after a warm-up."""

    width: int
    height: int
    camera_fps: int
    seconds: float
    warmup_s: float = 3.0


@dataclass(frozen=True, slots=True)
class Run:
    label: str  # "relay" or "ltsd"
    shape: RunShape
    output_fps: float
    latency_p50_ms: float
    latency_p95_ms: float
    frames: int
    osc_messages_per_s: int = 0  # as actually sent during the measurement
    burst: Burst | None = None


@dataclass(frozen=True, slots=True)
class Burst:
    """A one-second OSC burst in the middle of a run, against the rest of the same run."""

    messages: int
    seconds: float  # how long sending them took
    fps_during: float
    fps_outside: float


def measure(
    label: str,
    target: list[str],
    shape: RunShape,
    osc_port: int | None = None,
    osc_messages_per_s: int = 0,
    osc_burst: int = 0,
    viewer_port: int | None = None,
) -> Run:
    """Start a camera and `target` (argv with {camera} and {output} placeholders), receive, stop.

    osc_messages_per_s floods OSC for the whole measurement; osc_burst sends that many messages
    within one second halfway through it, and the run reports the frame rate during the burst.
    viewer_port watches the web page's two preview streams there for the whole measurement."""
    start_osc = None
    if osc_burst:
        halfway_s = shape.seconds / 2 - 0.5
        start_osc = partial(_OscFlood, osc_port, osc_burst, delay_s=halfway_s, limit=osc_burst)
    elif osc_messages_per_s:
        start_osc = partial(_OscFlood, osc_port, osc_messages_per_s)
    with tempfile.TemporaryDirectory(prefix="ltsd-e2e-") as scratch:
        send_log = Path(scratch) / "send-times.txt"
        start_viewer = partial(_Viewer, viewer_port) if viewer_port else None
        frames, flood, viewer = _receive_through(target, shape, send_log, start_osc, start_viewer)
        sent_s = _send_times(send_log)
    if len(frames) < 2:
        return Run(label, shape, 0.0, float("nan"), float("nan"), len(frames))
    fps = (len(frames) - 1) / (frames[-1].arrived_s - frames[0].arrived_s)
    burst = _burst_effect(frames, flood) if osc_burst else None
    sent_per_s = flood.rate() if flood is not None and not osc_burst else 0
    timed = [f for f in frames if f.timecode in sent_s]
    latencies = sorted((f.arrived_s - sent_s[f.timecode]) * 1000 for f in timed)
    p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
    if viewer is not None:
        label = f"{label} + page ({viewer.rate():.1f} pictures/s)"
    return Run(label, shape, fps, statistics.median(latencies), p95, len(frames), sent_per_s, burst)


def _burst_effect(frames: list[ReceivedFrame], flood: _OscFlood) -> Burst:
    """Output fps while the burst was being sent (at least a second) against the rest of the run."""
    start, end = flood.first_s, max(flood.last_s, flood.first_s + 1.0)
    during = sum(start <= f.arrived_s < end for f in frames)
    outside_s = (frames[-1].arrived_s - frames[0].arrived_s) - (end - start)
    return Burst(flood.sent, flood.last_s - flood.first_s, during / (end - start),
                 (len(frames) - during) / max(1e-9, outside_s))  # fmt: skip


def _receive_through(
    target: list[str],
    shape: RunShape,
    send_log: Path,
    start_osc: Callable[[], _OscFlood] | None,
    start_viewer: Callable[[], _Viewer] | None = None,
) -> tuple[list[ReceivedFrame], _OscFlood | None, _Viewer | None]:
    """The frames that came out of `target` during the shape's seconds, and the OSC sender and
    the page viewer (started once the warm-up is over), stopped."""
    camera_name = f"bench-cam-{uuid.uuid4().hex[:6]}"
    output_name = f"bench-out-{uuid.uuid4().hex[:6]}"
    lifetime = str(shape.warmup_s + shape.seconds + 60)
    camera = subprocess.Popen(
        [sys.executable, "-m", "ltsd.harness.camera", "--name", camera_name,
         "--width", str(shape.width), "--height", str(shape.height),
         "--fps", str(shape.camera_fps), "--seconds", lifetime,
         "--send-times", str(send_log)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    argv = [a.format(camera=camera_name, output=output_name) for a in target]
    daemon = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        camera.stdout.readline()  # started
        receiver = NdiReceiver(output_name, timeout_s=60)
        viewer = start_viewer() if start_viewer is not None else None
        receiver.frames(count=10**9, timeout_s=shape.warmup_s, keep_pixels=False)
        flood = start_osc() if start_osc is not None else None
        if viewer is not None:
            viewer.count_from_now()
        frames = receiver.frames(count=10**9, timeout_s=shape.seconds, keep_pixels=False)
        for load in (flood, viewer):
            if load is not None:
                load.stop()
        receiver.close()
    finally:
        for process in (daemon, camera):
            process.terminate()
            process.wait(timeout=10)
    return frames, flood, viewer


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
    """Sends `rate` OSC messages a second to ltsd (a controller gone wild), turning four knobs in
    turn with values that keep changing; after `delay_s`, until stopped or `limit` are sent."""

    def __init__(self, port: int, rate: int, delay_s: float = 0, limit: int | None = None) -> None:
        self._client = SimpleUDPClient("127.0.0.1", port)
        self._rate, self._delay_s, self._limit = rate, delay_s, limit
        self._stop = threading.Event()
        self.sent = 0
        self.first_s = self.last_s = time.monotonic() + delay_s  # monotonic, first and last send
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        if self._stop.wait(self._delay_s):
            return
        limit = self._limit if self._limit is not None else float("inf")
        started = self.first_s = time.monotonic()
        while self.sent < limit and not self._stop.is_set():
            due = min(limit, int((time.monotonic() - started) * self._rate))
            for _ in range(min(due - self.sent, 1000)):
                knob = KNOBS[self.sent % len(KNOBS)]
                self._client.send_message(knob, 0.4 + (self.sent % 100) / 500)  # around the middle
                self.sent += 1
            self.last_s = time.monotonic()
            time.sleep(0.001)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def rate(self) -> int:
        """Messages a second actually sent."""
        return round(self.sent / max(1e-9, self.last_s - self.first_s))


class _Viewer:
    """A page left open: both preview streams read as fast as they come, pictures counted."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._stop = threading.Event()
        self.pictures = 0
        self._counted_from = (time.monotonic(), 0)
        self._threads = [threading.Thread(target=self._watch, args=(f"/stream/{name}.mjpg",),
                                          daemon=True) for name in ("output", "seen")]  # fmt: skip
        for thread in self._threads:
            thread.start()

    def _watch(self, path: str) -> None:
        import http.client

        while not self._stop.is_set():  # ltsd may still be starting: try again
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self._port, timeout=2)
                connection.request("GET", path)
                stream = connection.getresponse()
                while not self._stop.is_set():
                    line = stream.readline()
                    if not line:
                        break
                    if line.lower().startswith(b"content-length:"):
                        stream.readline()
                        stream.read(int(line.split(b":")[1]))
                        self.pictures += 1
            except OSError:
                self._stop.wait(0.2)

    def count_from_now(self) -> None:
        self._counted_from = (time.monotonic(), self.pictures)

    def rate(self) -> float:
        """Pictures a second of both streams together since count_from_now()."""
        since, before = self._counted_from
        return (self.pictures - before) / max(1e-9, self._ended - since)

    def stop(self) -> None:
        self._ended = time.monotonic()
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)


def markdown(runs: list[Run]) -> str:
    lines = [
        "| size | camera fps | pipeline | OSC msg/s | output fps | latency p50 ms | p95 ms | "
        "fps ratio to relay | added latency p50 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    relays = {(r.shape.width, r.shape.height): r for r in runs if r.label == "relay"}
    for run in (run for run in runs if run.burst is None):
        shape = run.shape
        relay = relays.get((shape.width, shape.height))
        ratio = f"{run.output_fps / relay.output_fps:.2f}" if relay and relay.output_fps else "–"
        added = f"{run.latency_p50_ms - relay.latency_p50_ms:.1f}" if relay else "–"
        lines.append(
            f"| {shape.width}x{shape.height} | {shape.camera_fps} | {run.label} | "
            f"{run.osc_messages_per_s or '–'} | {run.output_fps:.1f} | {run.latency_p50_ms:.1f} | "
            f"{run.latency_p95_ms:.1f} | {ratio} | {added} |"
        )
    bursts = [run for run in runs if run.burst is not None]
    if bursts:
        lines += [
            "",
            "| size | camera fps | OSC burst messages | sent in s | output fps during burst | "
            "rest of the run | ratio |",
            "|---|---|---|---|---|---|---|",
        ]
        for run in bursts:
            b, shape = run.burst, run.shape
            lines.append(
                f"| {shape.width}x{shape.height} | {shape.camera_fps} | {b.messages} | "
                f"{b.seconds:.2f} | {b.fps_during:.1f} | {b.fps_outside:.1f} | "
                f"{b.fps_during / b.fps_outside:.2f} |"
            )
    return "\n".join(lines)
