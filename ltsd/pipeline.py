"""The frame path, top to bottom: receive → pre-process → generate → send.

Two threads meet here and only here. The receive thread reads the source and drops each frame into
a single slot where the newest frame always wins (latency over completeness: a slow model skips
frames, it never queues them). The frame thread takes from the slot, runs the model and sends. When
the source goes quiet, the frame thread keeps the output alive at the last frame rate.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from ltsd.errors import ModelError
from ltsd.exposure import AutoExposure
from ltsd.frame import Frame
from ltsd.levels import levelled
from ltsd.modelstore import LoadedModel, load_model
from ltsd.params import LiveParams, ParamStore
from ltsd.pixels import fitted_input, output_bgrx, to_rgb
from ltsd.preprocess import finish, fit
from ltsd.service import ServiceNotifier
from ltsd.sinks import Sink
from ltsd.sinks.preview import PreviewSink
from ltsd.sources import Source

log = logging.getLogger(__name__)
STANDBY_FADE_S = 2.0


class LatestSlot:
    """A one-frame hand-off: put() replaces what is there, take() waits for something new."""

    def __init__(self) -> None:
        self._frame: Frame | None = None
        self._ready = threading.Condition()
        self.dropped = 0

    def put(self, frame: Frame) -> None:
        with self._ready:
            if self._frame is not None:
                self.dropped += 1
            self._frame = frame
            self._ready.notify()

    def take(self, timeout_s: float) -> Frame | None:
        with self._ready:
            if self._frame is None:
                self._ready.wait(timeout_s)
            frame, self._frame = self._frame, None
            return frame


@dataclass
class PipelineStats:
    """Counters and smoothed rates the status line reads; written by the pipeline threads only."""

    frames_in: int = 0
    frames_out: int = 0
    frames_held: int = 0
    frames_failed: int = 0
    source_losses: int = 0
    fps_in: float = 0.0
    fps_out: float = 0.0
    latency_ms: float = 0.0
    source_live: bool = False
    _last_in_ns: int = 0
    _last_out_ns: int = 0

    def count_in(self, now_ns: int) -> None:
        self.frames_in += 1
        self.fps_in = _smoothed_rate(self.fps_in, self._last_in_ns, now_ns)
        self._last_in_ns = now_ns

    def input_rate(self, now_ns: int) -> float:
        """Frames a second arriving now: the smoothed rate, but never more than one over the
        time since the last frame, so it falls while the source sends nothing (the smoothed
        rate alone stood still at its last value while frames were held)."""
        if self._last_in_ns == 0:
            return 0.0
        waited_s = (now_ns - self._last_in_ns) / 1e9
        return self.fps_in if waited_s <= 0 else min(self.fps_in, 1.0 / waited_s)

    def count_out(self, now_ns: int, latency_ms: float | None) -> None:
        self.frames_out += 1
        self.fps_out = _smoothed_rate(self.fps_out, self._last_out_ns, now_ns)
        self._last_out_ns = now_ns
        if latency_ms is not None:
            self.latency_ms = (
                latency_ms if self.latency_ms == 0 else 0.9 * self.latency_ms + 0.1 * latency_ms
            )


@dataclass(frozen=True, slots=True)
class OutputPlan:
    """Settings of the frame thread that do not change while it runs."""

    fixed_size: tuple[int, int] | None  # (width, height), or None to follow the source
    on_source_lost: str  # "hold" or "black"
    lost_after_s: float


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """The model(s) a frame goes through: during a crossfade, the old one too."""

    current: LoadedModel
    previous: LoadedModel | None = None
    fade: float = 1.0  # weight of `current` in the blend


class FrameProcessor:
    """One frame's work: pre-processing, the generator(s) with crossfades, conversion back to
    bytes. The live pipeline and offline `ltsd render` share it, so both make the same frames."""

    def __init__(
        self,
        model: LoadedModel,
        params: ParamStore,
        device: torch.device,
        fixed_size: tuple[int, int] | None = None,
    ) -> None:
        self.params = params
        self.device = device
        self.fixed_size = fixed_size  # (width, height), or None to follow each frame
        self._model_lock = threading.Lock()
        self._model = model
        self._previous: LoadedModel | None = None
        self._fade_started_ns = 0
        self._fade_ns = 0
        self.on_seen: Callable[[torch.Tensor], None] | None = None  # the preview's, when served
        self.exposure = AutoExposure()  # followed across frames, so it lives here

    @property
    def model(self) -> LoadedModel:
        return self._model

    def set_model(self, model: LoadedModel, crossfade_s: float = 0.0) -> None:
        """Switch to an already loaded model, blending from the current one over `crossfade_s`."""
        with self._model_lock:
            if crossfade_s > 0 and model is not self._model:
                self._previous = self._model
                self._fade_started_ns = time.monotonic_ns()
                self._fade_ns = int(crossfade_s * 1e9)
            else:
                self._previous = None
            self._model = model
        log.info("model: %s (crossfade %.2f s)", model.name, crossfade_s)

    def models_for_frame(self) -> ModelChoice:
        with self._model_lock:
            if self._previous is None:
                return ModelChoice(self._model)
            fade = (time.monotonic_ns() - self._fade_started_ns) / max(1, self._fade_ns)
            if fade >= 1.0:
                self._previous = None
                return ModelChoice(self._model)
            return ModelChoice(self._model, self._previous, fade)

    def process(self, frame: Frame, params: LiveParams | None = None) -> np.ndarray:
        """One frame through pre-processing and the generator(s), back to BGRX at the output size.

        Everything between the two conversions happens at the model's resolution: `bypass` shows
        what the model sees, `mix` blends the world over it, and during a crossfade the old and new
        models' outputs are blended by the time elapsed. Then one upscale to the frame.
        """
        params = params or self.params.snapshot()
        if not params.auto_exposure:
            self.exposure.reset()
        models = self.models_for_frame()
        width, height = self.fixed_size or (frame.width, frame.height)
        with torch.inference_mode():
            seen, made = self._through(models.current, frame, params)
            if self.on_seen is not None:
                self.on_seen(seen)
            if params.bypass:
                return output_bgrx(seen, height, width)
            if models.previous is not None:
                _, old = self._through(models.previous, frame, params)
                made = torch.lerp(_resized(old, made), made, models.fade)
            if params.mix < 1.0:
                made = torch.lerp(seen, made, params.mix)
            return output_bgrx(made, height, width)

    def _through(
        self, model: LoadedModel, frame: Frame, params: LiveParams
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(what the model sees, what it makes), both (1, 3, r, r) RGB in [0, 1] at its size r."""
        resolution = model.info.resolution
        fitted = fitted_input(frame.pixels, resolution, resolution, params.fit, params.grayscale,
                              self.device, frame.layout)  # fmt: skip
        if params.auto_exposure:
            fitted = self.exposure.apply(fitted, frame.received_ns)
        played = levelled(params, model.info.levels)
        model_input = finish(fitted, played, model.info.architecture.in_channels)
        seen = to_rgb(model_input)
        if params.bypass:
            return seen, seen
        return seen, to_rgb(model.generator(model_input))


class Pipeline:
    """Owns the frame path for one run: a source, the frame processor, the live parameters and
    a sink, and the two threads between them."""

    def __init__(
        self,
        source: Source,
        model: LoadedModel,
        params: ParamStore,
        sink: Sink,
        plan: OutputPlan,
        device: torch.device,
    ) -> None:
        self.source = source
        self.params = params
        self.sink = sink
        self.plan = plan
        self.device = device
        self.processor = FrameProcessor(model, params, device, plan.fixed_size)
        self.stats = PipelineStats()
        self._slot = LatestSlot()
        self._next_source: Source | None = None
        self.preview: PreviewSink | None = None  # the web page's, when served
        self.standby_since_ns: int | None = None  # set: fade to black, then no generator
        self._black: np.ndarray | None = None
        self.notifier = ServiceNotifier(environ={})  # the daemon gives it systemd's socket

    @property
    def model(self) -> LoadedModel:
        return self.processor.model

    def run(self, stop: threading.Event, max_frames: int | None = None) -> None:
        """Run until `stop` is set or `max_frames` frames were sent."""
        receiver = threading.Thread(
            target=self._receive, args=(stop,), name="ltsd-receive", daemon=True
        )
        receiver.start()
        try:
            self._send_frames(stop, max_frames)
        finally:
            stop.set()
            receiver.join(timeout=1.0)

    def set_model(self, model: LoadedModel, crossfade_s: float = 0.0) -> None:
        self.processor.set_model(model, crossfade_s)

    def show_preview(self, preview: PreviewSink) -> None:
        """Send frames to the web page's preview too: what goes out and what the model sees."""
        self.preview = preview
        self.processor.on_seen = preview.offer_seen

    def switch_model(self, path: Path) -> str | None:
        """Load another model and cut to it; on any problem keep the current one and say why."""
        try:
            model = load_model(path, self.device, self.model.precision, self.model.runtime)
        except ModelError as error:
            log.error("%s (keeping model %r)", error, self.model.name)
            return str(error)
        self.set_model(model)
        return None

    def set_source(self, source: Source) -> None:
        """Hand the receive thread a new source; it closes the old one between two reads."""
        self._next_source = source

    def process(self, frame: Frame, params: LiveParams | None = None) -> np.ndarray:
        return self.processor.process(frame, params)

    def set_standby(self, on: bool) -> None:
        """Standby fades the output to black over STANDBY_FADE_S, then sends black without
        running the generator (the NDI sender stays, for receivers to keep their source)."""
        if on and self.standby_since_ns is None:
            self.standby_since_ns = time.monotonic_ns()
        elif not on:
            self.standby_since_ns = None
            self._black = None

    def _standby_frame(
        self, frame: Frame, last_output: np.ndarray | None, now_ns: int
    ) -> np.ndarray:
        faded = (now_ns - (self.standby_since_ns or now_ns)) / 1e9 / STANDBY_FADE_S
        if last_output is not None and faded < 1.0:
            dimmed = (last_output * np.float32(1.0 - faded)).astype(np.uint8)
            dimmed[:, :, 3] = 255
            return dimmed
        shape = last_output.shape if last_output is not None else (frame.height, frame.width, 4)
        if self._black is None or self._black.shape != shape:
            self._black = np.zeros(shape, np.uint8)
            self._black[:, :, 3] = 255
        return self._black

    def _process_or_skip(self, frame: Frame, params: LiveParams) -> np.ndarray | None:
        """process(), but a frame that cannot be processed is logged and dropped, never fatal:
        an installation must outlive one odd frame."""
        try:
            return self.process(frame, params)
        except Exception as error:  # logged and counted: one odd frame must not end the show
            self.stats.frames_failed += 1
            if self.stats.frames_failed == 1 or self.stats.frames_failed % 1000 == 0:
                log.error(
                    "frame %dx%d skipped (%d so far): %s",
                    frame.width, frame.height, self.stats.frames_failed, error,
                )  # fmt: skip
            return None

    def _receive(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self._receive_one()
            except Exception:  # sources restart themselves; this guard keeps the thread for
                log.exception("receive thread: unexpected error; going on")  # what they miss
                stop.wait(0.5)
        self.source.close()

    def _receive_one(self) -> None:
        if self._next_source is not None:
            old, self.source, self._next_source = self.source, self._next_source, None
            log.info("source: %s", self.source.description)
            old.close()
        frame = self.source.read(timeout_s=0.1)
        if frame is not None:
            self.stats.count_in(frame.received_ns)
            self._slot.put(frame)

    def _send_frames(self, stop: threading.Event, max_frames: int | None) -> None:
        last_output: np.ndarray | None = None
        last_timecode = 0
        last_rate = Fraction(30)
        last_frame_ns = last_params_ns = time.monotonic_ns()
        lost_after_ns = int(self.plan.lost_after_s * 1e9)
        started_ns = time.monotonic_ns()
        while not stop.is_set() and (max_frames is None or self.stats.frames_out < max_frames):
            frame = self._slot.take(timeout_s=float(1 / last_rate))
            now = time.monotonic_ns()
            self.notifier.ping()  # from this thread: if it hangs, systemd restarts ltsd
            if not self.notifier.ready_sent and (
                self.stats.frames_out or now - started_ns > lost_after_ns
            ):
                self.notifier.ready("output flowing" if self.stats.frames_out else "no source yet")
            if frame is not None:
                params = self.params.advance((now - last_params_ns) / 1e9)
                last_params_ns = now
                if self.standby_since_ns is not None:
                    output = self._standby_frame(frame, last_output, now)
                elif params.freeze and last_output is not None:
                    output = last_output
                else:
                    output = self._process_or_skip(frame, params)
                    if output is None:
                        continue
                last_output = output
                last_timecode, last_rate, last_frame_ns = frame.timecode, frame.frame_rate, now
                if not self.stats.source_live:
                    log.info("source live: %dx%d @ %s fps", frame.width, frame.height, last_rate)
                self.sink.send(last_output, last_timecode, last_rate)
                if self.preview is not None:
                    self.preview.send(last_output, last_timecode, last_rate)
                self.stats.source_live = True
                sent_ns = time.monotonic_ns()
                self.stats.count_out(sent_ns, (sent_ns - frame.received_ns) / 1e6)
            elif last_output is not None and now - last_frame_ns > lost_after_ns:
                if self.stats.source_live:
                    log.warning(
                        "source lost: sending %s frames until it returns", self.plan.on_source_lost
                    )
                    self.stats.source_live = False
                    self.stats.source_losses += 1
                    if self.plan.on_source_lost == "black":
                        last_output = np.zeros_like(last_output)
                        last_output[:, :, 3] = 255
                self.sink.send(last_output, last_timecode, last_rate)
                self.stats.frames_held += 1
                self.stats.count_out(time.monotonic_ns(), None)


def _resized(image: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """`image` at the size of `like` (models of different resolutions crossfading)."""
    if image.shape[-2:] == like.shape[-2:]:
        return image
    return fit(image, like.shape[-2], like.shape[-1], "crop")


def _smoothed_rate(current: float, last_ns: int, now_ns: int) -> float:
    if last_ns == 0 or now_ns <= last_ns:
        return current
    instant = 1e9 / (now_ns - last_ns)
    return instant if current == 0 else 0.95 * current + 0.05 * instant
