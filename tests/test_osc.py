"""OSC over real UDP against a running daemon, real NDI to see the effect, and hostile input."""

from __future__ import annotations

import json
import math
import random
import socket
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from ltsd.config import Config, OscConfig
from ltsd.control.commands import Controls
from ltsd.control.osc import OscServer, latest_changes, norm_address, param_address
from ltsd.control.oscquery import instance_name, namespace
from ltsd.harness.receiver import NdiReceiver
from ltsd.library import ModelLibrary
from ltsd.params import PARAMS, LiveParams, ParamInfo, ParamStore
from ltsd.pipeline import OutputPlan, Pipeline
from ltsd.sinks.ndi import NdiSink
from ltsd.sources import open_source
from tests.conftest import MODEL_RGB, Processes, free_udp_port, unique_name
from tests.helpers.models import TEAL, two_constant_worlds, write_constant_model
from tests.helpers.osc_client import OscPeer
from tests.osc_strategies import datagrams, deep_bundle

SMALL_SCENE = "synthetic:\n  width: 160\n  height: 90\n  fps: 30\n"


def other_value(info: ParamInfo) -> Any:
    """A valid value different from the default, for any registry entry."""
    if info.kind is bool:
        return not info.default
    if info.spec.choices is not None:
        return next(choice for choice in info.spec.choices if choice != info.default)
    middle = (info.spec.minimum + info.spec.maximum) / 2
    return middle if middle != info.default else info.spec.maximum


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    """A running ltsd with two constant-colour models: its OSC and OSCQuery ports, NDI name."""
    folder = tmp_path_factory.mktemp("osc")
    models = folder / "models"
    two_constant_worlds(models)
    config = folder / "config.yaml"
    media = folder / "media"
    media.mkdir()
    # knobs jump here: these tests check that every address reaches its parameter (a knob after
    # a plain-value message would otherwise have to pick the value up: tests/test_pickup.py)
    config.write_text(SMALL_SCENE + f"source:\n  media_dirs: [{str(media)!r}]\n"
                      "osc:\n  takeover: jump\n")  # fmt: skip
    output = unique_name("osc")
    processes = Processes()
    try:  # the daemon must not outlive a failed set-up either
        ltsd = processes.controlled("--config", str(config), "--models-dir", str(models),
                                    "--model", "magenta", "--ndi-name", output)  # fmt: skip
        yield {"peer": ltsd.peer, "port": ltsd.osc_port, "query_port": ltsd.web_port,
               "ndi": output, "models": models, "process": ltsd.process,
               "media": media}  # fmt: skip
        ltsd.peer.close()
    finally:
        processes.stop_all()


def test_every_parameter_address_changes_the_live_state(daemon):
    peer: OscPeer = daemon["peer"]
    for info in PARAMS.values():
        address = param_address("/ltsd", info)
        value = other_value(info)
        peer.send(address, value)
        reported = peer.status()[address]
        assert reported == pytest.approx(as_replied(value)), address
        knob = norm_address("/ltsd", info) if info.kind is bool else address + "/norm"
        peer.send(knob, 1.0)  # both spellings of the 0..1 knob address
        top = True if info.kind is bool else (info.spec.choices or [info.spec.maximum])[-1]
        assert peer.status()[address] == pytest.approx(as_replied(top)), knob
    peer.send("/ltsd/reset")
    state = peer.status()
    for info in PARAMS.values():
        assert state[param_address("/ltsd", info)] == pytest.approx(as_replied(info.default))


def as_replied(value: Any) -> Any:
    """What a reply carries for `value`: booleans as numbers 0/1 (osc.booleans: numbers)."""
    return int(value) if isinstance(value, bool) else value


def test_model_addresses_switch_by_name_index_and_cycle(daemon):
    peer: OscPeer = daemon["peer"]
    assert peer.status()["/ltsd/status/models"] == ["magenta", "teal"]
    peer.send("/ltsd/model", "teal")
    assert peer.status()["/ltsd/status/model"] == "teal"
    peer.send("/ltsd/model/index", 0)
    assert peer.status()["/ltsd/status/model"] == "magenta"
    peer.send("/ltsd/model/next")
    assert peer.status()["/ltsd/status/model"] == "teal"
    peer.send("/ltsd/model/prev")
    assert peer.status()["/ltsd/status/model"] == "magenta"


def test_a_model_file_added_while_running_is_available_without_restart(daemon):
    peer: OscPeer = daemon["peer"]
    write_constant_model(daemon["models"], "zz-late", (200, 200, 20))
    try:
        assert "zz-late" in peer.status()["/ltsd/status/models"]
        peer.send("/ltsd/model", "zz-late")
        assert peer.status()["/ltsd/status/model"] == "zz-late"
    finally:
        peer.send("/ltsd/crossfade", 0.0)
        peer.send("/ltsd/model", "magenta")
        peer.send("/ltsd/reset")
        (daemon["models"] / "zz-late.safetensors").unlink()


def test_refusals_answer_an_error_to_the_sender_and_keep_the_state(daemon):
    peer: OscPeer = daemon["peer"]
    before = peer.status()
    cases = [
        ("/ltsd/pre/contrast", (float("nan"),)),
        ("/ltsd/pre/fit", ("stretch",)),
        ("/ltsd/model", ("no-such-world",)),
        ("/ltsd/model/index", (99,)),
        ("/ltsd/source", ("webcam:0",)),
        ("/ltsd/nonsense", (1,)),
        ("/ltsd/mix", ()),
    ]
    for address, values in cases:
        peer.send(address, *values)
        errors = peer.messages(until="/ltsd/error", timeout_s=3)
        assert errors and errors[-1][0] == "/ltsd/error" and errors[-1][1][0] == address
    after = peer.status()
    assert {k: v for k, v in after.items() if "/status/" not in k} == {
        k: v for k, v in before.items() if "/status/" not in k
    }


def test_subscribers_get_echoes_and_status_once_a_second(daemon):
    peer: OscPeer = daemon["peer"]
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    peer.send("/ltsd/subscribe", port, "127.0.0.1")
    peer.send("/ltsd/pre/brightness", 0.125)
    heard: dict[str, list[Any]] = {}
    fastest = 0.0  # frames may not flow yet in the first status second on a loaded machine
    deadline = time.monotonic() + 10
    status_lines = {f"/ltsd/status/{name}" for name in ("fps", "latency", "model", "source")}
    wanted = {"/ltsd/pre/brightness", *status_lines}
    while time.monotonic() < deadline and not (wanted <= set(heard) and fastest > 0):
        try:
            message = OscMessage(listener.recvfrom(65536)[0])
        except TimeoutError:
            continue
        heard.setdefault(message.address, list(message.params))
        if message.address == "/ltsd/status/fps":
            fastest = max(fastest, message.params[0])
    peer.send("/ltsd/unsubscribe", port, "127.0.0.1")
    peer.status()  # the unsubscribe has been handled once this answer arrives
    while True:  # drain what was sent before it
        try:
            listener.recvfrom(65536)
        except TimeoutError:
            break
    peer.send("/ltsd/pre/brightness", 0.0)
    peer.status()
    try:
        stray = OscMessage(listener.recvfrom(65536)[0]).address
    except TimeoutError:
        stray = None
    listener.close()
    assert stray is None, f"unsubscribed target still got {stray}"
    assert heard["/ltsd/pre/brightness"] == [pytest.approx(0.125)]
    assert fastest > 0
    assert heard["/ltsd/status/model"] == ["magenta"]
    assert heard["/ltsd/status/source"] == ["synthetic"]


def test_bypass_mix_and_model_switch_visibly_change_the_ndi_output(daemon):
    peer: OscPeer = daemon["peer"]
    receiver = NdiReceiver(daemon["ndi"])

    def colour_after(*changes: tuple[str, Any]) -> np.ndarray:
        for address, value in changes:
            peer.send(address, value)
        peer.status()  # the changes have been applied once the status answer comes back
        frames = receiver.frames(count=8, timeout_s=10)
        return frames[-1].pixels[:, :, [2, 1, 0]].reshape(-1, 3).mean(axis=0)

    try:
        # start from a known cut: earlier tests may have left a crossfade running
        peer.send("/ltsd/crossfade", 0.0)
        peer.send("/ltsd/model", "magenta")
        time.sleep(1.0)
        assert np.allclose(colour_after(("/ltsd/mix", 1.0)), MODEL_RGB, atol=12)
        seen = colour_after(("/ltsd/bypass", True))
        assert np.ptp(seen) < 12 and not np.allclose(seen, MODEL_RGB, atol=30), "grey input"
        half = colour_after(("/ltsd/bypass", False), ("/ltsd/mix", 0.5))
        assert np.allclose(half, (seen + np.array(MODEL_RGB)) / 2, atol=14)
        teal = colour_after(("/ltsd/mix", 1.0), ("/ltsd/model", "teal"))
        assert np.allclose(teal, TEAL, atol=12)

        peer.send("/ltsd/crossfade", 3.0)
        peer.send("/ltsd/model", "magenta")
        during = receiver.frames(count=30, timeout_s=10)
        colours = [f.pixels[:, :, [2, 1, 0]].reshape(-1, 3).mean(axis=0) for f in during]
        between = [c for c in colours if TEAL[0] + 20 < c[0] < MODEL_RGB[0] - 20]
        assert between, "crossfade frames must lie between the two models' outputs"
        low, high = np.minimum(MODEL_RGB, TEAL) - 12, np.maximum(MODEL_RGB, TEAL) + 12
        assert all(((c >= low) & (c <= high)).all() for c in between)
    finally:
        receiver.close()
        peer.send("/ltsd/reset")
        peer.send("/ltsd/model", "magenta")


def test_oscquery_namespace_uses_the_proposal_fields_and_agrees_with_status(daemon):
    base = f"http://127.0.0.1:{daemon['query_port']}"
    peer: OscPeer = daemon["peer"]
    peer.send("/ltsd/pre/blur_factor", 5.0)
    state = peer.status()
    host = json.loads(urllib.request.urlopen(base + "/?HOST_INFO", timeout=5).read())
    assert host["OSC_PORT"] == daemon["port"] and host["OSC_TRANSPORT"] == "UDP"
    tree = json.loads(urllib.request.urlopen(base + "/", timeout=5).read())
    allowed = {"FULL_PATH", "CONTENTS", "TYPE", "VALUE", "RANGE", "ACCESS", "DESCRIPTION",
               "UNIT", "CLIPMODE", "TAGS", "EXTENDED_TYPE", "CRITICAL"}  # fmt: skip

    def walk(node: dict) -> list[dict]:
        assert set(node) <= allowed, set(node) - allowed
        return [node, *(n for child in node.get("CONTENTS", {}).values() for n in walk(child))]

    leaves = {node["FULL_PATH"]: node for node in walk(tree) if "TYPE" in node}
    for info in PARAMS.values():
        address = param_address("/ltsd", info)
        assert leaves[address]["VALUE"] == [pytest.approx(state[address])], address
        assert leaves[address]["ACCESS"] == 3 and leaves[address]["DESCRIPTION"]
    value = json.loads(
        urllib.request.urlopen(base + "/ltsd/pre/blur_factor?VALUE", timeout=5).read()
    )
    assert value == {"VALUE": [5.0]}
    peer.send("/ltsd/reset")


def test_oscquery_is_advertised_over_mdns_on_loopback(daemon):
    from zeroconf import Zeroconf

    browser = Zeroconf(interfaces=["127.0.0.1"])  # the daemon listens on loopback only
    try:
        name = f"{instance_name(socket.gethostname(), daemon['query_port'])}._oscjson._tcp.local."
        info = browser.get_service_info("_oscjson._tcp.local.", name, timeout=5000)
    finally:
        browser.close()
    assert info is not None, f"{name} not found over mDNS"
    assert info.port == daemon["query_port"] and info.parsed_addresses() == ["127.0.0.1"]


def test_a_flood_of_garbage_over_udp_leaves_frames_and_status_working(daemon):
    peer: OscPeer = daemon["peer"]
    rng = random.Random(7)
    for index in range(3000):
        size = rng.choice([0, 1, 4, 8, 16, 64, 512, 1400])
        peer.send_raw(bytes(rng.getrandbits(8) for _ in range(size)))
        if index % 500 == 0:
            peer.send_raw(deep_bundle(3000))
    peer.messages(until="(drain)", timeout_s=1.0)
    state = peer.status()
    assert daemon["process"].poll() is None
    for info in PARAMS.values():
        assert_in_range(info, state[param_address("/ltsd", info)])
    receiver = NdiReceiver(daemon["ndi"])
    assert len(receiver.frames(count=5, timeout_s=10)) == 5
    receiver.close()


def assert_in_range(info: ParamInfo, value: Any) -> None:
    if info.kind is bool:
        assert value in (0, 1) and not isinstance(value, float), value  # booleans as numbers
    elif info.spec.choices is not None:
        assert value in info.spec.choices
    else:
        assert math.isfinite(value) and info.spec.minimum <= value <= info.spec.maximum


@pytest.fixture(scope="module")
def in_process_server(tmp_path_factory):
    """A real OscServer on an ephemeral port over a real, idle pipeline, for fast fuzzing."""
    models = tmp_path_factory.mktemp("fuzz")
    two_constant_worlds(models)
    config = Config()
    library = ModelLibrary(models, torch.device("cpu"), 64.0)
    params = ParamStore(LiveParams())
    sink = NdiSink(unique_name("fuzz"))
    pipeline = Pipeline(open_source(config), library.get("magenta"), params, sink,
                        OutputPlan(None, "hold", 1.0), torch.device("cpu"))  # fmt: skip
    controls = Controls(pipeline, library, params, config, open_source)
    server = OscServer(OscConfig(port=free_udp_port()), controls)
    server.start()
    yield server
    server.stop()
    sink.close()


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=datagrams)
def test_no_datagram_can_raise_or_push_a_parameter_out_of_range(in_process_server, batch: bytes):
    in_process_server.handle_datagram(batch, ("127.0.0.2", 9))  # its own reply budget
    targets = in_process_server.controls.params.targets()
    for info in PARAMS.values():
        assert_in_range(info, getattr(targets, info.name))
    assert in_process_server.controls.pipeline.model.name in ("magenta", "teal")


def test_clients_outside_the_allow_list_are_dropped_and_counted(in_process_server):
    server = OscServer(OscConfig(port=free_udp_port(), allow=("10.0.0.0/8",)),
                       in_process_server.controls)  # fmt: skip
    datagram = OscMessageBuilder("/ltsd/mix").build().dgram
    server.handle_datagram(datagram, ("127.0.0.1", 5000))
    server.handle_datagram(datagram, ("10.1.2.3", 5000))
    assert server.counters.not_allowed == 1 and server.counters.received == 2


def test_latest_changes_keeps_the_last_change_per_parameter_between_barriers():
    keys = {"/b": "blur", "/b/norm": "blur", "/c": "contrast"}
    client = ("127.0.0.1", 9)
    sent = [("/b", (1,)), ("/c", (1,)), ("/b", (2,)), ("/reset", ()), ("/b", (3,)),
            ("/b/norm", (0.5,))]  # fmt: skip
    kept = latest_changes([(address, args, client) for address, args in sent], keys)
    assert [(address, args) for address, args, _ in kept] == [
        ("/c", (1,)), ("/b", (2,)), ("/reset", ()), ("/b/norm", (0.5,))
    ]  # fmt: skip


def test_a_batch_applies_the_last_valid_value_and_answers_every_refusal(in_process_server):
    server = in_process_server
    server.controls.reset()
    blur = param_address(server.prefix, PARAMS["blur_factor"])
    contrast = param_address(server.prefix, PARAMS["contrast"])
    replies = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    replies.bind(("127.0.0.1", 0))
    replies.settimeout(2.0)
    sent = [(blur, 4.0), (blur, math.nan), (blur, 7.0), (contrast, "junk"), (blur, "8")]
    batch = [(_message(address, value), replies.getsockname()) for address, value in sent]
    superseded = server.counters.superseded
    server.handle_datagrams(batch)
    errors = [OscMessage(replies.recv(65536)) for _ in range(2)]
    replies.close()
    assert sorted(error.params[0] for error in errors) == sorted([blur, contrast])
    assert server.controls.params.targets().blur_factor == 8.0
    assert server.counters.superseded == superseded + 2  # 4.0 and 7.0 never applied


def _message(address: str, value: Any) -> bytes:
    builder = OscMessageBuilder(address)
    builder.add_arg(value)
    return builder.build().dgram


def test_docs_osc_md_is_generated_from_the_registry_and_the_coercion_functions():
    from ltsd.control.docs import coercion_table, osc_reference

    committed = (Path(__file__).parent.parent / "docs" / "osc.md").read_text()
    assert osc_reference() in committed, "docs/osc.md is stale: run python -m ltsd.control.docs"
    assert coercion_table() in committed, "docs/osc.md is stale: run python -m ltsd.control.docs"


def test_namespace_lists_every_route_but_aliases_and_reply_plumbing(in_process_server):
    nodes: dict[str, dict] = {}

    def walk(node: dict) -> None:
        nodes[node["FULL_PATH"]] = node
        for child in node.get("CONTENTS", {}).values():
            walk(child)

    walk(namespace(in_process_server))
    for address, route in in_process_server.routes.items():
        controllable = address in nodes and "TYPE" in nodes[address]  # else absent or a folder
        assert controllable == (route.in_tree and route.alias_of is None), address


def test_source_address_switches_the_source_while_output_keeps_flowing(daemon):
    from PIL import Image

    peer: OscPeer = daemon["peer"]
    stills = daemon["media"] / "stills"
    stills.mkdir()
    Image.new("RGB", (160, 90), (200, 200, 200)).save(stills / "a.png")
    receiver = NdiReceiver(daemon["ndi"])
    try:
        peer.send("/ltsd/source", f"images:{stills}")
        assert peer.status()["/ltsd/status/source"] == f"images:{stills}"
        assert len(receiver.frames(count=10, timeout_s=10)) == 10
        peer.send("/ltsd/source", "synthetic")
        assert peer.status()["/ltsd/status/source"] == "synthetic"
        assert len(receiver.frames(count=10, timeout_s=10)) == 10
    finally:
        receiver.close()
        peer.send("/ltsd/source", "synthetic")
