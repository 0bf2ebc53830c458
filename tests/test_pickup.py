"""Knobs that pick up (issue #26, item 2): after something else moved a value, a 0..1 knob takes
over only once it reaches or crosses it; `osc.takeover: jump` keeps the old behaviour."""

from __future__ import annotations

import time

import pytest

from ltsd.control.pickup import Pickup
from tests.conftest import Processes, unique_name
from tests.helpers.models import two_constant_worlds
from tests.helpers.osc_client import OscPeer

KNOB, OTHER = ("10.0.0.5", 8000), ("10.0.0.6", 8000)


def test_a_knob_moves_freely_until_something_else_changes_the_value():
    pickup = Pickup()
    assert pickup.admits("mix", KNOB, 0.3, 0.9)  # nothing to pick up yet
    pickup.changed("mix")  # a reset, a recall, the page, another client: mix is 0.6 now
    assert not pickup.admits("mix", KNOB, 0.1, 0.6)  # 0.3 → 0.1 did not pass 0.6
    assert not pickup.admits("mix", KNOB, 0.5, 0.6)  # below, not there yet
    assert pickup.admits("mix", KNOB, 0.7, 0.6)  # crossed between two positions
    with pickup.moving("mix"):
        pickup.changed("mix")  # its own change does not let go
    assert pickup.admits("mix", KNOB, 0.2, 0.7)  # it holds the value now: it follows
    assert not pickup.admits("mix", OTHER, 0.9, 0.2)  # another knob must pick it up


def test_reaching_the_value_within_a_step_is_picking_it_up():
    pickup = Pickup()
    pickup.changed("mix")
    assert pickup.admits("mix", KNOB, 0.61, 0.6)  # a first touch right at the value


@pytest.fixture(scope="module")
def daemons(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pickup")
    two_constant_worlds(folder / "models")
    started = {}
    processes = Processes()
    try:
        for takeover in ("pickup", "jump"):
            config = folder / f"{takeover}.yaml"
            config.write_text(f"synthetic:\n  width: 160\n  height: 90\nosc:\n  takeover: "
                              f"{takeover}\n")  # fmt: skip
            started[takeover] = processes.controlled(
                "--config", str(config), "--models-dir", str(folder / "models"),
                "--model", "magenta", "--ndi-name", unique_name(f"pickup-{takeover}"),
            )  # fmt: skip
        yield started
        for ltsd in started.values():
            ltsd.peer.close()
    finally:
        processes.stop_all()


def sweep(ltsd, knob: OscPeer) -> list[float]:
    """Something else sets mix 0.6; then the knob sweeps up from 0.1: mix after each step."""
    ltsd.peer.send("/ltsd/mix", 0.6)
    time.sleep(0.2)
    seen = []
    for position in (0.1, 0.2, 0.3, 0.4, 0.5, 0.65, 0.8, 0.9):
        knob.send("/ltsd/norm/mix", position)
        time.sleep(0.1)
        seen.append(ltsd.peer.status()["/ltsd/mix"])
    return seen


@pytest.mark.parametrize("takeover", ["pickup", "jump"])
def test_a_knob_sweep_over_real_udp(daemons, takeover):
    ltsd = daemons[takeover]
    knob = OscPeer(ltsd.osc_port)  # a second client: its own address and port
    try:
        seen = sweep(ltsd, knob)
    finally:
        knob.close()
    if takeover == "pickup":  # unchanged until the knob crosses 0.6, then it follows
        assert seen == pytest.approx([0.6, 0.6, 0.6, 0.6, 0.6, 0.65, 0.8, 0.9])
    else:
        assert seen == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5, 0.65, 0.8, 0.9])
