"""The web server on the OSCQuery port, against a running daemon: OSCQuery LISTEN over a real
WebSocket client (aiohttp's), OSC sent over that socket, the page and its assets, and the
preview streams; the preview's only-while-watched rule on a real PreviewSink."""

from __future__ import annotations

import asyncio
import io
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
import torch
from PIL import Image
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from ltsd.config import WebConfig
from ltsd.sinks.preview import PreviewSink, shrunk
from tests.conftest import (
    MODEL_RGB,
    Processes,
    eventually,
    free_tcp_port,
    free_udp_port,
    unique_name,
)
from tests.helpers.models import two_constant_worlds
from tests.helpers.osc_client import OscPeer
from tests.helpers.oscquery import value_at


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web")
    models = folder / "models"
    two_constant_worlds(models)
    config = folder / "config.yaml"
    config.write_text("synthetic:\n  width: 320\n  height: 180\n  fps: 30\n")
    processes = Processes()
    try:
        ltsd = processes.controlled("--config", str(config), "--models-dir", str(models),
                                    "--model", "magenta", "--ndi-name",
                                    unique_name("web"))  # fmt: skip
        yield {"peer": ltsd.peer, "base": ltsd.base, "process": ltsd.process}
        ltsd.peer.close()
    finally:
        processes.stop_all()


def get(url: str, accept: str | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status, reply.headers.get("Content-Type", ""), reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), b""


def osc_bytes(address: str, *values: Any) -> bytes:
    builder = OscMessageBuilder(address)
    for value in values:
        builder.add_arg(value)
    return builder.build().dgram


async def heard_over(socket: aiohttp.ClientWebSocketResponse, seconds: float) -> list[tuple]:
    """Every OSC message the WebSocket brings within `seconds`."""
    heard = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = await socket.receive(timeout=left)
        except TimeoutError:
            break
        if message.type == aiohttp.WSMsgType.BINARY:
            osc = OscMessage(message.data)
            heard.append((osc.address, *osc.params))
    return heard


def test_host_info_says_listen_and_browsers_get_the_page_while_clients_get_json(daemon):
    status, kind, body = get(daemon["base"] + "/?HOST_INFO")
    assert status == 200 and json.loads(body)["EXTENSIONS"]["LISTEN"] is True
    status, kind, body = get(daemon["base"] + "/", accept="text/html,application/xhtml+xml")
    assert status == 200 and kind.startswith("text/html") and b"<title>ltsd" in body
    status, kind, body = get(daemon["base"] + "/")  # an OSCQuery client: no Accept header
    assert status == 200 and kind == "application/json"
    assert json.loads(body)["CONTENTS"]["ltsd"]["FULL_PATH"] == "/ltsd"
    status, kind, _ = get(daemon["base"] + "/page/page.js")
    assert status == 200 and kind.startswith("text/javascript")


def test_nothing_but_the_pages_own_assets_is_served(daemon):
    for path in ("/page/index.html/../../__init__.py", "/page/..%2f__init__.py",
                 "/page/server.py", "/page/", "/stream/none.mjpg", "/etc/passwd"):  # fmt: skip
        status, _, _ = get(daemon["base"] + path)
        assert status == 404, path
    request = urllib.request.Request(daemon["base"] + "/ltsd/mix", data=b"1", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 405


def test_listen_brings_each_change_as_osc_until_ignore(daemon):
    peer: OscPeer = daemon["peer"]
    url = daemon["base"].replace("http", "ws") + "/"

    async def session() -> tuple[list, list, list]:
        async with aiohttp.ClientSession() as client, client.ws_connect(url) as socket:
            for address in ("/ltsd/pre/contrast", "/ltsd/norm/pre/contrast", "/ltsd/model",
                            "/ltsd/standby", "/ltsd/schedule"):  # fmt: skip
                await socket.send_str(json.dumps({"COMMAND": "LISTEN", "DATA": address}))
            await asyncio.sleep(0.3)
            peer.send("/ltsd/pre/contrast", 2.0)
            peer.send("/ltsd/model", "teal")
            peer.send("/ltsd/standby")
            peer.send("/ltsd/wake")
            first = await heard_over(socket, 3.0)
            await socket.send_str(json.dumps({"COMMAND": "IGNORE", "DATA": "/ltsd/pre/contrast"}))
            await asyncio.sleep(0.3)
            peer.send("/ltsd/pre/contrast", 3.0)
            second = await heard_over(socket, 1.5)
            peer.send("/ltsd/mix", 0.5)  # nobody listens to mix: nothing comes
            third = await heard_over(socket, 1.0)
            return first, second, third

    try:
        first, second, third = asyncio.run(session())
    finally:
        peer.send("/ltsd/reset")
        peer.send("/ltsd/model", "magenta")
    assert ("/ltsd/pre/contrast", 2.0) in first and ("/ltsd/norm/pre/contrast", 0.5) in first
    assert ("/ltsd/model", "teal") in first
    assert ("/ltsd/standby", True) in first and ("/ltsd/standby", False) in first
    assert not [address for address, _ in first if address == "/ltsd/error"]  # all listenable
    _, _, body = get(daemon["base"] + "/ltsd/schedule")  # fired entries come there (none yet)
    assert json.loads(body)["VALUE"] == [""] and json.loads(body)["ACCESS"] == 1
    assert second == [("/ltsd/norm/pre/contrast", 0.75)], "IGNORE stops that address only"
    assert third == []


def test_listen_first_brings_the_current_value_set_before_it(daemon):
    """A knob moved between a client reading the tree and its LISTEN arriving must still reach
    it: the page's slider stayed at 0 when it did not (CI, stop 45)."""
    peer: OscPeer = daemon["peer"]
    url = daemon["base"].replace("http", "ws") + "/"
    peer.send("/ltsd/pre/brightness", 0.5)
    peer.send("/ltsd/bypass", 1)

    async def session() -> list:
        async with aiohttp.ClientSession() as client, client.ws_connect(url) as socket:
            for address in ("/ltsd/pre/brightness", "/ltsd/bypass", "/ltsd/reset"):
                await socket.send_str(json.dumps({"COMMAND": "LISTEN", "DATA": address}))
            return await heard_over(socket, 1.5)

    try:
        assert eventually(lambda: value_at(daemon["base"], "/ltsd/bypass") == [True])
        heard = asyncio.run(session())
    finally:
        peer.send("/ltsd/reset")
    assert ("/ltsd/pre/brightness", 0.5) in heard and ("/ltsd/bypass", True) in heard, heard
    assert not [message for message in heard if message[0] == "/ltsd/reset"], "a bang has none"
    assert len(heard) == 2, heard


def test_osc_over_the_websocket_sets_values_and_hears_its_own_errors(daemon):
    peer: OscPeer = daemon["peer"]
    url = daemon["base"].replace("http", "ws") + "/"

    async def session() -> list:
        async with aiohttp.ClientSession() as client, client.ws_connect(url) as socket:
            await socket.send_bytes(osc_bytes("/ltsd/mix", 0.25))
            await socket.send_bytes(osc_bytes("/ltsd/pre/blur_factor", "lots"))
            return await heard_over(socket, 2.0)

    try:
        heard = asyncio.run(session())
        _, _, body = get(daemon["base"] + "/ltsd/mix?VALUE")
        assert json.loads(body) == {"VALUE": [0.25]}
        assert peer.status()["/ltsd/mix"] == pytest.approx(0.25)
    finally:
        peer.send("/ltsd/reset")
    errors = [message for message in heard if message[0] == "/ltsd/error"]
    assert len(errors) == 1 and errors[0][1] == "/ltsd/pre/blur_factor", heard


def read_jpegs(url: str, count: int) -> list[Image.Image]:
    """The first `count` pictures of a multipart/x-mixed-replace stream."""
    pictures = []
    with urllib.request.urlopen(url, timeout=10) as stream:
        assert stream.headers["Content-Type"].startswith("multipart/x-mixed-replace")
        while len(pictures) < count:
            line = stream.readline()
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
                stream.readline()  # the blank line before the picture
                pictures.append(Image.open(io.BytesIO(stream.read(length))))
    return pictures


def test_preview_streams_what_goes_out_and_what_the_model_sees(daemon):
    output = read_jpegs(daemon["base"] + "/stream/output.mjpg", 2)
    assert output[0].size == (320, 180)  # narrower than preview_width: not shrunk
    colour = np.asarray(output[1].convert("RGB"), dtype=float).reshape(-1, 3).mean(axis=0)
    assert np.abs(colour - MODEL_RGB).max() < 12, "the constant model's colour goes out"
    seen = read_jpegs(daemon["base"] + "/stream/seen.mjpg", 12)  # ~0.8 s: the hand's push eases in
    assert seen[0].size == (64, 64)  # the model's size: the scene, grey and blurred
    pixels = [np.asarray(picture.convert("L"), dtype=float) for picture in seen]
    assert pixels[0].std() > 2, "the table scene, not a flat picture"
    assert np.abs(pixels[0] - pixels[-1]).mean() > 0.2, "the scene moves"


def test_preview_pictures_are_made_only_while_someone_watches():
    preview = PreviewSink(WebConfig(preview_width=320, preview_fps=1000.0))
    made: list[tuple[str, bytes]] = []
    preview.publish = lambda channel, jpeg: made.append((channel, jpeg))
    preview.start()
    try:
        frame = np.full((360, 1280, 4), 128, np.uint8)
        seen = torch.full((1, 3, 64, 64), 0.5)
        for _ in range(5):
            preview.send(frame)
            preview.offer_seen(seen)
        time.sleep(0.3)
        assert made == [], "nobody watches: nothing encoded"
        preview.channels["output"].viewers = 1
        preview.send(frame)
        preview.offer_seen(seen)
        deadline = time.monotonic() + 5
        while not made and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        preview.close()
    assert [channel for channel, _ in made] == ["output"]
    assert Image.open(io.BytesIO(made[0][1])).size == (320, 90)


def test_preview_rate_is_capped_per_channel():
    preview = PreviewSink(WebConfig(preview_fps=10.0))
    channel = preview.channels["output"]
    channel.viewers = 1
    due = [channel.due(int(t * 1e9)) for t in np.arange(1.0, 2.0, 0.01)]  # 100 frames in 1 s
    assert sum(due) == 10


def test_shrunk_keeps_the_channel_order_and_averages_boxes():
    bgrx = np.zeros((4, 8, 4), np.uint8)
    bgrx[:, :4] = (255, 0, 0, 255)  # blue on the left half
    small = shrunk(bgrx, 4)
    assert small.shape == (2, 4, 4) and tuple(small[0, 0]) == (255, 0, 0, 255)
    assert tuple(small[0, 3]) == (0, 0, 0, 0)


def test_page_assets_ship_in_the_package():
    page = Path(__file__).parent.parent / "ltsd" / "web" / "page"
    html = (page / "index.html").read_text()
    for asset in ("/page/page.css", "/page/osc.js", "/page/page.js"):
        assert asset in html and (page / Path(asset).name).exists()
    assert "http" not in html.replace("http-equiv", ""), "no CDN: galleries are often offline"


def test_tls_serves_the_page_with_a_self_signed_certificate_made_once(processes, tmp_path):
    import ssl

    config = tmp_path / "config.yaml"
    tls_port = free_tcp_port()
    config.write_text(f"synthetic:\n  width: 160\n  height: 90\nweb:\n  tls_port: {tls_port}\n")
    data_home = tmp_path / "data"
    ltsd = processes.controlled("--config", str(config), "--tls", "--ndi-name", unique_name("tls"),
                                env={"XDG_DATA_HOME": str(data_home)}, timeout_s=60)  # fmt: skip
    try:
        certificate = data_home / "ltsd" / "tls" / "ltsd-cert.pem"
        deadline = time.monotonic() + 30  # OSC answers before the web server has started
        while not certificate.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (
            certificate.exists()
            and (certificate.parent / "ltsd-key.pem").stat().st_mode & 0o077 == 0
        )
        trusting = ssl.create_default_context(cafile=str(certificate))  # checks it names 127.0.0.1
        request = urllib.request.Request(
            f"https://127.0.0.1:{tls_port}/", headers={"Accept": "text/html"}
        )
        while True:  # the HTTPS listener opens once the certificate is written
            try:
                with urllib.request.urlopen(request, timeout=5, context=trusting) as reply:
                    assert reply.status == 200 and b"<title>ltsd" in reply.read()
                break
            except urllib.error.URLError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        ltsd.peer.close()
        ltsd.process.terminate()
        _, log = ltsd.process.communicate(timeout=20)
    assert f"web: https://127.0.0.1:{tls_port}/" in log
    made = certificate.read_bytes()
    from ltsd.web.tls import self_signed

    assert self_signed(certificate.parent)[0].read_bytes() == made, "made once, then kept"


def test_a_bad_certificate_is_one_line_and_exit_2(tmp_path):
    from tests.conftest import run_ltsd

    cert = tmp_path / "cert.pem"
    cert.write_text("not a certificate")
    config = tmp_path / "config.yaml"
    config.write_text(f"web:\n  tls: true\n  tls_cert: {cert}\n  tls_key: {cert}\n")
    ports = ("--oscquery-port", str(free_tcp_port()), "--osc-port", str(free_udp_port()))
    result = run_ltsd("run", "--config", str(config), *ports, "--ndi-name", unique_name("bad"))
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(lines) == 1 and "web.tls_cert" in lines[0] and "Traceback" not in result.stderr
