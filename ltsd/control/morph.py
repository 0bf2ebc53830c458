"""A recall's morph: continuous parameters eased from where they are to the scene's values over
a few seconds (smoothstep: slow out, slow in), switches and choices at the midpoint.

It runs on its own thread, 50 steps a second, setting the parameters' targets as a knob would,
so everything that listens (OSC subscribers, LISTEN, the page, knobs that pick up) hears each
step. A parameter someone else changes during the morph is theirs: the morph leaves it alone.
A new recall ends the one before.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from ltsd.params import PARAMS, ParamStore

STEP_S = 0.02


def ease(t: float) -> float:
    """Smoothstep: 0 at 0, 1 at 1, flat at both ends."""
    t = min(max(t, 0.0), 1.0)
    return t * t * (3 - 2 * t)


class Morph:
    def __init__(self, params: ParamStore) -> None:
        self.params = params
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()

    def start(self, values: dict[str, Any], seconds: float) -> None:
        self.stop()
        start = self.params.targets()
        gliding = {name: (float(getattr(start, name)), float(value))
                   for name, value in values.items()
                   if PARAMS[name].spec.continuous and seconds > 0}  # fmt: skip
        at_midpoint = {name: value for name, value in values.items() if name not in gliding}
        if seconds <= 0:
            self._apply(at_midpoint)
            return
        self._cancel = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(gliding, at_midpoint, seconds, self._cancel),
            name="ltsd-morph", daemon=True,
        )  # fmt: skip
        self._thread.start()

    def stop(self) -> None:
        self._cancel.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=1.0)
        self._thread = None

    def _run(
        self,
        gliding: dict[str, tuple[float, float]],
        at_midpoint: dict[str, Any],
        seconds: float,
        cancel: threading.Event,
    ) -> None:
        began = time.monotonic()
        last_set = {name: start for name, (start, _) in gliding.items()}
        while not cancel.is_set():
            t = (time.monotonic() - began) / seconds
            for name, (start, end) in list(gliding.items()):
                if float(getattr(self.params.targets(), name)) != last_set[name]:
                    del gliding[name]  # someone else moved it: theirs now
                    continue
                value = start + (end - start) * ease(t)
                last_set[name] = float(self.params.set(name, value, loose=True))
            if at_midpoint and t >= 0.5:
                self._apply(at_midpoint)
                at_midpoint = {}
            if t >= 1.0:
                return
            cancel.wait(STEP_S)

    def _apply(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            self.params.set(name, value)
