"""A schedule for installations: scenes, worlds, standby and wake at clock times, on days of the
week, or every N minutes, in the machine's local time (or `schedule.timezone`).

    schedule:
      entries:
        - "weekdays 09:30 wake"
        - "09:31 scene day 10"
        - "every 12m next world"
        - "18:00 scene dusk 60"
        - "22:00 standby"

Occurrences are wall-clock times of the zone: on the night clocks go forward, a time inside the
gap (02:30) happens once, at the first instant after it; on the night they go back, a time that
happens twice (01:30) fires at the first. The runner keeps the newest instant it has looked at
and fires only what falls after it, so a clock set back never fires an entry twice; after a
clock jump forward (or a suspended machine) only the newest due entry is applied, and the
skipped ones are named in one log line. A manual change holds until the next entry.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ltsd.errors import ConfigError, LtsdError, shown

log = logging.getLogger(__name__)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_SETS = {"daily": frozenset(range(7)), "weekdays": frozenset(range(5)),
            "weekends": frozenset({5, 6})}  # fmt: skip
CATCH_UP_S = 120.0  # a gap longer than this between two looks is a clock jump or a suspend
ACTIONS = "scene NAME|N [SECONDS], world NAME, next world, standby, wake"


@dataclass(frozen=True, slots=True)
class Entry:
    text: str
    days: frozenset[int]  # Monday = 0
    at_minute: int | None  # minutes after local midnight, for clock-time entries
    every_minutes: int | None  # for "every N" entries: at multiples of N after midnight
    action: str  # scene, world, next, standby, wake
    argument: str = ""
    seconds: float | None = None

    def minutes_of_day(self) -> Iterator[int]:
        if self.at_minute is not None:
            yield self.at_minute
        else:
            yield from range(0, 24 * 60, self.every_minutes or 24 * 60)


def parse_entry(text: str) -> Entry:
    """One schedule line; a ConfigError naming it when it is not one."""
    words = text.split()
    where = f"schedule entry {shown(text)}"
    days = DAY_SETS["daily"]
    if words and _is_days(words[0]):
        days, words = _days(words[0]), words[1:]
    at_minute = every = None
    if len(words) >= 2 and words[0] == "every":
        found = re.fullmatch(r"([0-9]{1,4})(m|h)", words[1])
        if not found:
            raise ConfigError(f"{where}: 'every' takes minutes or hours, e.g. every 12m, every 2h")
        every = int(found[1]) * (60 if found[2] == "h" else 1)
        if not 1 <= every <= 24 * 60:
            raise ConfigError(f"{where}: every 1m to every 24h")
        words = words[2:]
    elif words and (found := re.fullmatch(r"([0-9]{1,2}):([0-9]{2})", words[0])):
        hour, minute = int(found[1]), int(found[2])
        if hour > 23 or minute > 59:
            raise ConfigError(f"{where}: {words[0]} is not a time of day")
        at_minute, words = hour * 60 + minute, words[1:]
    else:
        raise ConfigError(f"{where}: expected [DAYS] HH:MM ACTION or every Nm ACTION")
    action, argument, seconds = _action(words, where)
    return Entry(text, days, at_minute, every, action, argument, seconds)


def _is_days(word: str) -> bool:
    return word in DAY_SETS or all(part[:3] in DAYS for part in re.split(r"[,-]", word) if part)


def _days(word: str) -> frozenset[int]:
    if word in DAY_SETS:
        return DAY_SETS[word]
    chosen: set[int] = set()
    for part in word.split(","):
        first, _, last = part.partition("-")
        start, end = DAYS.index(first[:3]), DAYS.index((last or first)[:3])
        chosen.update(day % 7 for day in range(start, end + 1 if end >= start else end + 8))
    return frozenset(chosen)


def _action(words: list[str], where: str) -> tuple[str, str, float | None]:
    if words in (["standby"], ["wake"]):
        return words[0], "", None
    if words in (["next", "world"], ["next"]):
        return "next", "", None
    if len(words) == 2 and words[0] == "world":
        return "world", words[1], None
    if words and words[0] == "scene" and len(words) in (2, 3):
        seconds = None
        if len(words) == 3:
            try:
                seconds = float(words[2])
            except ValueError:
                why = f"{where}: the morph time {shown(words[2])} is not seconds"
                raise ConfigError(why) from None
        return "scene", words[1], seconds
    raise ConfigError(f"{where}: the action is one of: {ACTIONS}")


def zone_of(name: str) -> dt.tzinfo:
    """`schedule.timezone` (an IANA name), or the machine's local zone when empty."""
    if not name:
        return _named_local()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"schedule.timezone: {shown(name)} is not a time zone name") from None


def _named_local() -> dt.tzinfo:
    """The local zone with its rules (for DST), from /etc/localtime when there is one."""
    try:
        return ZoneInfo("localtime")
    except ZoneInfoNotFoundError:
        return dt.datetime.now().astimezone().tzinfo or dt.UTC


def occurrences(
    entries: list[Entry], zone: dt.tzinfo, after: dt.datetime, until: dt.datetime
) -> list[tuple[dt.datetime, Entry]]:
    """Every (instant, entry) with after < instant <= until, in order. Instants are UTC."""
    found = []
    first = after.astimezone(zone).date() - dt.timedelta(days=1)
    last = until.astimezone(zone).date() + dt.timedelta(days=1)
    day = first
    while day <= last:
        for entry in entries:
            if day.weekday() not in entry.days:
                continue
            for minute in entry.minutes_of_day():
                wall = dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60,
                                   tzinfo=zone)  # fmt: skip
                instant = _real_instant(wall, zone)
                if after < instant <= until and (instant, entry) not in found:
                    found.append((instant, entry))  # times the clocks skip: once, at the gap's end
        day += dt.timedelta(days=1)
    found.sort(key=lambda pair: pair[0])
    return found


def _real_instant(wall: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """The UTC instant of a wall time: the first of two on the night clocks go back; for a time
    the clocks skip going forward, the first minute after the gap."""
    naive = wall.replace(tzinfo=None)
    first = wall.replace(fold=0).astimezone(dt.UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    instant = wall.replace(fold=1).astimezone(dt.UTC)  # before the gap, in the old offset
    while instant.astimezone(zone).replace(tzinfo=None) < naive:
        instant += dt.timedelta(minutes=1)
    return instant


Clock = Callable[[], dt.datetime]


class Scheduler:
    """Fires the entries on the runner thread (`ltsd-schedule`), or step by step in tests
    (`look`) with an injected clock."""

    def __init__(
        self,
        entries: list[Entry],
        zone: dt.tzinfo,
        fire: Callable[[Entry], None],
        clock: Clock = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.entries = entries
        self.zone = zone
        self.fire = fire
        self.clock = clock
        self.looked = clock()  # the newest instant looked at: nothing at or before it fires
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def look(self) -> list[Entry]:
        """Fire what fell due since the last look; returns what fired."""
        now = self.clock()
        if now <= self.looked:
            if self.looked - now > dt.timedelta(seconds=CATCH_UP_S):
                log.warning("schedule: the clock went back %s; entries already fired will not "
                            "fire again", self.looked - now)  # fmt: skip
            return []
        due = occurrences(self.entries, self.zone, self.looked, now)
        jumped = (now - self.looked).total_seconds() > CATCH_UP_S
        self.looked = now
        if jumped and len(due) > 1:
            skipped = ", ".join(f"{entry.text!r} at {_local(when, self.zone)}"
                                for when, entry in due[:-1][-5:])  # fmt: skip
            log.warning("schedule: the clock jumped (or the machine slept); %d entries passed "
                        "unfired (%s%s); applying the newest", len(due) - 1,
                        "…, " if len(due) > 6 else "", skipped)  # fmt: skip
            due = due[-1:]
        fired = []
        for when, entry in due:
            log.info("schedule: %s (%s)", entry.text, _local(when, self.zone))
            try:
                self.fire(entry)
            except LtsdError as error:
                log.error("schedule: %s: %s", entry.text, error)
            fired.append(entry)
        return fired

    def upcoming(self, hours: float = 24) -> list[tuple[dt.datetime, Entry]]:
        now = self.clock()
        return occurrences(self.entries, self.zone, now, now + dt.timedelta(hours=hours))

    def start(self) -> None:
        if not self.entries:
            return
        self._thread = threading.Thread(target=self._run, name="ltsd-schedule", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.look()
            except Exception as error:  # the schedule must never take the show down
                log.error("schedule: %s", error)


def _local(when: dt.datetime, zone: dt.tzinfo) -> str:
    return when.astimezone(zone).strftime("%a %H:%M %Z")
