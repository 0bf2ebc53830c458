from __future__ import annotations

import threading

import pytest

from ltsd.errors import ConfigError
from ltsd.params import LiveParams, ParamStore, registry


def test_registry_lists_every_live_parameter_with_docs():
    names = [info.name for info in registry()]
    assert names == [
        "fit", "grayscale", "blur_factor", "brightness", "contrast",
        "auto_exposure", "world_levels", "mix", "bypass", "freeze", "crossfade", "smoothing",
    ]  # fmt: skip
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


def test_controller_values_are_coerced_the_way_clients_send_them():
    store = ParamStore(LiveParams())
    assert store.set("bypass", 1, loose=True) is True  # Max toggle
    assert store.set("bypass", 0.0, loose=True) is False  # TouchDesigner float
    assert store.set("grayscale", "F", loose=True) is False  # bridge string
    assert store.set("blur_factor", "12.5", loose=True) == 12.5
    assert store.set("fit", 1, loose=True) == "letterbox"  # menu index
    assert store.set("contrast", 99.0, loose=True) == 4.0  # clamped into range
    for bad in (float("nan"), float("inf"), "loud", [1]):
        with pytest.raises(ConfigError):
            store.set("brightness", bad, loose=True)
    with pytest.raises(ConfigError):
        store.set("fit", "stretch", loose=True)


def test_norm_maps_zero_to_one_onto_each_range():
    store = ParamStore(LiveParams())
    assert store.set_norm("blur_factor", 0.0) == 1.0
    assert store.set_norm("blur_factor", 1.0) == 64.0
    assert store.set_norm("brightness", 0.75) == 0.5
    assert store.set_norm("freeze", 0.9) is True
    assert store.set_norm("fit", 0.2) == "crop"


def test_smoothing_glides_continuous_params_and_jumps_the_rest():
    store = ParamStore(LiveParams(smoothing=1.0, contrast=1.0))
    store.set("contrast", 2.0)
    store.set("fit", "letterbox")
    assert store.snapshot().fit == "letterbox" and store.snapshot().contrast == 1.0
    after_one_tau = store.advance(1.0).contrast
    assert after_one_tau == pytest.approx(1.0 + (1 - 0.36788), abs=1e-3)
    for _ in range(30):
        store.advance(1.0)
    assert store.snapshot().contrast == 2.0


def test_listeners_hear_every_accepted_change():
    store = ParamStore(LiveParams())
    heard = []
    store.add_listener(lambda name, value: heard.append((name, value)))
    store.set("mix", 0.25)
    with pytest.raises(ConfigError):
        store.set("mix", "x", loose=True)
    assert heard == [("mix", 0.25)]
