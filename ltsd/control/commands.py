"""What a control surface can do to the running daemon. Every call validates, applies, reports.

OSC (and anything later) calls these; a refused call raises LtsdError with a one-line reason and
leaves the running state exactly as it was.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ltsd.config import Config, SourceConfig
from ltsd.control.morph import Morph
from ltsd.control.pickup import Pickup
from ltsd.control.scenes import Scene, SceneBook, default_path
from ltsd.control.schedule import Entry
from ltsd.errors import LtsdError, SourceError
from ltsd.library import ModelLibrary
from ltsd.logs import LAST_PROBLEM
from ltsd.params import PARAMS, ParamStore, as_index
from ltsd.pipeline import Pipeline
from ltsd.schema import spec_of
from ltsd.sinks import FanOut
from ltsd.sources import Source

log = logging.getLogger(__name__)
StateListener = Callable[[str, Any], None]
SOURCE_PATTERN = spec_of(SourceConfig.__dataclass_fields__["spec"]).pattern


@dataclass(frozen=True, slots=True)
class Status:
    """The whole live state, as `/ltsd/status` reports it."""

    params: dict[str, Any]
    models: list[str]
    model: str
    source: str
    fps: float
    latency_ms: float
    input_live: bool = True
    input_fps: float = 0.0
    # health, for the people who look after a show (also served as /metrics)
    uptime_s: float = 0.0
    frames_in: int = 0
    frames_out: int = 0
    frames_held: int = 0
    frames_dropped: int = 0
    source_losses: int = 0
    last_error: str = ""
    last_error_at: float = 0.0  # Unix time; 0 = none yet
    memory_bytes: int = 0
    outputs: dict[str, bool] = field(default_factory=dict)  # False once an output stopped

    def lines(self) -> dict[str, float | str]:
        """The status lines (`/ltsd/status/NAME`), as sent once a second to subscribers."""
        return {name: line.read(self) for name, line in STATUS_LINES.items()}


@dataclass(frozen=True, slots=True)
class StatusLine:
    """One `/ltsd/status/NAME` line: its OSC type, unit and description (for OSCQuery and
    docs/osc.md), and how it is read from the status — all in one place, so they cannot part."""

    kind: str
    unit: str
    doc: str
    read: Callable[[Status], float | str]


STATUS_LINES: dict[str, StatusLine] = {
    "fps": StatusLine("f", "", "frames a second going out (held frames too, while the input is "
                      "lost)", lambda s: float(s.fps)),
    "latency": StatusLine("f", "ms", "camera frame in to world frame out",
                          lambda s: float(s.latency_ms)),
    "model": StatusLine("s", "", "the world that plays", lambda s: s.model),
    "source": StatusLine("s", "", "what the camera is", lambda s: s.source),
    "input": StatusLine("s", "", "live, or lost while the source sends nothing (frames are held)",
                        lambda s: "live" if s.input_live else "lost"),
    "input_fps": StatusLine("f", "", "frames a second arriving from the source (falls while "
                            "lost)", lambda s: float(s.input_fps)),
    "uptime": StatusLine("f", "s", "seconds since ltsd started", lambda s: float(s.uptime_s)),
    "frames_dropped": StatusLine("i", "", "frames that failed to process, since start",
                                 lambda s: int(s.frames_dropped)),
    "source_losses": StatusLine("i", "", "times the input was lost, since start",
                                lambda s: int(s.source_losses)),
    "last_error": StatusLine("s", "", "the newest warning or error ('' when none)",
                             lambda s: s.last_error),
    "memory": StatusLine("f", "MB", "resident memory of the process",
                         lambda s: round(s.memory_bytes / 2**20, 1)),
    "outputs_down": StatusLine(
        "s", "", "outputs that stopped (a full disk…), comma-separated; '' = none",
        lambda s: ", ".join(name for name, up in s.outputs.items() if not up),
    ),
}  # fmt: skip


class Controls:
    def __init__(
        self,
        pipeline: Pipeline,
        library: ModelLibrary,
        params: ParamStore,
        config: Config,
        open_source: Callable[[Config], Source],
    ) -> None:
        self.pipeline = pipeline
        self.library = library
        self.params = params
        self.config = config
        self._open_source = open_source
        self._source_spec = config.source.spec
        self._switching = threading.Lock()
        self._started = time.monotonic()
        self.pickup = Pickup()
        params.add_listener(self.pickup.changed)
        self.scenes = SceneBook(Path(config.scenes.path) if config.scenes.path
                                else default_path(None), params)  # fmt: skip
        self.scenes.load()
        self.morph = Morph(params)
        self._listeners: list[StateListener] = []
        self.last_entry = ""  # the schedule entry that fired last (OSCQuery's /ltsd/schedule)

    def add_listener(self, listener: StateListener) -> None:
        """`listener(what, value)` hears model and source changes ("model", "source"); a switch
        to what already plays is not a change."""
        self._listeners.append(listener)

    @property
    def source_spec(self) -> str:
        return self._source_spec

    def set_param(self, name: str, value: Any) -> Any:
        return self.params.set(name, value, loose=True)

    def set_param_norm(self, name: str, norm: Any, knob: Any = None) -> Any:
        """A 0..1 knob's position; with `knob` (who sends it) and `osc.takeover: pickup`, it
        moves a numeric value only once it has picked it up (`ltsd.control.pickup`)."""
        info = PARAMS[name]
        stepless = info.kind in (int, float) and info.spec.choices is None
        if knob is None or self.config.osc.takeover == "jump" or not stepless:
            return self.params.set_norm(name, norm)  # switches and choices: a button, not a knob
        wanted = self.params.checked_norm(name, norm)  # a bad value is refused either way
        value = getattr(self.params.targets(), name)
        position = float(info.to_norm(wanted))
        if not self.pickup.admits(name, knob, position, float(info.to_norm(value))):
            return value
        with self.pickup.moving(name):
            return self.params.set_norm(name, norm)

    def switch_model(self, name: Any, crossfade_s: float | None = None) -> str:
        """Cross-fade to model `name` over `crossfade_s` (default: the crossfade parameter);
        loading (if needed) happens here, not in the frame thread."""
        if not isinstance(name, str) or not name:
            raise LtsdError(f"model: expected a model name, got {_short(name)}")
        if name not in self.library.names():
            raise LtsdError(
                f"model {_short(name)}: no such model (have {', '.join(self.library.names())})"
            )
        model = self.library.get(name)
        before = self.pipeline.model.name
        fade = self.params.targets().crossfade if crossfade_s is None else crossfade_s
        self.pipeline.set_model(model, fade)
        if name != before:
            self._tell("model", name)
        return name

    def switch_model_index(self, index: Any) -> str:
        names = self.library.names()
        position = as_index(index)
        if position is None:
            raise LtsdError(f"model/index: expected a whole number, got {_short(index)}")
        if not 0 <= position < len(names):
            raise LtsdError(f"model/index: {position} is out of range 0..{len(names) - 1}")
        return self.switch_model(names[position])

    def step_model(self, step: int) -> str:
        names = self.library.names()
        if not names:
            raise LtsdError("model: the models folder has no models")
        current = self.pipeline.model.name
        position = names.index(current) if current in names else -step
        skipped = []
        for offset in range(1, len(names) + 1):  # an unusable file is stepped over, not stopped at
            name = names[(position + step * offset) % len(names)]
            if name == current:
                break
            try:
                return self.switch_model(name)
            except LtsdError:
                skipped.append(name)
        raise LtsdError(
            f"model: no other usable model ({len(skipped)} unusable: {_short(skipped)})"
        )

    def reconfigure(self, config: Config) -> None:
        """A reloaded config: the media folders OSC may open sources from."""
        self.config = dataclasses.replace(
            self.config,
            source=dataclasses.replace(self.config.source, media_dirs=config.source.media_dirs),
        )

    def set_source(self, spec: Any) -> str:
        """Switch the source. Files and folders only from source.media_dirs: a control surface
        on a shared network must not be a way to show, or probe, any path on the machine."""
        if not isinstance(spec, str) or not re.fullmatch(SOURCE_PATTERN, spec):
            raise SourceError(
                "source: expected synthetic, browser, ndi:NAME, file:PATH, images:DIR or "
                "camera:DEVICE, "
                f"got {_short(spec)}"
            )
        kind, _, path = spec.partition(":")
        if kind in ("file", "images"):
            spec = f"{kind}:{media_path(path, self.config.source.media_dirs)}"
        if kind == "camera" and sys.platform.startswith("linux"):
            if not re.fullmatch(r"(/dev/video)?[0-9]{1,3}", path):
                raise SourceError("source: a camera is camera:/dev/videoN or camera:N")
        return self.restore_source(spec)

    def restore_source(self, spec: str) -> str:
        """Switch back to a source that played before (the browser camera hands back the one it
        replaced): it was checked when it was chosen, at start-up or over OSC, so no media-folder
        rule applies again."""
        config = dataclasses.replace(
            self.config, source=dataclasses.replace(self.config.source, spec=spec)
        )
        with self._switching:  # OSC and the camera intake, one switch at a time
            self.pipeline.set_source(self._open_source(config))
            before, self._source_spec = self._source_spec, spec
        if spec != before:
            self._tell("source", spec)
        return spec

    def reset(self) -> None:
        self.params.reset()

    def status(self) -> Status:
        targets = self.params.targets()
        stats = self.pipeline.stats
        return Status(
            params={name: getattr(targets, name) for name in PARAMS},
            models=self.library.names(),
            model=self.pipeline.model.name,
            source=self._source_spec,
            fps=round(stats.fps_out, 2),
            latency_ms=round(stats.latency_ms, 2),
            input_live=stats.source_live,
            input_fps=round(stats.input_rate(time.monotonic_ns()), 2),
            uptime_s=round(time.monotonic() - self._started, 1),
            frames_in=stats.frames_in,
            frames_out=stats.frames_out,
            frames_held=stats.frames_held,
            frames_dropped=stats.frames_failed,
            source_losses=stats.source_losses,
            last_error=LAST_PROBLEM.message,
            last_error_at=LAST_PROBLEM.at,
            memory_bytes=resident_bytes(),
            outputs=self._outputs(),
        )

    def _outputs(self) -> dict[str, bool]:
        sink = self.pipeline.sink
        return dict(sink.health) if isinstance(sink, FanOut) else {sink.description: True}

    def save_scene(self, key: Any, name: Any = None) -> int:
        """The world and every parameter as they are now, into slot `key` (or the slot of the
        scene named `key`); `name` names it (default: the name it had, else 'scene N')."""
        new_name = isinstance(key, str) and not key.strip().isdigit()
        if new_name and key not in self.scene_names():  # the first free slot, under that name
            slot, name = self.scenes.free_slot(), name or key
        else:
            slot = self.scenes.slot_of(key)
        if name is not None and (not isinstance(name, str) or len(name) > 64 or name.isdigit()):
            raise LtsdError(f"scenes: a name is text of at most 64 characters, not {_short(name)}")
        kept = self.scenes.scenes.get(slot)
        name = name or (kept.name if kept else f"scene {slot}")
        targets = self.params.targets()
        params = {name_: getattr(targets, name_) for name_ in PARAMS}
        self.scenes.put(slot, Scene(name, self.pipeline.model.name, params))
        self._tell("scenes", self.scene_names())
        return slot

    def recall_scene(self, key: Any, seconds: Any = None) -> int:
        """Morph to a scene over `seconds` (default: the crossfade parameter): the world
        crossfades, continuous parameters ease, switches and choices change at the midpoint.
        A scene whose world is missing changes nothing."""
        slot, scene = self.scenes.find(key)
        if seconds is None:
            seconds = self.params.targets().crossfade
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not (0 <= seconds <= 600)
        ):
            raise LtsdError(f"scenes: a morph takes 0 to 600 seconds, not {_short(seconds)}")
        try:
            self.switch_model(scene.model, float(seconds))  # a missing world: nothing changes
        except LtsdError as error:
            raise LtsdError(f"scenes: scene {slot}: {error}") from None
        self.morph.start(scene.params, float(seconds))
        log.info("scenes: recalled %d %r over %g s", slot, scene.name, seconds)
        return slot

    def delete_scene(self, key: Any) -> int:
        slot = self.scenes.slot_of(key)
        self.scenes.delete(slot)
        self._tell("scenes", self.scene_names())
        return slot

    def standby(self, on: bool) -> None:
        """Standby: fade to black and stop the generator (the sender stays); wake: play again."""
        if on != (self.pipeline.standby_since_ns is not None):
            self.pipeline.set_standby(on)
            log.info("%s", "standby: fading to black; the generator rests" if on else "awake")
            self._tell("standby", on)

    def run_entry(self, entry: Entry) -> None:
        """What a schedule entry does; OSC subscribers and LISTEN hear `/ltsd/schedule TEXT`."""
        self.last_entry = entry.text
        self._tell("schedule", entry.text)
        if entry.action == "standby":
            self.standby(True)
            return
        self.standby(False)
        if entry.action == "scene":
            self.recall_scene(entry.argument, entry.seconds)
        elif entry.action == "world":
            self.switch_model(entry.argument)
        elif entry.action == "next":
            self.step_model(+1)

    def scene_names(self) -> list[str]:
        return [scene.name for scene in self.scenes.scenes.values()]

    def _tell(self, what: str, value: Any) -> None:
        for listener in self._listeners:
            listener(what, value)


def media_path(path: str, media_dirs: tuple[str, ...]) -> Path:
    """`path` resolved (links followed) when it lies in one of `media_dirs`; a relative path is
    looked up in each. The refusal is the same whether or not the path exists."""
    folders = [Path(folder).resolve() for folder in media_dirs]
    candidates = [Path(path)] if Path(path).is_absolute() else [f / path for f in folders]
    for candidate in candidates:
        resolved = candidate.resolve()
        if any(resolved.is_relative_to(folder) for folder in folders):
            return resolved
    raise SourceError(
        "source: OSC may open files and folders only in a media folder (source.media_dirs"
        f"{' is empty' if not folders else ''})"
    )


def _short(value: Any, limit: int = 80) -> str:
    """A value for an error line: repr, cut so a 60 kB string cannot flood a reply or a log."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def resident_bytes() -> int:
    """This process's resident memory (Linux /proc; the peak elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024
