"""The daemon's lifecycle: start everything in order, report status, stop cleanly on a signal.

Start-up validates and loads everything that can fail on a user mistake (config, model) before any
NDI object exists, so a mistake never leaves anything half-started.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType

import torch

from ltsd.config import Config, LogConfig
from ltsd.control.commands import Controls
from ltsd.control.osc import OscServer
from ltsd.control.schedule import Entry, Scheduler, parse_entry, zone_of
from ltsd.errors import ConfigError
from ltsd.heap import hold_heap
from ltsd.inference import precision_problem
from ltsd.library import ModelLibrary
from ltsd.logs import live_line
from ltsd.openvino_runtime import openvino_missing
from ltsd.params import ParamStore
from ltsd.pipeline import OutputPlan, Pipeline
from ltsd.reload import ConfigReloader
from ltsd.service import ServiceNotifier
from ltsd.sinks import open_sinks
from ltsd.sinks.preview import PreviewSink
from ltsd.sources import open_source
from ltsd.web.server import WebServer

log = logging.getLogger(__name__)


def set_cpu_threads(requested: int) -> int:
    """Give torch `requested` threads (0 = half the cores) so it does not starve NDI's threads."""
    threads = requested or max(1, (os.cpu_count() or 2) // 2)
    torch.set_num_threads(threads)
    with contextlib.suppress(RuntimeError):  # only settable before the first parallel work
        torch.set_num_interop_threads(1)
    return threads


def pick_precision(choice: str, device: torch.device) -> str:
    """'auto' → bf16 on a CPU that computes it natively (AVX-512 BF16, AMX: the same picture
    within a few levels of 255, in 0.8 of the time, docs/performance.md), else fp32; a bf16 asked
    for where it would only be emulated is a user error, said before anything opens."""
    if choice == "auto":
        native = device.type == "cpu" and precision_problem("bf16", device) is None
        return "bf16" if native else "fp32"
    problem = precision_problem(choice, device)
    if problem:
        raise ConfigError(problem)
    return choice


def pick_runtime(choice: str, device: torch.device) -> str:
    """'openvino' where it can run (installed, on the CPU), else 'torch', saying why in one line:
    a missing extra must not stop a show that torch can play."""
    if choice != "openvino":
        return choice
    problem = openvino_missing() if device.type == "cpu" else f"it runs on the CPU, not {device}"
    if problem:
        log.warning("model.runtime: openvino not used (%s); running on torch", problem)
        return "torch"
    return choice


def pick_device(choice: str) -> torch.device:
    """'auto' → CUDA when present, else Apple's Metal (MPS), else the CPU; 'cuda' or 'mps'
    where there is none is a user error."""
    if choice == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "model.device: cuda was asked for, but no CUDA device is available "
            "(--device auto uses CUDA when there is one, else the CPU)"
        )
    if choice == "mps" and not mps_available():
        raise ConfigError(
            "model.device: mps was asked for, but Apple's Metal (MPS) is not available here "
            "(it needs macOS on Apple silicon and a torch built with MPS); --device auto picks "
            "CUDA, then MPS, then the CPU"
        )
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "mps" if mps_available() else "cpu"
    if choice == "mps":
        fallback = os.environ.get("PYTORCH_ENABLE_MPS_FALLBACK", "unset: such an op fails")
        log.warning("MPS: an operation Metal lacks runs on the CPU instead, more slowly "
                    "(PYTORCH_ENABLE_MPS_FALLBACK=%s)", fallback)  # fmt: skip
    return torch.device(choice)


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


class Daemon:
    def __init__(
        self,
        config: Config,
        max_frames: int | None = None,
        reload_config: Callable[[], Config] | None = None,
    ) -> None:
        self.config = config
        self.max_frames = max_frames
        self.reload_config = reload_config  # SIGHUP calls it; None without a config file
        self.stop = threading.Event()
        self.reloader: ConfigReloader | None = None
        self.reporter: StatusReporter | None = None
        self.controls: Controls | None = None

    def run(self) -> int:
        config = self.config
        self._install_signal_handlers()  # first: a signal during start-up is a clean stop too
        device = pick_device(config.model.device)
        precision = pick_precision(config.model.precision, device)
        runtime = pick_runtime(config.model.runtime, device)
        scheduler = make_scheduler(config, self._run_entry)  # a bad entry: one line, nothing open
        set_cpu_threads(config.model.cpu_threads)
        hold_heap()
        library = ModelLibrary(config.model.models_path(), device, config.model.memory_budget_mb,
                               precision, runtime)  # fmt: skip
        model = library.get(config.model.name)
        params = ParamStore(config.params)
        plan = OutputPlan(
            config.output.fixed_size(), config.output.on_source_lost, config.source.lost_after_s
        )
        source = open_source(config)
        try:
            sink = open_sinks(config.output.sinks, config.output.ndi_name)
        except BaseException:
            source.close()
            raise
        pipeline = Pipeline(source, model, params, sink, plan, device)
        pipeline.notifier = ServiceNotifier()
        controls = self.controls = Controls(pipeline, library, params, config, open_source)
        surfaces = ControlSurfaces(config, controls)
        on_runtime = "" if runtime == "torch" else f" via {runtime}"
        reporter = self.reporter = StatusReporter(
            pipeline, f"{device} {precision}{on_runtime}", config.log
        )

        def apply_live(new: Config) -> None:
            surfaces.reconfigure(new)
            controls.reconfigure(new)

        self.reloader = ConfigReloader(config, self.reload_config, params, apply_live)
        try:
            surfaces.start()
            scheduler.start()
            log.info(
                "ltsd: %s → model %r (%dx%d) on %s in %s%s → %s",
                source.description, model.name, model.info.resolution, model.info.resolution,
                device, precision, on_runtime, sink.description,
            )  # fmt: skip
            # not a daemon thread: torch aborts the process if one is still inside it at exit
            preload = threading.Thread(
                target=library.preload, args=(self.stop,), name="ltsd-preload"
            )
            preload.start()
            status_thread = threading.Thread(target=reporter.run, args=(self.stop,), daemon=True)
            status_thread.start()
            try:
                pipeline.run(self.stop, self.max_frames)
            finally:
                self.stop.set()
                pipeline.notifier.stopping()
                status_thread.join(timeout=1.0)
                preload.join()  # it stops at the next model: at most one model's load
                reporter.finish()
        finally:
            scheduler.stop()
            surfaces.stop()
            pipeline.source.close()
            sink.close()
        pipeline.notifier.close()
        log.info("ltsd: stopped after %d frames out", pipeline.stats.frames_out)
        return 0

    def _install_signal_handlers(self) -> None:
        """INT, TERM and QUIT stop cleanly (recordings finished); HUP reloads the config file
        (a closed terminal or SSH session must not end a show); USR1 logs the status line; USR2
        is ignored. Work beyond setting a flag runs on a thread: a handler interrupts the frame
        thread wherever it is, possibly holding the locks that work would need."""

        def request_stop(signum: int, _frame: FrameType | None) -> None:
            log.info("ltsd: %s received, stopping", signal.Signals(signum).name)
            self.stop.set()

        def in_thread(work: Callable[[], None]) -> Callable[[int, FrameType | None], None]:
            def handler(signum: int, _frame: FrameType | None) -> None:
                threading.Thread(target=work, name=f"ltsd-{signal.Signals(signum).name}",
                                 daemon=True).start()  # fmt: skip

            return handler

        for stopping in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
            signal.signal(stopping, request_stop)
        signal.signal(signal.SIGHUP, in_thread(self._reload))
        signal.signal(signal.SIGUSR1, in_thread(self._log_status))
        signal.signal(signal.SIGUSR2, in_thread(lambda: log.info("ltsd: SIGUSR2 ignored")))

    def _reload(self) -> None:
        log.info("ltsd: SIGHUP received, reloading the config file")
        if self.reloader is not None:
            self.reloader.reload()
        if self.controls is not None:
            self.controls.scenes.load()  # a hand-edited scenes file, too

    def _run_entry(self, entry: Entry) -> None:
        if self.controls is not None:
            self.controls.run_entry(entry)

    def _log_status(self) -> None:
        if self.reporter is not None:
            log.warning("status: %s", self.reporter.line())


class ControlSurfaces:
    """The OSC server and, on the OSCQuery port, the web server (OSCQuery, LISTEN, the page and
    its preview) when enabled; nothing otherwise."""

    def __init__(self, config: Config, controls: Controls) -> None:
        self.osc = OscServer(config.osc, controls) if config.osc.enabled else None
        self.web = None
        if self.osc is not None and config.osc.oscquery_port:
            preview = PreviewSink(config.web)
            controls.pipeline.show_preview(preview)
            self.web = WebServer(
                self.osc, config.osc.host, config.osc.oscquery_port, preview, config.web
            )

    def reconfigure(self, config: Config) -> None:
        if self.osc is not None:
            self.osc.reconfigure(config.osc)

    def start(self) -> None:
        if self.osc is not None:
            self.osc.start()
        if self.web is not None:
            self.web.start()

    def stop(self) -> None:
        if self.web is not None:
            self.web.stop()
        if self.osc is not None:
            self.osc.stop()


class StatusReporter:
    """A live status line on a terminal; plain periodic log lines otherwise; nothing when quiet."""

    def __init__(self, pipeline: Pipeline, device: str, log_config: LogConfig) -> None:
        self.pipeline = pipeline
        self.stats = pipeline.stats
        self.device = device
        self.level = log_config.level
        self.interval_s = log_config.status_interval_s
        self.live_line = sys.stderr.isatty()

    def line(self) -> str:
        s = self.stats
        source = "live" if s.source_live else "lost"
        return (
            f"in {s.input_rate(time.monotonic_ns()):5.1f} fps | out {s.fps_out:5.1f} fps | "
            f"latency {s.latency_ms:6.1f} ms | "
            f"model {self.pipeline.model.name} | {self.device} | source {source} | "
            f"frames {s.frames_out}"
        )

    def run(self, stop: threading.Event) -> None:
        if self.level == "quiet":
            return
        period = 0.5 if self.live_line else self.interval_s
        while not stop.wait(period):
            if self.live_line:
                live_line.show(self.line())
            else:
                log.info("%s", self.line())

    def finish(self) -> None:
        live_line.end()


def make_scheduler(config: Config, fire: Callable[[Entry], None]) -> Scheduler:
    """The schedule of `config`; a bad entry or zone is one ConfigError before anything starts."""
    entries = [parse_entry(text) for text in config.schedule.entries]
    return Scheduler(entries, zone_of(config.schedule.timezone), fire)
