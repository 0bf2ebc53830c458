"""A real python-osc UDP client that can also read what the daemon answers."""

from __future__ import annotations

import subprocess
import time
from types import SimpleNamespace
from typing import Any

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.udp_client import UDPClient


class OscPeer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.client = UDPClient("127.0.0.1", port, timeout=0.5)

    def send(self, address: str, *values: Any) -> None:
        builder = OscMessageBuilder(address)
        for value in values:
            builder.add_arg(value)
        self.client.send(builder.build())

    def send_raw(self, datagram: bytes) -> None:
        """Any bytes at all, through the same client (it sends whatever has a .dgram)."""
        self.client.send(SimpleNamespace(dgram=datagram))

    def messages(self, until: str, timeout_s: float = 5.0) -> list[tuple[str, list[Any]]]:
        """Messages received until one at address `until` (inclusive), or the timeout."""
        received: list[tuple[str, list[Any]]] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                datagram = self.client.receive(0.5)  # b"" when nothing came in time
            except OSError:  # ICMP "port unreachable" while the daemon is still starting
                time.sleep(0.1)
                continue
            if not datagram:
                continue
            message = OscMessage(datagram)
            received.append((message.address, list(message.params)))
            if message.address == until:
                break
        return received

    def status(self) -> dict[str, Any]:
        """`/ltsd/status` as {address: value(s)}; the last answer wins. Asked again when no
        answer comes within a second, as a controller would: ltsd answers a sender at most ten
        times a second."""
        state: dict[str, Any] = {}
        for _ in range(5):
            self.send("/ltsd/status")
            for address, values in self.messages(until="/ltsd/status/end", timeout_s=1.0):
                state[address] = (
                    values if address == "/ltsd/status/models" else (values or [None])[0]
                )
            if "/ltsd/status/end" in state:
                return state
        raise AssertionError("no status reply")

    def wait_for(self, process: subprocess.Popen, timeout_s: float = 30.0) -> None:
        """Until the daemon `process` answers a status request; its log if it dies first."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                self.status()
                return
            except AssertionError:
                assert process.poll() is None, process.communicate()[1]

    def close(self) -> None:
        self.client.close()
