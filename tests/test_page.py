"""The page in a real browser (Debian's chromium, driven by Playwright) against a real daemon
playing a shipped world: what a visitor sees and does, step by step."""

from __future__ import annotations

import io
import json
import re
import shutil

import numpy as np
import pytest
from PIL import Image

from ltsd.harness.receiver import NdiReceiver
from tests.conftest import Processes, eventually, free_tcp_port, unique_name
from tests.helpers.netns import second_host
from tests.helpers.oscquery import value_at
from tests.test_web_access import Log, wait_for

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or sync_playwright is None,
    reason="no browser: apt-get install chromium (and pip install -e '.[dev]' for Playwright)",
)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    config = tmp_path_factory.mktemp("page") / "config.yaml"
    config.write_text("synthetic:\n  width: 320\n  height: 180\n  fps: 30\n")
    ndi_name = unique_name("page")
    processes = Processes()
    try:
        ltsd = processes.controlled("--config", str(config), "--model", "ocean",
                                    "--ndi-name", ndi_name, timeout_s=60)  # fmt: skip
        yield {"peer": ltsd.peer, "base": ltsd.base, "ndi": ndi_name}
        ltsd.peer.close()
    finally:
        processes.stop_all()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox",
            "--use-fake-device-for-media-stream",  # a moving test picture as the camera
            "--use-fake-ui-for-media-stream",  # the camera allowed without a prompt
        ])  # fmt: skip
        yield browser
        browser.close()


@pytest.fixture
def page(browser, daemon):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(daemon["base"] + "/")
    expect(page.locator("#link")).to_have_text("live")
    expect(page.get_by_label("contrast")).to_be_visible()
    yield page
    page.close()
    daemon["peer"].send("/ltsd/reset")


def test_the_world_moves_on_the_page(page):
    output = page.locator("#output")
    pictures = []
    for _ in range(2):
        page.wait_for_timeout(1000)
        shot = Image.open(io.BytesIO(output.screenshot())).convert("RGB")
        pictures.append(np.asarray(shot, dtype=float))
    assert pictures[0].std() > 10, "the output is not blank"
    assert np.abs(pictures[0] - pictures[1]).mean() > 1, "the output changes over time"
    expect(page.locator("#model")).to_have_text("ocean")
    assert float(page.locator("#fps").inner_text()) > 1


def test_moving_a_slider_changes_the_value_read_over_oscquery(page, daemon):
    page.get_by_label("contrast").focus()
    page.keyboard.press("End")  # the slider's maximum, as a visitor's keyboard or drag would
    assert eventually(lambda: value_at(daemon["base"], "/ltsd/pre/contrast")[0] == 4.0)


def test_an_osc_message_moves_the_slider(page, daemon):
    daemon["peer"].send("/ltsd/pre/brightness", 0.5)
    expect(page.get_by_label("brightness")).to_have_value("0.5")
    daemon["peer"].send("/ltsd/bypass", 1)
    expect(page.get_by_label("bypass")).to_be_checked()


def test_the_world_picker_switches_the_model(page, daemon):
    page.get_by_role("radio", name="flowers").click()
    assert eventually(lambda: value_at(daemon["base"], "/ltsd/model")[0] == "flowers")
    expect(page.get_by_role("radio", name="flowers")).to_have_attribute("aria-checked", "true")
    expect(page.locator("#model")).to_have_text("flowers")
    page.get_by_role("button", name="next ▶").click()
    assert eventually(lambda: value_at(daemon["base"], "/ltsd/model")[0] == "ocean")
    page.get_by_role("radio", name="ocean").click()  # already playing: nothing to do


def test_the_browsers_camera_becomes_the_source_until_the_visitor_leaves(browser, daemon):
    receiver = NdiReceiver(daemon["ndi"])
    page = browser.new_page()
    try:
        page.goto(daemon["base"] + "/")
        expect(page.locator("#link")).to_have_text("live")
        assert {f.size for f in receiver.frames(5, timeout_s=10)} == {(320, 180)}, "the scene"
        page.get_by_role("button", name="Use this camera").click()
        assert eventually(lambda: value_at(daemon["base"], "/ltsd/source")[0] == "browser")
        expect(page.locator("#source")).to_have_text("browser")
        # the fake camera's 640x480 pictures, through the world, out over NDI
        assert eventually(lambda: {f.size for f in receiver.frames(3, 2)} == {(640, 480)})
        page.close()  # the visitor leaves: the source goes back to what it was
        assert eventually(lambda: value_at(daemon["base"], "/ltsd/source")[0] == "synthetic")
        assert eventually(lambda: {f.size for f in receiver.frames(3, 2)} == {(320, 180)})
    finally:
        receiver.close()
        if not page.is_closed():
            page.close()


# Run on the second host: a phone's browser (touch, a phone-sized screen, the fake camera) opens
# the https:// address `ltsd run` printed, token and all, and lends its camera; a browser without
# the token is turned away. Prints what it saw as JSON.
PHONE = """
import json, sys
from playwright.sync_api import expect, sync_playwright

chromium, address, screenshot = sys.argv[1:4]
with sync_playwright() as playwright:
    browser = playwright.chromium.launch(executable_path=chromium, args=[
        "--no-sandbox", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"])
    stranger = browser.new_context(ignore_https_errors=True)
    refused = stranger.new_page().goto(address.split("?")[0]).status
    phone = browser.new_context(ignore_https_errors=True, is_mobile=True, has_touch=True,
                                viewport={"width": 390, "height": 844})
    page = phone.new_page()
    page.goto(address)
    expect(page.locator("#link")).to_have_text("live", timeout=30000)
    page.get_by_role("button", name="Use this camera").click()
    expect(page.locator("#source")).to_have_text("browser", timeout=30000)
    page.wait_for_timeout(1500)
    page.screenshot(path=screenshot)
    cookie = phone.cookies()[0]
    print(json.dumps({"refused": refused, "address": page.url, "httponly": cookie["httpOnly"],
                      "samesite": cookie["sameSite"], "secure": cookie["secure"]}))
    browser.close()
"""


def test_a_phone_on_the_lan_lends_its_camera_over_https_with_the_printed_token(tmp_path):
    tls_port = free_tcp_port()
    config = tmp_path / "config.yaml"
    config.write_text(f"synthetic:\n  width: 320\n  height: 180\nweb:\n  tls_port: {tls_port}\n")
    home = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data"),
            "LTSD_TOKEN": ""}  # fmt: skip
    with second_host() as remote:
        processes = Processes()
        try:
            ltsd = processes.controlled("--config", str(config), "--model", "ocean", "--tls",
                                        "--osc-host", "0.0.0.0", "--ndi-name", unique_name("phone"),
                                        env=home, timeout_s=60)  # fmt: skip
            log = Log(ltsd.process.stderr)
            printed = wait_for(lambda: re.search(r"web: https://\S+:(\d+)/\?token=(\S+)", log.text))
            assert int(printed.group(1)) == tls_port
            address = f"https://{remote.server_address}:{tls_port}/?token={printed.group(2)}"
            shot = tmp_path / "phone.png"
            seen = json.loads(remote.python(PHONE, CHROMIUM, address, str(shot), timeout_s=120))
            assert seen["refused"] == 401  # no token: not even the page
            assert seen["address"] == f"https://{remote.server_address}:{tls_port}/"  # token gone
            assert seen["httponly"] and seen["samesite"] == "Strict" and seen["secure"]
            assert shot.stat().st_size > 10_000
            assert eventually(lambda: value_at(ltsd.base, "/ltsd/source")[0] == "synthetic")
            ltsd.peer.close()
        finally:
            processes.stop_all()


def test_a_scene_saved_on_the_page_is_recalled_and_the_sliders_follow(page, daemon, tmp_path):
    daemon["peer"].send("/ltsd/mix", 0.2)
    expect(page.get_by_label("mix")).to_have_value("0.2")
    page.get_by_label("scene name").fill("calm")
    page.get_by_role("button", name="Save scene").click()
    expect(page.locator("#scenes").get_by_role("button", name="calm")).to_be_visible()
    daemon["peer"].send("/ltsd/mix", 0.9)
    expect(page.get_by_label("mix")).to_have_value("0.9")
    page.locator("#morph").fill("1")
    page.locator("#scenes").get_by_role("button", name="calm").click()
    expect(page.get_by_label("mix")).to_have_value("0.2", timeout=5000)  # after a 1 s morph
    assert value_at(daemon["base"], "/ltsd/mix")[0] == pytest.approx(0.2)
    page.screenshot(path=str(tmp_path / "page-scenes.png"))
