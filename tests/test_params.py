from __future__ import annotations

import threading

import pytest

from ltsd.errors import ConfigError
from ltsd.params import LiveParams, ParamStore, registry


def test_registry_lists_every_live_parameter_with_docs():
    names = [info.name for info in registry()]
    assert names == ["fit", "grayscale", "blur_factor", "brightness", "contrast"]
    assert all(info.spec.doc for info in registry())


def test_set_validates_and_reset_restores_the_configured_values():
    store = ParamStore(LiveParams(blur_factor=8.0))
    assert store.set("blur_factor", 2) == 2.0
    with pytest.raises(ConfigError, match="blur_factor"):
        store.set("blur_factor", 100.0)
    with pytest.raises(ConfigError, match="unknown parameter"):
        store.set("zoom", 1.0)
    assert store.snapshot().blur_factor == 2.0
    store.reset()
    assert store.snapshot().blur_factor == 8.0


def test_snapshots_are_never_half_updated_under_concurrent_writes():
    store = ParamStore(LiveParams())
    stop = threading.Event()

    def writer() -> None:
        value = 0.0
        while not stop.is_set():
            value = (value + 0.01) % 1.0
            store.set("brightness", value)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(10_000):
            snapshot = store.snapshot()
            assert -1.0 <= snapshot.brightness <= 1.0 and snapshot.fit == "crop"
    finally:
        stop.set()
        thread.join()
