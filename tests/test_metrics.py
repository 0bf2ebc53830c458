"""`/metrics` (issue #26, item 4): Prometheus text that a real parser reads, matching what
`/ltsd/status` says, under the web server's Host rule."""

from __future__ import annotations

import http.client
import time
import urllib.request

import pytest

from tests.conftest import Processes

parser = pytest.importorskip("prometheus_client.parser", reason="pip install -e '.[dev]'")


def test_metrics_parse_and_match_the_status(tmp_path):
    processes = Processes()
    try:
        ltsd = processes.small(tmp_path, "metrics", "--sink", "null",
                               "--sink", f"file:{tmp_path / 'rec.mp4'}")  # fmt: skip
        for _ in range(100):  # a loaded machine may not have sent 10 frames yet: wait for them
            with urllib.request.urlopen(f"{ltsd.base}/metrics", timeout=5) as reply:
                if _frames_out(reply.read().decode()) > 10:
                    break
            time.sleep(0.1)
        status = ltsd.peer.status()
        with urllib.request.urlopen(f"{ltsd.base}/metrics", timeout=5) as reply:
            kind = reply.headers["Content-Type"]
            text = reply.read().decode()
        connection = http.client.HTTPConnection("127.0.0.1", ltsd.web_port, timeout=5)
        connection.request("GET", "/metrics", headers={"Host": "evil.example"})
        rebound = connection.getresponse().status
        connection.close()
        ltsd.peer.close()
    finally:
        processes.stop_all()
    assert kind.startswith("text/plain; version=0.0.4") and rebound == 403
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in parser.text_string_to_metric_families(text)
        for sample in family.samples
    }
    values = {name: value for (name, _), value in samples.items()}
    info = next(dict(key) for name, key in samples if name == "ltsd_info")
    assert info == {"model": status["/ltsd/status/model"], "source": status["/ltsd/status/source"]}
    assert values["ltsd_output_fps"] == pytest.approx(status["/ltsd/status/fps"], rel=0.25)
    assert values["ltsd_input_live"] == 1 and values["ltsd_frames_out_total"] > 10
    assert values["ltsd_uptime_seconds"] > 0 and values["ltsd_resident_memory_bytes"] > 50e6
    sinks = {dict(key)["sink"]: value for (name, key), value in samples.items()
             if name == "ltsd_sink_up"}  # fmt: skip
    assert sinks == {"null": 1, f"file:{tmp_path / 'rec.mp4'}": 1}


def _frames_out(text: str) -> float:
    return next(sample.value for family in parser.text_string_to_metric_families(text)
                for sample in family.samples if sample.name == "ltsd_frames_out_total")  # fmt: skip
