"""SIGHUP: read the config file again and apply, while running, what can change while running.

Live: the parameters (only those the file changed since it was last read, so a knob turned over
OSC is not reset by an unrelated edit), OSC's allow-list and feedback targets, the media folders
OSC may open, and the log level. Everything else (ports, the output's name, the device…) is named
in the log as needing a restart. A file that no longer validates is refused with one line and the
running configuration is kept.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable

from ltsd.config import Config
from ltsd.errors import LtsdError
from ltsd.logs import LEVELS
from ltsd.params import PARAMS, ParamStore

log = logging.getLogger(__name__)
LIVE_FIELDS = {
    "osc.allow", "osc.feedback", "osc.reply_hosts", "osc.max_subscribers", "osc.booleans",
    "source.media_dirs", "log.level",
}  # fmt: skip


class ConfigReloader:
    def __init__(
        self,
        running: Config,
        load: Callable[[], Config] | None,
        params: ParamStore,
        apply_live: Callable[[Config], None],
    ) -> None:
        self.started = running  # what needs a restart to change runs as it started
        self.last_read = running  # parameters are compared with the file as last read
        self._load = load
        self._params = params
        self._apply_live = apply_live  # hands the new OSC/source settings to their owners
        self._lock = threading.Lock()

    def reload(self) -> None:
        """Re-read and apply; never raises (it runs on a thread started by a signal)."""
        with self._lock:
            try:
                self._reload()
            except LtsdError as error:
                log.error("config reload refused: %s (the running config is kept)", error)
            except Exception:
                log.exception("config reload failed (the running config is kept)")

    def _reload(self) -> None:
        if self._load is None:
            log.warning("SIGHUP: ltsd was started without --config; nothing to reload")
            return
        new, last = self._load(), self.last_read
        changed = [n for n in PARAMS if getattr(new.params, n) != getattr(last.params, n)]
        for name in changed:
            self._params.set(name, getattr(new.params, name))
        self._params.set_initial(new.params)
        self._apply_live(new)
        logging.getLogger().setLevel(LEVELS[new.log.level])
        self.last_read = new
        restart = [  # compared with what runs: it stays named until ltsd is restarted
            name for name in differing_fields(self.started, new)
            if not name.startswith("params.") and name not in LIVE_FIELDS
        ]  # fmt: skip
        log.info(
            "config reloaded: %s%s",
            f"{len(changed)} parameter(s) changed ({', '.join(changed)})" if changed
            else "no parameter changed",
            f"; needs a restart to take effect: {', '.join(restart)}" if restart else "",
        )  # fmt: skip


def differing_fields(old: Config, new: Config) -> list[str]:
    """'section.field' for every setting that differs between two configs."""
    names = []
    for section in dataclasses.fields(Config):
        before, after = getattr(old, section.name), getattr(new, section.name)
        for item in dataclasses.fields(before):
            if getattr(before, item.name) != getattr(after, item.name):
                names.append(f"{section.name}.{item.name}")
    return names
