"""What one OSC sender can make ltsd send: bounded, so ltsd is never an amplifier.

UDP senders can forge their address, so every reply is a datagram ltsd might be made to fire at a
victim. Within one received batch a sender gets at most a few error replies and one status
reply, however many messages its bundle held; over time each sender has a small budget per
second for each kind (token buckets). What goes over is dropped, not queued.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict

Client = tuple[str, int]

PER_BATCH = {"error": 4, "status": 1}
PER_SECOND = {"error": 20.0, "status": 10.0}
MAX_SENDERS = 1024  # remembered senders; the oldest is forgotten beyond


class ReplyLimiter:
    def __init__(self) -> None:
        self._batch: Counter[tuple[str, str]] = Counter()
        self._buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()

    def new_batch(self) -> None:
        self._batch.clear()

    def allow(self, client: Client, kind: str) -> bool:
        """May `client` get one more reply of `kind` ("error" or "status") now?"""
        key = (client[0], kind)  # by host: changing the source port does not buy more
        self._batch[key] += 1
        return self._batch[key] <= PER_BATCH[kind] and self._take_token(key, PER_SECOND[kind])

    def _take_token(self, key: tuple[str, str], rate: float) -> bool:
        now = time.monotonic()
        tokens, last = self._buckets.pop(key, (rate, now))
        tokens = min(rate, tokens + (now - last) * rate)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > MAX_SENDERS:
            self._buckets.popitem(last=False)
        return allowed
