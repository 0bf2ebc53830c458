"""Issue #29, hardening round two, on the real daemon: each case as the issue reproduced it, now
one line naming the thing, no hang, no data lost, bounded memory, the show still playing."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import Processes, run_ltsd
from tests.test_hardening import start_daemon, stop


def alias_bomb(levels: int = 9, section: str = "model", key: str = "name") -> str:
    """A few hundred bytes of YAML whose value, written out, is 9**levels items."""
    nested = ["&a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels):
        nested.append(f"&a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    return f"{section}:\n  {key}: [" + ", ".join(nested) + "]\n"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


@pytest.mark.parametrize(
    "text",
    [alias_bomb(), "log:\n  level: " + "x" * 900_000 + "\n"],
    ids=["alias-bomb", "900-kB-value"],
)
def test_a_config_value_in_an_error_is_cut_short(tmp_path, text):
    config = tmp_path / "config.yaml"
    config.write_text(text)
    started = time.monotonic()
    result = run_ltsd("run", "--config", str(config), "--frames", "1", timeout_s=60)
    assert result.returncode == 2
    lines = error_lines(result.stderr)
    key = "model.name" if "model:" in text else "log.level"
    assert len(lines) == 1 and key in lines[0] and len(lines[0]) < 300, lines[:2]
    assert time.monotonic() - started < 30


def test_an_oversized_or_special_config_file_is_one_line(tmp_path):
    huge = tmp_path / "huge.yaml"
    huge.write_text("params:\n" + "  mix: 0.5\n" * 2_200_000)  # 22 MB of repeated keys
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # nobody writes: reading it would block for ever
    for path, says in ((huge, "larger than"), (fifo, "not a regular file")):
        result = run_ltsd("run", "--config", str(path), "--frames", "1", timeout_s=60)
        lines = error_lines(result.stderr)
        assert result.returncode == 2 and len(lines) == 1, result.stderr[-500:]
        assert str(path) in lines[0] and says in lines[0]


def test_an_alias_bomb_sent_by_sighup_is_refused_in_one_line_and_costs_no_memory(
    processes: Processes, models_dir, tmp_path
):
    process, _, peer = start_daemon(processes, models_dir, tmp_path, "synthetic")
    try:
        time.sleep(1.0)
        before = rss_mb(process.pid)
        # (model.name itself is --model's here, which wins over the file)
        (tmp_path / "config.yaml").write_text(alias_bomb(section="log", key="level"))
        process.send_signal(signal.SIGHUP)
        time.sleep(2.0)
        grown = rss_mb(process.pid) - before
        assert peer.status()["/ltsd/status/fps"] > 5, "the show goes on"
    finally:
        peer.close()
    log = stop(process)
    refused = [line for line in log.splitlines() if "config reload refused" in line]
    assert len(refused) == 1 and "log.level" in refused[0] and len(refused[0]) < 400, log[-3000:]
    assert grown < 50, f"RSS grew {grown:.0f} MB"
