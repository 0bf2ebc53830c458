"""Knobs that pick up: MIDI controllers' "soft takeover" for the 0..1 knob addresses.

A hardware knob has a position of its own. After ltsd changes a value by itself — a reset, a
recall, the page, another client, a plain-value message — the knob no longer sits where the
value is, and its next touch would jump the parameter there. So, per parameter: until something
else changes it, every knob moves it (nothing to pick up yet); after that, a knob moves it only
once it reaches the value (within TOLERANCE) or crosses it between two of its own messages; from
then on it follows that knob, until something else changes the value again. Echoes of every
change go out as before (OSC subscribers, LISTEN), so motorised faders and LED rings show where
the value went. `osc.takeover: jump` turns this off.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

TOLERANCE = 0.02  # of the knob's travel: "reaches" on a controller with 128 steps
REMEMBERED = 4096  # (parameter, knob) positions kept; the oldest forgotten beyond


class Pickup:
    def __init__(self) -> None:
        self._holders: dict[str, set[Hashable] | None] = {}  # None: every knob (no change yet)
        self._positions: OrderedDict[tuple[str, Hashable], float] = OrderedDict()
        self._lock = threading.Lock()
        self._moving = threading.local()  # the parameter a knob is setting on this thread

    def admits(self, name: str, knob: Hashable, position: float, value: float) -> bool:
        """Whether `knob` at `position` may move parameter `name`, now at `value` (both 0..1);
        remembers the position either way."""
        with self._lock:
            previous = self._positions.pop((name, knob), None)
            self._positions[(name, knob)] = position
            while len(self._positions) > REMEMBERED:
                self._positions.popitem(last=False)
            holders = self._holders.get(name)
            free = holders is None or knob in holders  # nothing to pick up, or holds it already
            reached = abs(position - value) <= TOLERANCE
            low, high = sorted((position, position if previous is None else previous))
            crossed = low <= value <= high
            if not (free or reached or crossed):
                return False
            self._holders[name] = {knob}
            return True

    def moving(self, name: str) -> _Moving:
        """`with pickup.moving(name):` around the knob's own change, so it is not taken for
        something else changing the value."""
        return _Moving(self._moving, name)

    def changed(self, name: str, value: object = None) -> None:
        """A ParamStore listener: a change not made by the knob that holds `name` lets go."""
        if getattr(self._moving, "name", None) == name:
            return
        with self._lock:
            self._holders[name] = set()


class _Moving:
    def __init__(self, local: threading.local, name: str) -> None:
        self.local, self.name = local, name

    def __enter__(self) -> None:
        self.local.name = self.name

    def __exit__(self, *_: object) -> None:
        self.local.name = None
