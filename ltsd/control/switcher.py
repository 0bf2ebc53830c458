"""Slow control work off the OSC thread: loading a model, opening a source.

A model load or an NDI lookup can take a second; on the OSC thread that second would freeze
every knob. Here they run on one worker thread, in the order they arrived. A model or source
switch still waiting when a newer one of the same kind arrives is dropped (the newest wins, as
with knobs); relative steps (next/prev) each count. A status request made while switches are
pending is answered after them, so it reports what was asked before it.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable

log = logging.getLogger(__name__)
MAX_PENDING = 64


class Switcher:
    def __init__(self) -> None:
        self._pending: OrderedDict[str, Callable[[], None]] = OrderedDict()
        self._ready = threading.Condition()
        self._busy = False
        self._stopped = False
        self._unique = itertools.count()
        self._thread = threading.Thread(target=self._work, name="ltsd-switch", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], None], kind: str | None = None) -> bool:
        """Queue `job`; one of the same `kind` still waiting is dropped. False when too many are
        waiting (the caller refuses the request)."""
        with self._ready:
            if kind is not None:
                self._pending.pop(kind, None)
            if len(self._pending) >= MAX_PENDING:
                return False
            self._pending[kind or f"once-{next(self._unique)}"] = job
            self._ready.notify()
            return True

    def idle(self) -> bool:
        with self._ready:
            return not self._pending and not self._busy

    def stop(self) -> None:
        with self._ready:
            self._stopped = True
            self._pending.clear()
            self._ready.notify()
        self._thread.join(timeout=5.0)

    def _work(self) -> None:
        while True:
            with self._ready:
                while not self._pending and not self._stopped:
                    self._ready.wait()
                if self._stopped:
                    return
                _, job = self._pending.popitem(last=False)
                self._busy = True
            try:
                job()
            except Exception:  # jobs answer their own errors; this is the last guard
                log.exception("control: a switch failed")
            finally:
                with self._ready:
                    self._busy = False
