"""The schedule (issue #26, item 3), driven by an injected clock: each entry once across both
DST switches and clock jumps; standby rests the generator and keeps sending black."""

from __future__ import annotations

import datetime as dt
import logging
import time
from zoneinfo import ZoneInfo

import pytest

from ltsd.control.schedule import Scheduler, parse_entry
from ltsd.errors import ConfigError
from tests.conftest import Processes, run_ltsd, unique_name

BERLIN = ZoneInfo("Europe/Berlin")
ENTRIES = ["02:30 standby", "03:00 wake", "01:30 scene night", "every 20m next world",
           "weekdays 09:00 world ocean", "sat,sun 10:00 world space"]  # fmt: skip


class Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start.astimezone(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


def run_night(start: dt.datetime, hours: int, steps: list[dt.timedelta] | None = None):
    """Look once a minute (or at `steps`) from `start`; what fired, as (local time, text)."""
    clock = Clock(start)
    fired: list[tuple[str, str]] = []
    scheduler = Scheduler([parse_entry(e) for e in ENTRIES], BERLIN,
                          lambda entry: fired.append((clock.now.astimezone(BERLIN).strftime(
                              "%H:%M%z"), entry.text)), clock)  # fmt: skip
    for step in steps or [dt.timedelta(minutes=1)] * (hours * 60):
        clock.now += step
        scheduler.look()
    return fired


def count(fired, text):
    return sum(1 for _, entry in fired if entry == text)


def test_each_entry_fires_once_on_the_night_clocks_go_forward():
    fired = run_night(dt.datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN), 5)  # 02:00 → 03:00
    assert count(fired, "02:30 standby") == 1  # a time the clocks skip: at the gap's end
    assert ("03:00+0200", "02:30 standby") in fired
    assert count(fired, "03:00 wake") == 1 and count(fired, "01:30 scene night") == 1
    # five real hours reach 06:00 local; 02:00, 02:20 and 02:40 fall on 03:00 with it: once
    assert count(fired, "every 20m next world") == 15


def test_each_entry_fires_once_on_the_night_clocks_go_back():
    fired = run_night(dt.datetime(2026, 10, 25, 0, 0, tzinfo=BERLIN), 5)  # 03:00 → 02:00
    assert count(fired, "02:30 standby") == 1 and ("02:30+0200", "02:30 standby") in fired
    assert count(fired, "03:00 wake") == 1 and count(fired, "01:30 scene night") == 1
    assert count(fired, "every 20m next world") == 12  # the hour that repeats: once


def test_days_of_the_week():
    fired = run_night(dt.datetime(2026, 12, 4, 8, 0, tzinfo=BERLIN), 50)  # Friday → Sunday
    assert [t for t in fired if t[1].endswith(("ocean", "space"))] == [
        ("09:00+0100", "weekdays 09:00 world ocean"), ("10:00+0100", "sat,sun 10:00 world space"),
        ("10:00+0100", "sat,sun 10:00 world space"),
    ]  # fmt: skip


def test_a_clock_jump_forward_applies_the_newest_and_names_the_skipped(caplog):
    caplog.set_level(logging.WARNING)
    start = dt.datetime(2026, 12, 2, 0, 50, tzinfo=BERLIN)
    fired = run_night(start, 0, [dt.timedelta(minutes=1), dt.timedelta(hours=3)])
    assert fired == [("03:51+0100", "every 20m next world")]  # the newest due, once
    assert "passed unfired" in caplog.text and "02:30 standby" in caplog.text


def test_a_clock_set_back_fires_nothing_twice(caplog):
    caplog.set_level(logging.WARNING)
    start = dt.datetime(2026, 12, 2, 1, 0, tzinfo=BERLIN)
    minute = dt.timedelta(minutes=1)
    steps = [minute] * 40 + [-dt.timedelta(hours=1)] + [minute] * 70
    fired = run_night(start, 0, steps)
    assert count(fired, "01:30 scene night") == 1
    assert "clock went back" in caplog.text


@pytest.mark.parametrize(
    "text",
    ["25:00 wake", "9:61 wake", "every 0m wake", "every 2d next", "noon standby", "09:00",
     "09:00 dance", "09:00 scene", "09:00 scene a b c", "09:00 scene a slow", "moon 09:00 wake",
     "every 25h wake", "09:00 world"],
)  # fmt: skip
def test_a_bad_entry_is_one_line_naming_it(text):
    with pytest.raises(ConfigError) as refused:
        parse_entry(text)
    assert repr(text) in str(refused.value) and "\n" not in str(refused.value)


def test_ltsd_schedule_prints_the_next_day(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text('schedule:\n  entries: ["09:30 wake", "every 6h next world", '
                      '"22:00 standby"]\n  timezone: Europe/Berlin\n')  # fmt: skip
    result = run_ltsd("schedule", "--config", str(config))
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0 and len(lines) == 6, result.stdout + result.stderr
    assert sum("every 6h next world" in line for line in lines) == 4
    assert all(line.split()[3] in ("CET", "CEST") for line in lines)


def cpu_seconds(pid: int) -> float:
    import os

    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_standby_rests_the_generator_and_keeps_sending_black(tmp_path):
    from ltsd.harness.receiver import NdiReceiver

    config = tmp_path / "config.yaml"
    config.write_text("synthetic:\n  width: 320\n  height: 180\n")
    output = unique_name("standby")
    processes = Processes()
    receiver = None
    try:
        ltsd = processes.controlled("--config", str(config), "--model", "ocean",
                                    "--ndi-name", output, timeout_s=60)  # fmt: skip
        receiver = NdiReceiver(output)
        receiver.frames(5, timeout_s=10, keep_pixels=False)
        time.sleep(1.0)

        def cpu_over(seconds: float) -> float:
            before = cpu_seconds(ltsd.process.pid)
            time.sleep(seconds)
            return cpu_seconds(ltsd.process.pid) - before

        playing = cpu_over(3.0)
        ltsd.peer.send("/ltsd/standby")
        time.sleep(2.5)  # the fade
        resting = cpu_over(3.0)
        black = receiver.frames(10, timeout_s=5)
        ltsd.peer.send("/ltsd/wake")
        time.sleep(0.5)
        awake = receiver.frames(10, timeout_s=5)
        ltsd.peer.close()
    finally:
        if receiver is not None:
            receiver.close()
        processes.stop_all()
    assert len(black) == 10 and all(frame.pixels[:, :, :3].max() == 0 for frame in black)
    assert max(frame.pixels[:, :, :3].max() for frame in awake) > 0
    assert resting < 0.7 * playing, (playing, resting)  # measured: the generator rests
