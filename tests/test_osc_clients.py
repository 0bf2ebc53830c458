"""ltsd as real controllers see it: clients that send from one port and listen on another,
momentary buttons, python-oscquery 0.4.0 reading the OSCQuery tree found over mDNS, two daemons
on one host, and docs/osc.md's recipes replayed literally with liblo's oscsend and oscdump."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from ltsd.control.oscquery import announced_addresses, instance_name
from tests.conftest import Processes, free_udp_port, unique_name
from tests.helpers.models import two_constant_worlds, write_constant_model
from tests.helpers.osc_client import OscPeer

SMALL_SCENE = "synthetic:\n  width: 160\n  height: 90\n  fps: 30\n"


def start(processes: Processes, folder: Path, models: Path) -> dict[str, Any]:
    config = folder / "config.yaml"
    config.write_text(SMALL_SCENE)
    ltsd = processes.controlled("--config", str(config), "--models-dir", str(models),
                                "--model", "magenta", "--ndi-name",
                                unique_name("clients"))  # fmt: skip
    return {"port": ltsd.osc_port, "query_port": ltsd.web_port, "process": ltsd.process,
            "peer": ltsd.peer}  # fmt: skip


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clients")
    models = folder / "models"
    two_constant_worlds(models)
    processes = Processes()
    try:
        running = start(processes, folder, models)
        yield {**running, "models": models, "folder": folder, "processes": processes}
        running["peer"].close()
    finally:
        processes.stop_all()


class Listener:
    """A UDP port that only listens, as a TouchDesigner OSC In DAT or Max's [udpreceive]."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]

    def messages(self, seconds: float, until: str | None = None) -> list[tuple[str, list[Any]]]:
        heard = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.socket.settimeout(max(0.01, min(0.2, deadline - time.monotonic())))
            try:
                message = OscMessage(self.socket.recvfrom(65536)[0])
            except TimeoutError:
                continue
            heard.append((message.address, list(message.params)))
            if message.address == until:
                break
        return heard

    def close(self) -> None:
        self.socket.close()


def send_from(sock: socket.socket, port: int, address: str, *values: Any) -> None:
    builder = OscMessageBuilder(address)
    for value in values:
        builder.add_arg(value)
    sock.sendto(builder.build().dgram, ("127.0.0.1", port))


def changes(heard: list[tuple[str, list[Any]]]) -> list[tuple[str, list[Any]]]:
    """Without the once-a-second status lines."""
    return [(address, values) for address, values in heard if "/status/" not in address]


def test_status_port_is_answered_at_that_port_for_a_client_that_only_sends(daemon):
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # sends; nobody reads its port
    sender.bind(("127.0.0.1", 0))
    listener = Listener()
    try:
        send_from(sender, daemon["port"], "/ltsd/status", listener.port)
        heard = dict(
            (address, values) for address, values in listener.messages(5, "/ltsd/status/end")
        )
        assert "/ltsd/status/end" in heard and heard["/ltsd/status/models"] == ["magenta", "teal"]
        assert heard["/ltsd/bypass"] == [0], "booleans go out as numbers"
        sender.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sender.recvfrom(65536)  # the sender's own port got nothing
        send_from(sender, daemon["port"], "/ltsd/status", listener.port, "10.1.2.3")
        assert "/ltsd/status/end" not in dict(listener.messages(1.0)), "no reflection"
    finally:
        sender.close()
        listener.close()


def test_a_subscriber_hears_each_change_once_with_errors_and_numbers(daemon):
    peer: OscPeer = daemon["peer"]
    listener = Listener()
    try:
        peer.send("/ltsd/subscribe", listener.port, "localhost")
        peer.send("/ltsd/subscribe", listener.port, "127.0.0.1")  # localhost again: one target
        for address, value in (
            ("/ltsd/pre/blur_factor", True),  # T is no number: refused
            ("/ltsd/bypass", 1),
            ("/ltsd/bypass", 1.0),  # unchanged: not echoed
            ("/ltsd/pre/fit", "1"),  # a choice by its index as text
            ("/ltsd/bypass", 0),
        ):
            peer.send(address, value)
            time.sleep(0.3)  # one batch each (in one batch only the last change of each counts)
        heard = changes(listener.messages(2))
    finally:
        peer.send("/ltsd/unsubscribe", listener.port, "localhost")
        peer.send("/ltsd/reset")
        listener.close()
    errors = [values for address, values in heard if address == "/ltsd/error"]
    assert len(errors) == 1 and errors[0][0] == "/ltsd/pre/blur_factor", heard
    echoes = [(address, values) for address, values in heard if address != "/ltsd/error"]
    assert echoes == [
        ("/ltsd/bypass", [1]),
        ("/ltsd/pre/fit", ["letterbox"]),
        ("/ltsd/bypass", [0]),
    ], heard


def test_a_press_and_release_steps_one_world(daemon):
    peer: OscPeer = daemon["peer"]
    peer.send("/ltsd/model", "magenta")
    assert peer.status()["/ltsd/status/model"] == "magenta"
    for press, release in ((1, 0), (1.0, 0.0), (True, False), ("1", "0")):
        before = peer.status()["/ltsd/status/model"]
        peer.send("/ltsd/models/next", press)
        peer.send("/ltsd/models/next", release)
        after = peer.status()["/ltsd/status/model"]
        assert after != before, (press, release)
    peer.send("/ltsd/model/next")  # the older spelling, a plain bang
    assert peer.status()["/ltsd/status/model"] == "teal"
    peer.send("/ltsd/model", "magenta")


def fetch(port: int, method: str, path: str, connection: http.client.HTTPConnection) -> Any:
    connection.request(method, path)
    response = connection.getresponse()
    body = response.read()
    return response.status, response.version, body


def test_oscquery_speaks_http_1_1_and_head(daemon):
    connection = http.client.HTTPConnection("127.0.0.1", daemon["query_port"], timeout=5)
    try:  # two requests on one connection: it stays open
        status, version, body = fetch(daemon["query_port"], "GET", "/ltsd/mix", connection)
        assert status == 200 and version == 11 and json.loads(body)["TYPE"] == "f"
        status, _, body = fetch(daemon["query_port"], "HEAD", "/ltsd/mix", connection)
        assert status == 200 and body == b""
        status, _, _ = fetch(daemon["query_port"], "GET", "/ltsd/nothing", connection)
        assert status == 404
    finally:
        connection.close()


def browse(
    service_type: str, count: int = 99, timeout_s: float = 10.0, port: int | None = None
) -> list[Any]:
    """Every ltsd announced as `service_type` on loopback, through a real zeroconf browser:
    once `count` are resolved, or the one on `port` is (other tests' daemons, on the other
    worker, announce too and may answer first), or at `timeout_s`."""
    from zeroconf import ServiceBrowser, ServiceStateChange, Zeroconf

    zeroconf = Zeroconf(interfaces=["127.0.0.1"])
    names: set[str] = set()

    def on_change(zeroconf, service_type, name, state_change) -> None:
        if state_change is ServiceStateChange.Added and name.startswith("ltsd-"):
            names.add(name)

    browser = ServiceBrowser(zeroconf, service_type, handlers=[on_change])
    resolved: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for name in set(names) - resolved.keys():
                resolved[name] = zeroconf.get_service_info(service_type, name, timeout=3000)
            infos = [info for info in resolved.values() if info]
            if len(infos) >= count or any(info.port == port for info in infos):
                break
            time.sleep(0.1)
        return [info for info in resolved.values() if info]
    finally:
        browser.cancel()
        zeroconf.close()


def test_python_oscquery_finds_ltsd_over_mdns_and_reads_every_node(daemon):
    from pythonoscquery.osc_query_client import OSCQueryClient

    found = [info for info in browse("_oscjson._tcp.local.", port=daemon["query_port"])
             if info.port == daemon["query_port"]]  # fmt: skip
    assert found, "ltsd not found over mDNS"
    info = found[0]
    assert info.name == f"{instance_name(socket.gethostname(), daemon['query_port'])}" + (
        "._oscjson._tcp.local."
    )
    assert info.properties[b"osc_port"] == str(daemon["port"]).encode()
    client = OSCQueryClient(info)
    assert client.get_host_info().osc_port == daemon["port"]
    root = client.query_node("/")  # raises on a node the library thinks is out of spec
    nodes = {node.full_path: node for node in root}
    for path in nodes:
        assert client.query_node(path) is not None, path  # each node on its own, too
    tree = client.last_json
    for path, node in nodes.items():
        assert not (node.contents and node.value), f"{path} is a parameter and a folder"
    assert nodes["/ltsd/pre/blur_factor"].contents is None, "parameters are leaves"
    assert nodes["/ltsd/norm/pre/blur_factor"].value is not None
    model = client.query_node("/ltsd/model")
    assert model.value == ["magenta"]
    assert client.last_json["RANGE"] == [{"VALS": ["magenta", "teal"]}], "a menu of worlds"
    for command in ("/ltsd/models/next", "/ltsd/models/prev", "/ltsd/reset"):
        client.query_node(command)
        assert client.last_json["TYPE"] == "N" and client.last_json["ACCESS"] == 2, command
    del tree


def test_a_world_added_while_running_is_in_the_model_menu(daemon):
    from urllib.request import urlopen

    url = f"http://127.0.0.1:{daemon['query_port']}/ltsd/model?RANGE"
    write_constant_model(daemon["models"], "zz-new", (10, 200, 10))
    try:
        assert json.loads(urlopen(url, timeout=5).read())["RANGE"][0]["VALS"][-1] == "zz-new"
    finally:
        (daemon["models"] / "zz-new.safetensors").unlink()


def test_two_daemons_on_one_host_announce_distinct_names(daemon):
    second = start(daemon["processes"], daemon["folder"], daemon["models"])
    try:
        for service_type, port_of in (("_oscjson._tcp.local.", "query_port"),
                                      ("_osc._udp.local.", "port")):  # fmt: skip
            # every ltsd announced within 5 s: others (from other tests) may answer first
            infos = browse(service_type, timeout_s=5)
            ports = {info.port: info.name for info in infos}
            assert daemon[port_of] in ports and second[port_of] in ports, (service_type, ports)
            assert ports[daemon[port_of]] != ports[second[port_of]]
    finally:
        second["peer"].close()
        second["process"].terminate()
        second["process"].communicate(timeout=20)


def test_announced_addresses_are_the_lan_ones_when_listening_everywhere():
    interfaces = ["127.0.0.1", "127.0.1.1", "192.168.1.20", "169.254.9.9", "10.8.0.3", "::1"]
    assert announced_addresses("0.0.0.0", interfaces) == ["10.8.0.3", "192.168.1.20"]
    assert announced_addresses("", ["127.0.0.1"]) == ["127.0.0.1"], "nothing else to offer"
    assert announced_addresses("192.168.1.20", interfaces) == ["192.168.1.20"]
    assert announced_addresses("localhost", interfaces) == ["127.0.0.1"]
    assert instance_name("stage-pc.local", 9001) != instance_name("stage-pc.local", 9011)
    assert instance_name("stage-pc", 9001) != instance_name("foh-pc", 9001)


# --- docs/osc.md's recipes, replayed literally with liblo-tools ---

LIBLO = shutil.which("oscsend") and shutil.which("oscdump")


class OscDump:
    """`oscdump -L PORT` running, its lines collected as they come."""

    def __init__(self, port: int) -> None:
        self.process = subprocess.Popen(
            ["oscdump", "-L", str(port)], stdout=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self._read_up_to = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        time.sleep(0.3)  # listening before anything is sent

    def _read(self) -> None:
        for line in self.process.stdout:  # "TIMETAG /address types values"
            self.lines.append(re.sub(r"^[0-9a-f]+\.[0-9a-f]+ ", "", line.strip()))

    def within(self, seconds: float) -> list[str]:
        """Lines that arrived since the last call, waiting `seconds` more for the rest."""
        time.sleep(seconds)
        end = len(self.lines)
        start, self._read_up_to = self._read_up_to, end
        return self.lines[start:end]

    def changes_within(self, seconds: float) -> list[str]:
        """The same without the once-a-second status lines."""
        return [line for line in self.within(seconds) if "/status/" not in line]

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=5)


def oscsend(port: int, *arguments: str) -> None:
    subprocess.run(["oscsend", "127.0.0.1", str(port), *arguments], check=True, timeout=10)


@pytest.fixture
def dump(daemon):
    if not LIBLO:
        pytest.skip("liblo-tools (oscsend, oscdump) not installed: apt-get install liblo-tools")
    listening = OscDump(free_udp_port())
    port = int(listening.process.args[2])
    oscsend(daemon["port"], "/ltsd/subscribe", "i", str(port))
    listening.changes_within(0.5)
    yield listening, port
    oscsend(daemon["port"], "/ltsd/unsubscribe", "i", str(port))
    oscsend(daemon["port"], "/ltsd/reset")
    oscsend(daemon["port"], "/ltsd/model", "s", "magenta")
    listening.close()


def test_touchdesigner_recipe_with_oscsend_and_oscdump(daemon, dump):
    oscdump, port = dump
    oscsend(daemon["port"], "/ltsd/status", "i", str(port))
    state = oscdump.within(1.0)
    assert any(line.startswith("/ltsd/status/end") for line in state) and any(
        line.startswith("/ltsd/pre/blur_factor f 24") for line in state
    ), state
    assert "/ltsd/bypass i 0" in state, "booleans as numbers"
    oscsend(daemon["port"], "/ltsd/pre/blur_factor", "f", "12")
    assert [line.split(".")[0] for line in oscdump.changes_within(0.6)] == [
        "/ltsd/pre/blur_factor f 12"
    ]
    oscsend(daemon["port"], "/ltsd/model", "s", "teal")
    assert oscdump.changes_within(1.0) == ['/ltsd/model s "teal"']


def test_max_recipe_with_oscsend_and_oscdump(daemon, dump):
    oscdump, _ = dump
    oscsend(daemon["port"], "/ltsd/bypass", "i", "1")
    oscsend(daemon["port"], "/ltsd/bypass", "i", "1")  # unchanged: nothing echoed
    assert oscdump.changes_within(0.6) == ["/ltsd/bypass i 1"]
    oscsend(daemon["port"], "/ltsd/models/next", "i", "1")  # press
    oscsend(daemon["port"], "/ltsd/models/next", "i", "0")  # release: nothing
    assert oscdump.changes_within(1.0) == ['/ltsd/model s "teal"']
    oscsend(daemon["port"], "/ltsd/pre/blur_factor", "T")
    refused = oscdump.changes_within(0.6)
    assert len(refused) == 1 and refused[0].startswith('/ltsd/error ss "/ltsd/pre/blur_factor"'), (
        refused
    )


def test_midi_bridge_recipe_with_oscsend_and_oscdump(daemon, dump):
    oscdump, _ = dump
    oscsend(daemon["port"], "/ltsd/norm/pre/contrast", "f", "0.5")
    assert [line.split(".")[0] for line in oscdump.changes_within(0.6)] == [
        "/ltsd/pre/contrast f 2"
    ]
    oscsend(daemon["port"], "/ltsd/models/index", "i", "1")
    assert oscdump.changes_within(1.0) == ['/ltsd/model s "teal"']
    oscsend(daemon["port"], "/ltsd/reset", "i", "127")
    oscsend(daemon["port"], "/ltsd/reset", "i", "0")
    assert [line.split(".")[0] for line in oscdump.changes_within(0.6)] == [
        "/ltsd/pre/contrast f 1"
    ]


def test_the_first_frame_does_not_wait_for_the_mdns_announcement(tmp_path: Path):
    """Registering probes for a name clash, ~1.5 s a service: frames flow before it is done."""
    import select

    pytest.importorskip("zeroconf", reason="zeroconf (the mdns extra) is not installed")
    models = tmp_path / "models"
    write_constant_model(models, "magenta", (200, 40, 200))
    processes = Processes()
    try:
        daemon = processes.controlled("--models-dir", str(models), "--model", "magenta",
                                      "--sink", "null")  # fmt: skip
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("advertised over mDNS" in x for x in lines):
            ready, _, _ = select.select([daemon.process.stderr], [], [], 0.5)
            if ready:
                lines.append(daemon.process.stderr.readline())
        daemon.peer.close()
        live = next(i for i, line in enumerate(lines) if "source live" in line)
        announced = next(i for i, line in enumerate(lines) if "advertised over mDNS" in line)
        assert live < announced, "".join(lines)
    finally:
        processes.stop_all()
