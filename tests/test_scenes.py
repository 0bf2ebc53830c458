"""Scenes (issue #26, item 1): save, recall with an eased morph and a crossfade, delete; a file
that survives restarts, SIGHUP and kill -9 mid-save; damaged entries one line each."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from ltsd.control.morph import ease
from ltsd.control.scenes import Scene, SceneBook
from ltsd.params import ParamStore
from tests.conftest import Processes, eventually


def book(path: Path) -> SceneBook:
    from ltsd.params import LiveParams

    return SceneBook(path, ParamStore(LiveParams()))


def test_scenes_are_kept_in_a_file_and_read_back(tmp_path):
    path = tmp_path / "scenes.yaml"
    first = book(path)
    first.put(3, Scene("dusk", "ocean", {"mix": 0.5, "fit": "letterbox"}))
    first.put(1, Scene("dawn", "space", {}))
    again = book(path)
    assert again.load() == []
    assert list(again.scenes) == [1, 3] and again.find("dusk") == (3, first.scenes[3])
    again.delete(1)
    assert list(book_loaded(path).scenes) == [3]


def book_loaded(path: Path) -> SceneBook:
    loaded = book(path)
    loaded.load()
    return loaded


DAMAGED = [
    "1: 7", "1: [a, b]", "1: {model: 7}", "1: {model: ''}", "1: {model: ocean, params: 3}",
    "1: {model: ocean, params: {nope: 1}}", "1: {model: ocean, params: {mix: 9}}",
    "1: {model: ocean, params: {mix: abc}}", "1: {model: ocean, params: {fit: sideways}}",
    "1: {model: ocean, params: {grayscale: 2}}", "1: {model: ocean, extra: 1}",
    "1: {model: ocean, name: 7}", "1: {model: ocean, name: " + "x" * 100 + "}",
    "0: {model: ocean}", "999: {model: ocean}", "-1: {model: ocean}", "x: {model: ocean}",
    "true: {model: ocean}", "1.5: {model: ocean}", "1: {model: ocean, params: {fit: 3}}",
    "1: {model: ocean, params: {mix: .nan}}", "1: {model: ocean, params: {contrast: 1e400}}",
    "1: {model: ocean, params: {blur_factor: -3}}", "1: {model: ocean, params: [mix]}",
    "1: {model: [ocean]}", "1: {model: ocean, params: {smoothing: -1}}",
    "1: {model: ocean, params: {crossfade: 1e9}}", "1: {model: ocean, params: {bypass: maybe}}",
    "1: {name: only}", "1: ~",
]  # fmt: skip


@pytest.mark.parametrize("entry", DAMAGED)
def test_a_damaged_entry_is_one_line_and_the_rest_loads(tmp_path, entry, caplog):
    path = tmp_path / "scenes.yaml"
    path.write_text(entry + "\n2: {name: good, model: ocean, params: {mix: 0.25}}\n")
    loaded = book(path)
    problems = loaded.load()
    assert len(problems) == 1 and "\n" not in problems[0] and str(path) in problems[0]
    assert len(problems[0]) < 300 and loaded.find("good")[1].params == {"mix": 0.25}


def test_a_file_that_is_not_scenes_is_one_line(tmp_path):
    for text in ("[unclosed", "- a list\n", "\xff\xfe", "a: [" * 100_000):
        path = tmp_path / "scenes.yaml"
        path.write_bytes(text.encode("utf-8", "surrogateescape") if text != "\xff\xfe"
                         else b"\xff\xfe")  # fmt: skip
        loaded = book(path)
        problems = loaded.load()
        assert len(problems) == 1 and loaded.scenes == {}, (text[:10], problems)


SAVER = """
import sys
from pathlib import Path
from ltsd.control.scenes import write_atomically
path, n = Path(sys.argv[1]), 0
while True:
    n += 1
    write_atomically(path, f"# {n}\\n" + f"{n}: " + "x" * 200_000 + "\\n")
"""


def test_kill_9_during_saves_leaves_the_old_file_or_the_new_one(tmp_path):
    path = tmp_path / "scenes.yaml"
    path.write_text("# 0\n0: start\n")
    for delay in (0.05, 0.11, 0.17, 0.23, 0.31, 0.43, 0.5, 0.61, 0.7, 0.83):
        saver = subprocess.Popen([sys.executable, "-c", SAVER, str(path)])
        time.sleep(delay)
        saver.send_signal(signal.SIGKILL)
        saver.wait()
        text = path.read_text()
        number = int(text.split("\n")[0][2:])
        body = yaml.safe_load(text)
        assert body == ({0: "start"} if number == 0 else {number: "x" * 200_000})


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scenes")
    processes = Processes()
    try:
        ltsd = processes.small(folder, "scenes")  # scenes.yaml beside its config, in `folder`
        yield ltsd, folder
        ltsd.peer.close()
    finally:
        processes.stop_all()


def value(ltsd, address: str):
    with urllib.request.urlopen(f"{ltsd.base}{address}?VALUE", timeout=5) as reply:
        return json.load(reply)["VALUE"][0]


def test_a_recall_morphs_on_the_ease_curve_and_crossfades_the_world(daemon):
    ltsd, folder = daemon
    peer = ltsd.peer
    bright = (("/ltsd/mix", 1.0), ("/ltsd/pre/contrast", 1.0), ("/ltsd/pre/grayscale", True),
              ("/ltsd/model", "magenta"))  # fmt: skip
    for address, setting in bright:
        peer.send(address, setting)
    time.sleep(0.5)
    peer.send("/ltsd/scenes/save", 4, "bright")
    time.sleep(0.3)
    assert yaml.safe_load((folder / "scenes.yaml").read_text())[4]["name"] == "bright"
    for address, setting in (("/ltsd/mix", 0.0), ("/ltsd/pre/contrast", 3.0),
                             ("/ltsd/pre/grayscale", False), ("/ltsd/model", "teal")):  # fmt: skip
        peer.send(address, setting)
    time.sleep(1.0)
    assert value(ltsd, "/ltsd/model") == "teal" and value(ltsd, "/ltsd/mix") == 0.0

    seconds = 2.0
    before = time.monotonic()
    peer.send("/ltsd/scenes/recall", "bright", seconds)
    sent = time.monotonic()
    samples = []
    for at in (0.25, 0.5, 1.0):
        while time.monotonic() - sent < at * seconds:
            time.sleep(0.002)
        asked = time.monotonic()
        mix, grey = value(ltsd, "/ltsd/mix"), value(ltsd, "/ltsd/pre/grayscale")
        answered = time.monotonic()
        samples.append((asked - sent, answered - before, mix, grey))
    time.sleep(0.2)
    # the morph began after `before`, and no later than the daemon's receiving thread and then
    # the morph's own steps let it, a few tens of ms after `sent` on a loaded machine (a sample
    # at the midpoint read 0.473 in CI beside a training: 36 ms): that much slack below, none
    # above, which still tells the ease curve from a straight ramp (0.25 at a quarter)
    late = 0.1
    for earliest, latest, mix, _ in samples:
        low, high = ease((earliest - late) / seconds), ease(latest / seconds)
        assert low - 0.02 <= mix <= high + 0.02, (earliest, latest, mix)
    assert samples[0][3] is False and samples[-1][3] is True  # the switch: at the midpoint
    assert value(ltsd, "/ltsd/pre/contrast") == pytest.approx(1.0)
    assert value(ltsd, "/ltsd/model") == "magenta"


def scene_names(ltsd) -> list[str]:
    with urllib.request.urlopen(f"{ltsd.base}/ltsd/scenes/recall", timeout=5) as reply:
        return json.load(reply)["RANGE"][0]["VALS"]


def test_scenes_are_in_oscquery_and_survive_sighup_and_bad_requests(daemon):
    ltsd, folder = daemon
    ltsd.peer.send("/ltsd/scenes/save", 9, "kept")
    assert eventually(lambda: "kept" in scene_names(ltsd)), scene_names(ltsd)
    text = (folder / "scenes.yaml").read_text()
    (folder / "scenes.yaml").write_text(text + "12: {model: magenta, params: {mix: 7}}\n"
                                        "13: {name: edited, model: teal}\n")  # fmt: skip
    ltsd.process.send_signal(signal.SIGHUP)
    assert eventually(lambda: "edited" in scene_names(ltsd)), scene_names(ltsd)
    assert "kept" in scene_names(ltsd)
    for bad in ((0,), (999,), ("no such scene",), (13, -1.0), (13, "slow")):
        ltsd.peer.send("/ltsd/scenes/recall", *bad)
    assert ltsd.peer.status()["/ltsd/status/fps"] > 5


def test_scenes_survive_a_restart(tmp_path):
    for run in range(2):
        processes = Processes()
        try:
            ltsd = processes.small(tmp_path, "restart")
            if run == 0:
                ltsd.peer.send("/ltsd/mix", 0.3)
                assert eventually(lambda d=ltsd: value(d, "/ltsd/mix") == pytest.approx(0.3))
                ltsd.peer.send("/ltsd/scenes/save", 7, "kept")
                assert eventually(lambda d=ltsd: "kept" in scene_names(d))  # saved before the stop
            else:
                ltsd.peer.send("/ltsd/scenes/recall", "kept", 0.0)
                assert eventually(lambda d=ltsd: value(d, "/ltsd/mix") == pytest.approx(0.3))
            ltsd.peer.close()
        finally:
            processes.stop_all()


def test_a_recall_crossfades_the_world_it_brings_back(daemon):
    import numpy as np

    from tests.helpers.models import MAGENTA, TEAL
    from tests.test_web import read_jpegs

    ltsd, _ = daemon
    for address, setting in (("/ltsd/mix", 1.0), ("/ltsd/bypass", False),
                             ("/ltsd/model", "magenta")):  # fmt: skip
        ltsd.peer.send(address, setting)
    time.sleep(0.8)
    ltsd.peer.send("/ltsd/scenes/save", 20, "magenta world")
    ltsd.peer.send("/ltsd/model", "teal")
    time.sleep(1.5)
    ltsd.peer.send("/ltsd/scenes/recall", 20, 3.0)
    time.sleep(1.4)  # about halfway, once the stream's three pictures have come
    # a stream's first picture is the newest made, perhaps while nobody watched: take the third
    halfway = np.asarray(read_jpegs(ltsd.base + "/stream/output.mjpg", 3)[-1].convert("RGB"))
    colour = halfway.reshape(-1, 3).mean(axis=0)
    time.sleep(2.5)
    after = np.asarray(read_jpegs(ltsd.base + "/stream/output.mjpg", 3)[-1].convert("RGB"))
    assert np.abs(after.reshape(-1, 3).mean(axis=0) - MAGENTA).max() < 15
    # a blend of the two worlds, near neither
    assert np.abs(colour - MAGENTA).max() > 30 and np.abs(colour - TEAL).max() > 30, colour
