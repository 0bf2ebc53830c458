"""The whole log's rate cap: bursts pass, floods are cut and summarised."""

from __future__ import annotations

import logging
import time

from ltsd.logs import LogRateLimit


def test_a_flood_is_cut_to_the_burst_and_summarised_once_it_eases():
    limit = LogRateLimit(burst=50, per_s=100.0)
    records = [logging.LogRecord("x", logging.WARNING, __file__, 1, "line %d", (i,), None)
               for i in range(5000)]  # fmt: skip
    passed = [record for record in records if limit.filter(record)]
    assert 50 <= len(passed) < 80  # the burst, plus what refilled while the loop ran
    time.sleep(0.1)
    later = logging.LogRecord("x", logging.WARNING, __file__, 1, "calm again", (), None)
    assert limit.filter(later)
    assert "calm again" in later.getMessage() and "log lines suppressed" in later.getMessage()


def test_ctrl_c_in_a_terminal_leaves_the_status_line_whole_and_the_log_below_it(tmp_path):
    """tmux runs `ltsd run` in a real terminal; Ctrl-C is typed; the screen is read."""
    import shutil
    import subprocess
    import sys

    from tests.conftest import REPO, free_udp_port, unique_name

    if shutil.which("tmux") is None:
        import pytest

        pytest.skip("tmux is not installed")
    session = unique_name("ltsd-tty")
    command = (f"cd {REPO} && {sys.executable} -m ltsd.cli run --sink null --osc-port "
               f"{free_udp_port()} --oscquery-port 0")  # fmt: skip

    def tmux(*args: str) -> str:
        return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=10).stdout

    tmux("new-session", "-d", "-s", session, "-x", "220", "-y", "30", command)
    try:
        tmux("set-option", "-t", session, "remain-on-exit", "on")
        deadline = time.monotonic() + 60

        def wait_for(text: str) -> None:
            while time.monotonic() < deadline and text not in tmux("capture-pane", "-p", "-t",
                                                                   session):  # fmt: skip
                time.sleep(0.3)

        wait_for("| frames ")
        time.sleep(1.0)  # a few redraws of the live line
        tmux("send-keys", "-t", session, "C-c")
        wait_for("stopped after")
        screen = [line for line in tmux("capture-pane", "-p", "-t", session).splitlines() if line]
    finally:
        tmux("kill-session", "-t", session)
    stopping = [line for line in screen if "SIGINT received, stopping" in line]
    assert len(stopping) == 1, screen
    assert "frames" not in stopping[0] and "^C" not in stopping[0], screen  # not glued on
    assert stopping[0].split()[1] == "INFO", screen  # starts the line: "HH:MM:SS INFO …"
    status = [line for line in screen if "| frames " in line]
    assert status and all(line.startswith("in ") for line in status), screen
    assert any("stopped after" in line for line in screen[screen.index(stopping[0]) :]), screen
