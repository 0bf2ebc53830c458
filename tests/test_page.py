"""The page in a real browser (Debian's chromium, driven by Playwright) against a real daemon
playing a shipped world: what a visitor sees and does, step by step."""

from __future__ import annotations

import io
import json
import shutil
import time
import urllib.request
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from ltsd.harness.receiver import NdiReceiver
from tests.conftest import Processes, unique_name

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


def value_at(daemon: dict, address: str) -> object:
    with urllib.request.urlopen(f"{daemon['base']}{address}?VALUE", timeout=5) as reply:
        return json.load(reply)["VALUE"][0]


def eventually(check: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


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
    assert eventually(lambda: value_at(daemon, "/ltsd/pre/contrast") == 4.0)


def test_an_osc_message_moves_the_slider(page, daemon):
    daemon["peer"].send("/ltsd/pre/brightness", 0.5)
    expect(page.get_by_label("brightness")).to_have_value("0.5")
    daemon["peer"].send("/ltsd/bypass", 1)
    expect(page.get_by_label("bypass")).to_be_checked()


def test_the_world_picker_switches_the_model(page, daemon):
    page.get_by_role("radio", name="flowers").click()
    assert eventually(lambda: value_at(daemon, "/ltsd/model") == "flowers")
    expect(page.get_by_role("radio", name="flowers")).to_have_attribute("aria-checked", "true")
    expect(page.locator("#model")).to_have_text("flowers")
    page.get_by_role("button", name="next ▶").click()
    assert eventually(lambda: value_at(daemon, "/ltsd/model") == "ocean")
    page.get_by_role("radio", name="ocean").click()  # already playing: nothing to do


def test_the_browsers_camera_becomes_the_source_until_the_visitor_leaves(browser, daemon):
    receiver = NdiReceiver(daemon["ndi"])
    page = browser.new_page()
    try:
        page.goto(daemon["base"] + "/")
        expect(page.locator("#link")).to_have_text("live")
        assert {f.size for f in receiver.frames(5, timeout_s=10)} == {(320, 180)}, "the scene"
        page.get_by_role("button", name="Use this camera").click()
        assert eventually(lambda: value_at(daemon, "/ltsd/source") == "browser")
        expect(page.locator("#source")).to_have_text("browser")
        # the fake camera's 640x480 pictures, through the world, out over NDI
        assert eventually(lambda: {f.size for f in receiver.frames(3, 2)} == {(640, 480)})
        page.close()  # the visitor leaves: the source goes back to what it was
        assert eventually(lambda: value_at(daemon, "/ltsd/source") == "synthetic")
        assert eventually(lambda: {f.size for f in receiver.frames(3, 2)} == {(320, 180)})
    finally:
        receiver.close()
        if not page.is_closed():
            page.close()
