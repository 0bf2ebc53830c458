"""The web server's Host and Origin rules: no foreign page or rebound name gets in, and ltsd's own
page and Origin-less clients work as before (issue #25, items 1 and 2)."""

from __future__ import annotations

import asyncio
import http.client
import json

import aiohttp
import pytest

from ltsd.web.guard import Guard, own_names
from tests.conftest import Processes, unique_name
from tests.helpers.models import two_constant_worlds
from tests.test_web import heard_over, osc_bytes

GUARD = Guard(own_names(("show.example",), "ltsd-box-9001"))


@pytest.mark.parametrize(
    ("host", "origin", "secure", "admitted"),
    [
        ("127.0.0.1:9001", None, False, True),  # an OSCQuery client: no Origin
        ("localhost:9001", "http://localhost:9001", False, True),  # the page, same origin
        ("[::1]:9001", "http://[::1]:9001", False, True),
        ("192.168.1.20:9001", "http://192.168.1.20:9001", False, True),  # a LAN address
        ("192.168.1.20:9443", "https://192.168.1.20:9443", True, True),  # the phone over HTTPS
        ("show.example:9001", "http://show.example:9001", False, True),  # web.allowed_hosts
        ("ltsd-box-9001.local:9001", None, False, True),  # the mDNS name
        ("evil.example:9001", None, False, False),  # DNS rebinding
        ("127.0.0.1:9001", "http://evil.example", False, False),  # a foreign page's WebSocket
        ("127.0.0.1:9001", "null", False, False),  # a sandboxed or file: page
        ("127.0.0.1:9001", "http://127.0.0.1:8080", False, False),  # another local server
        ("127.0.0.1:9443", "http://127.0.0.1:9443", True, False),  # scheme differs
        ("127.0.0.1:9001", "http://127.0.0.1:9001@evil.example", False, False),
        ("evil.example:9001", "http://evil.example:9001", False, False),
    ],
)
def test_hosts_and_origins_are_admitted_only_when_they_are_ltsds_own(host, origin, secure,
                                                                     admitted):  # fmt: skip
    assert (GUARD.refusal(host, origin, secure) is None) == admitted


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    folder = tmp_path_factory.mktemp("guard")
    models = folder / "models"
    two_constant_worlds(models)
    config = folder / "config.yaml"
    config.write_text("synthetic:\n  width: 160\n  height: 90\n")
    processes = Processes()
    try:
        ltsd = processes.controlled("--config", str(config), "--models-dir", str(models),
                                    "--model", "magenta", "--ndi-name",
                                    unique_name("guard"))  # fmt: skip
        yield ltsd
        ltsd.peer.close()
    finally:
        processes.stop_all()


def request(port: int, path: str, host: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers={"Host": host})
        reply = connection.getresponse()
        reply.read(1024)
        return reply.status
    finally:
        connection.close()


def mix(port: int) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/ltsd/mix?VALUE")
    value = json.loads(connection.getresponse().read())["VALUE"][0]
    connection.close()
    return value


async def websocket_status(url: str, origin: str | None, send_mix: float | None) -> int:
    headers = {"Origin": origin} if origin else {}
    async with aiohttp.ClientSession() as client:
        try:
            async with client.ws_connect(url, headers=headers) as socket:
                if send_mix is not None:
                    await socket.send_bytes(osc_bytes("/ltsd/mix", send_mix))
                    await heard_over(socket, 1.0)
                return 101
        except aiohttp.WSServerHandshakeError as refused:
            return refused.status


def test_foreign_origins_get_no_websocket_and_change_nothing(daemon):
    port = daemon.web_port
    before = mix(port)
    for path in ("/", "/camera"):
        for origin in ("http://evil.example", "null", f"http://127.0.0.1:{port + 1}"):
            status = asyncio.run(websocket_status(f"ws://127.0.0.1:{port}{path}", origin, 0.77))
            assert status == 403, (path, origin)
    assert mix(port) == before


def test_own_origin_and_no_origin_websockets_still_drive_the_show(daemon):
    port = daemon.web_port
    try:
        for origin, value in ((f"http://127.0.0.1:{port}", 0.25), (None, 0.5),
                              (f"http://localhost:{port}", 0.75)):  # fmt: skip
            url = f"ws://{'localhost' if origin and 'localhost' in origin else '127.0.0.1'}:{port}/"
            assert asyncio.run(websocket_status(url, origin, value)) == 101
            assert mix(port) == pytest.approx(value)
    finally:
        daemon.peer.send("/ltsd/reset")


def test_a_rebound_name_gets_neither_the_tree_the_page_nor_the_streams(daemon):
    port = daemon.web_port
    for path in ("/?HOST_INFO", "/", "/ltsd/mix", "/stream/output.mjpg", "/page/page.js"):
        assert request(port, path, f"evil.example:{port}") == 403, path
        assert request(port, path, f"127.0.0.1:{port}") == 200, path
    assert request(port, "/?HOST_INFO", f"localhost:{port}") == 200
    assert daemon.process.poll() is None
