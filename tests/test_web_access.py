"""The access token (issue #25, items 3 and 5): a machine other than this one needs it for the
previews, the camera intake and a browser's WebSocket; wrong tokens are limited per host."""

from __future__ import annotations

import json
import re
import stat
import threading
import urllib.request
from pathlib import Path

import pytest

from ltsd.errors import ConfigError
from ltsd.web.access import (
    FAILURES_ALLOWED,
    LOCKOUT_S,
    Access,
    Verdict,
    load_token,
)
from tests.conftest import Processes, unique_name
from tests.helpers.models import two_constant_worlds
from tests.helpers.netns import second_host
from tests.test_web import osc_bytes

PROBE = Path(__file__).parent / "helpers" / "remote_probe.py"


def test_a_token_is_made_once_readable_by_its_owner_only_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("LTSD_TOKEN", raising=False)
    path = tmp_path / "ltsd" / "token"
    first = load_token("", path)
    assert load_token("", path) == first
    assert len(first) >= 32  # 24 random bytes, URL-safe base64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_token("", tmp_path / "other") != first


def test_a_given_token_wins_and_a_short_one_is_refused_in_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("LTSD_TOKEN", raising=False)
    path = tmp_path / "token"
    assert load_token("a-token-from-the-config", path) == "a-token-from-the-config"
    assert not path.exists()
    monkeypatch.setenv("LTSD_TOKEN", "a-token-from-the-environment")
    assert load_token("a-token-from-the-config", path) == "a-token-from-the-environment"
    monkeypatch.setenv("LTSD_TOKEN", "short")
    with pytest.raises(ConfigError) as refused:
        load_token("", path)
    assert "LTSD_TOKEN" in str(refused.value) and "\n" not in str(refused.value)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_wrong_tokens_lock_out_their_host_only_and_for_a_while():
    clock = Clock()
    access = Access("the-right-token-0123456789", clock=clock)
    for attempt in range(FAILURES_ALLOWED):
        assert access.check("10.0.0.2", f"guess-{attempt}") is Verdict.WRONG
    assert access.check("10.0.0.2", "the-right-token-0123456789") is Verdict.LOCKED
    assert access.check("10.0.0.3", "the-right-token-0123456789") is Verdict.ADMITTED
    assert access.check("10.0.0.3", None) is Verdict.MISSING
    clock.now += LOCKOUT_S + 1
    assert access.check("10.0.0.2", "the-right-token-0123456789") is Verdict.ADMITTED


def test_one_stale_token_repeated_is_one_mistake_not_many_guesses():
    access = Access("the-right-token-0123456789", clock=Clock())
    for _ in range(5 * FAILURES_ALLOWED):
        assert access.check("10.0.0.2", "yesterdays-token-000000") is Verdict.WRONG
    assert access.check("10.0.0.2", "the-right-token-0123456789") is Verdict.ADMITTED


@pytest.mark.parametrize("peer", ["127.0.0.1", "127.0.0.9", "::1", "::ffff:127.0.0.1"])
def test_this_machine_needs_no_token(peer):
    assert Access("the-right-token-0123456789").check(peer, None) is Verdict.ADMITTED
    assert Access(None).check("10.0.0.2", None) is Verdict.ADMITTED  # loopback-only server


class Log:
    """Every line a child process writes to stderr, read as it comes (the pipe never fills)."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line)

    @property
    def text(self) -> str:
        return "".join(self.lines)


def mix(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/ltsd/mix?VALUE", timeout=5) as reply:
        return json.load(reply)["VALUE"][0]


def test_another_host_needs_the_token_ltsd_run_printed(tmp_path):
    models = tmp_path / "models"
    two_constant_worlds(models)
    config = tmp_path / "config.yaml"
    config.write_text("synthetic:\n  width: 160\n  height: 90\n")
    with second_host() as remote:
        processes = Processes()
        try:
            ltsd = processes.controlled(
                "--config", str(config), "--models-dir", str(models), "--model", "magenta",
                "--ndi-name", unique_name("access"), "--osc-host", "0.0.0.0",
                env={"XDG_CONFIG_HOME": str(tmp_path / "home"), "LTSD_TOKEN": ""},
            )  # fmt: skip
            log = Log(ltsd.process.stderr)
            printed = wait_for(lambda: re.search(r"web: http://\S+\?token=(\S+)", log.text))
            token = printed.group(1)
            assert (tmp_path / "home" / "ltsd" / "token").read_text().strip() == token
            base = f"http://{remote.server_address}:{ltsd.web_port}"
            ws = base.replace("http://", "ws://")
            own = {"Origin": base}
            cookie = {"Cookie": f"ltsd_token={token}"}
            change = osc_bytes("/ltsd/mix", 0.25).hex()
            stream = f"{base}/stream/output.mjpg"

            def probe(source: str, steps: list[dict]) -> list[int]:
                reply = remote.python(PROBE.read_text(), source, json.dumps(steps))
                return json.loads(reply)

            visitor, other = remote.addresses
            without = probe(visitor, [
                {"kind": "get", "url": stream},
                {"kind": "websocket", "url": f"{ws}/camera", "headers": own},
                {"kind": "websocket", "url": f"{ws}/", "headers": own, "osc": change},
                {"kind": "get", "url": f"{base}/", "headers": {"Accept": "text/html"}},
                {"kind": "get", "url": f"{base}/ltsd/mix?VALUE"},  # OSCQuery: osc.allow's
            ])  # fmt: skip
            assert [step["status"] for step in without] == [401, 401, 401, 401, 200]
            assert mix(ltsd.web_port) == 1.0

            page = f"{base}/?token={token}"
            granted = probe(visitor, [
                {"kind": "get", "url": page, "headers": {"Accept": "text/html"}},
                {"kind": "get", "url": f"{base}/", "headers": {"Accept": "text/html", **cookie}},
                {"kind": "get", "url": stream, "headers": cookie},
                {"kind": "get", "url": f"{stream}?token={token}"},
                {"kind": "get", "url": stream, "headers": {"Authorization": f"Bearer {token}"}},
                {"kind": "websocket", "url": f"{ws}/camera", "headers": {**own, **cookie}},
                {"kind": "websocket", "url": f"{ws}/", "headers": {**own, **cookie},
                 "osc": change},
            ])  # fmt: skip
            assert [step["status"] for step in granted] == [303, 200, 200, 200, 200, 101, 101]
            assert granted[0]["location"] == "/"  # the token leaves the address bar
            set_cookie = granted[0]["set_cookie"]
            assert f"ltsd_token={token}" in set_cookie
            assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
            assert wait_for(lambda: mix(ltsd.web_port) == 0.25)

            guesses = [{"kind": "get", "url": f"{stream}?token=guess{i:03d}"} for i in range(100)]
            guessed = probe(visitor, [*guesses, {"kind": "get", "url": f"{stream}?token={token}"}])
            statuses = [step["status"] for step in guessed]
            assert statuses[: FAILURES_ALLOWED - 1] == [401] * (FAILURES_ALLOWED - 1)
            assert set(statuses[FAILURES_ALLOWED:]) == {429}  # the right one too, for a while
            assert probe(other, [{"kind": "get", "url": f"{stream}?token={token}"}])[0][
                "status"
            ] == 200  # fmt: skip
            assert f"wrong token from {visitor}" in log.text
            assert f"wrong tokens from {visitor}" in log.text and "refusing it" in log.text
            assert log.text.count("wrong token") < 2 * FAILURES_ALLOWED  # not one line a guess

            with urllib.request.urlopen(f"http://127.0.0.1:{ltsd.web_port}/stream/output.mjpg",
                                        timeout=5) as loopback:  # fmt: skip
                assert loopback.status == 200 and loopback.read(16)  # this machine: no token
            ltsd.peer.close()
        finally:
            processes.stop_all()


def wait_for(check, timeout_s: float = 20.0):
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")
