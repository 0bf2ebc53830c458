"""systemd's notify protocol, spoken directly (a datagram to $NOTIFY_SOCKET; no dependency).

Under `Type=notify` ltsd says READY=1 once output flows (or once it is waiting for its source,
so a camera that is off at boot does not make systemd give up), and the frame thread pings
WATCHDOG=1 while it goes round: if it hangs (a stuck driver, a blocked write), the pings stop
and systemd restarts ltsd after `WatchdogSec`. Outside systemd every call does nothing.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time


class ServiceNotifier:
    def __init__(self, environ: dict[str, str] | None = None) -> None:
        environ = dict(os.environ) if environ is None else environ
        address = environ.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        watchdog_usec = environ.get("WATCHDOG_USEC", "")
        watchdog_pid = environ.get("WATCHDOG_PID", "")
        self.watchdog_s = 0.0
        if watchdog_usec.isdigit() and (not watchdog_pid or watchdog_pid == str(os.getpid())):
            self.watchdog_s = int(watchdog_usec) / 1e6
        self._socket: socket.socket | None = None
        if self._address:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._ready = False
        self._last_ping = 0.0

    @property
    def ready_sent(self) -> bool:
        return self._ready

    def ready(self, status: str) -> None:
        if not self._ready:
            self._ready = True
            self._send(f"READY=1\nSTATUS={status}")

    def ping(self) -> None:
        """Called every time round the frame loop; sends at most twice per watchdog period."""
        if not self.watchdog_s:
            return
        now = time.monotonic()
        if now - self._last_ping >= self.watchdog_s / 2:
            self._last_ping = now
            self._send("WATCHDOG=1")

    def status(self, text: str) -> None:
        self._send(f"STATUS={text}")

    def stopping(self) -> None:
        self._send("STOPPING=1")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def _send(self, message: str) -> None:
        if self._socket is None:
            return
        with contextlib.suppress(OSError):  # systemd gone or restarting: never our problem
            self._socket.sendto(message.encode(), self._address)
