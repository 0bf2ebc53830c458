"""OSCQuery LISTEN over a WebSocket: live values for ossia score, Chataigne and the page.

A client sends `{"COMMAND": "LISTEN", "DATA": "/ltsd/pre/contrast"}` (or `IGNORE`) as text; from
then on every change at that address reaches it as a binary OSC message, as the proposal says.
It may also send binary OSC messages: they go through the OSC server like UDP ones (same routes,
coercions, allow-list and refusals), and their `/ltsd/error` replies come back on the socket.

Changes are heard on whatever thread makes them (OSC, switch, reload) and handed to the event
loop; each client has a bounded outbox that one writer task drains, so a slow client loses its
oldest messages and never holds anyone up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from pythonosc.osc_message_builder import OscMessageBuilder

from ltsd.control.osc import Client, OscServer, norm_address, param_address
from ltsd.control.oscquery import ACCESS_READ, namespace
from ltsd.params import PARAMS

log = logging.getLogger(__name__)
OUTBOX = 256  # messages waiting per client; older ones are dropped beyond
MAX_LISTENED = 1024  # addresses one client may listen to (more than the tree has)
MAX_COMMAND_CHARACTERS = 4096
STATUS_PERIOD_S = 1.0
LOCAL_PORT_BASE = 65536  # WebSocket clients' reply keys lie above every UDP port


@dataclass(eq=False)
class Listener:
    socket: web.WebSocketResponse
    client: Client
    addresses: set[str] = field(default_factory=set)
    outbox: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(OUTBOX))
    unanswered: set[str] = field(default_factory=set)  # listened to, current value not yet sent

    def post(self, datagram: bytes) -> None:
        if self.outbox.full():
            self.outbox.get_nowait()  # the oldest goes: a stalled page must not grow memory
        self.outbox.put_nowait(datagram)


class ListenHub:
    def __init__(self, osc: OscServer, loop: asyncio.AbstractEventLoop) -> None:
        self.osc = osc
        self.loop = loop
        self.prefix = osc.prefix
        self.listeners: set[Listener] = set()
        self._next_port = LOCAL_PORT_BASE
        self._known: frozenset[str] = frozenset()
        self._addresses_made = -math.inf
        osc.controls.params.add_listener(self._param_changed)
        osc.controls.add_listener(self._state_changed)

    async def serve(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(heartbeat=10.0, max_msg_size=65536, compress=False)
        await socket.prepare(request)
        self._next_port += 1
        listener = Listener(socket, (request.remote or "?", self._next_port))
        self.osc.connect_local(listener.client, self._reply_to(listener))
        self.listeners.add(listener)
        writer = asyncio.ensure_future(self._write(listener))
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    self._command(listener, message.data)
                elif message.type == WSMsgType.BINARY:
                    self.osc.handle_datagrams([(message.data, listener.client)])
        finally:
            self.listeners.discard(listener)
            self.osc.disconnect_local(listener.client)
            writer.cancel()
        return socket

    async def send_status(self) -> None:
        """Once a second, the status values to whoever listens to them."""
        while True:
            await asyncio.sleep(STATUS_PERIOD_S)
            if any(
                a.startswith(f"{self.prefix}/status/") for s in self.listeners for a in s.addresses
            ):
                status = self.osc.controls.status()
                lines = status.lines().items()
                self._fan_out([(f"{self.prefix}/status/{k}", v) for k, v in lines])

    def _command(self, listener: Listener, text: str) -> None:
        """LISTEN or IGNORE one address. Only addresses in the OSCQuery tree are listened to:
        each one kept costs memory for as long as the client stays, and memory a client made
        Python take is not given back when it leaves (1,024 made-up 60 kB addresses cost 59 MB,
        issue #29). A refusal is an `/ltsd/error` on the socket, as for OSC."""
        if len(text) > MAX_COMMAND_CHARACTERS:
            self._refuse(listener, "", f"a command of at most {MAX_COMMAND_CHARACTERS} characters")
            return
        try:
            command = json.loads(text)
            verb, address = command["COMMAND"], command["DATA"]
        except (ValueError, TypeError, KeyError, RecursionError):
            log.debug("LISTEN: not a command: %.80r", text)
            return
        if not isinstance(address, str):
            return
        if verb == "LISTEN":
            if address not in self._addresses():
                self._refuse(listener, address, "LISTEN: no such address in the OSCQuery tree")
            elif len(listener.addresses) >= MAX_LISTENED:
                self._refuse(listener, address, f"LISTEN: {MAX_LISTENED} addresses already")
            else:
                listener.addresses.add(address)
                if not listener.unanswered:
                    self.loop.call_soon(self._send_current_values, listener)
                listener.unanswered.add(address)
        elif verb == "IGNORE":
            listener.addresses.discard(address)
            listener.unanswered.discard(address)

    def _send_current_values(self, listener: Listener) -> None:
        """The current value of each address just listened to, from one reading of the tree for
        all the LISTENs that arrived together (the page sends forty at once)."""
        values = tree_values(namespace(self.osc))
        for address in sorted(listener.unanswered):
            if address in values:
                listener.post(osc_message(address, values[address]))
        listener.unanswered.clear()

    def _addresses(self) -> frozenset[str]:
        """Every address of the OSCQuery tree, made again at most once a second."""
        now = self.loop.time()
        if now - self._addresses_made > 1.0:
            self._known = frozenset(tree_addresses(namespace(self.osc)))
            self._addresses_made = now
        return self._known

    def _refuse(self, listener: Listener, address: str, why: str) -> None:
        builder = OscMessageBuilder(f"{self.prefix}/error")
        builder.add_arg(address[:80])
        builder.add_arg(why)
        listener.post(builder.build().dgram)

    def _reply_to(self, listener: Listener) -> Any:
        """The OSC server's replies (errors) for this client, posted from its thread."""
        return lambda datagram: self.loop.call_soon_threadsafe(listener.post, datagram)

    async def _write(self, listener: Listener) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while not listener.socket.closed:
                await listener.socket.send_bytes(await listener.outbox.get())

    def _param_changed(self, name: str, value: Any) -> None:
        info = PARAMS[name]
        changes = [(param_address(self.prefix, info), value),
                   (norm_address(self.prefix, info), float(info.to_norm(value)))]  # fmt: skip
        self.loop.call_soon_threadsafe(self._fan_out, changes)

    def _state_changed(self, what: str, value: Any) -> None:
        changes = [(f"{self.prefix}/{what}", value)]
        if what == "model":
            models = self.osc.controls.library.names()
            if value in models:
                changes.append((f"{self.prefix}/models/index", models.index(value)))
        self.loop.call_soon_threadsafe(self._fan_out, changes)

    def _fan_out(self, changes: list[tuple[str, Any]]) -> None:
        for address, value in changes:
            datagram: bytes | None = None
            for listener in self.listeners:
                if address in listener.addresses:
                    datagram = datagram or osc_message(address, value)
                    listener.post(datagram)


def tree_addresses(node: dict[str, Any]) -> list[str]:
    """The FULL_PATH of `node` and of every node below it."""
    addresses = [node["FULL_PATH"]] if "FULL_PATH" in node else []
    for child in node.get("CONTENTS", {}).values():
        addresses += tree_addresses(child)
    return addresses


def tree_values(node: dict[str, Any]) -> dict[str, Any]:
    """FULL_PATH → value of every node below `node` that can be read and holds one value."""
    values = {}
    value = node.get("VALUE", ())
    if node.get("ACCESS", 0) & ACCESS_READ and len(value) == 1 and value[0] is not None:
        values[node["FULL_PATH"]] = value[0]
    for child in node.get("CONTENTS", {}).values():
        values.update(tree_values(child))
    return values


def osc_message(address: str, value: Any) -> bytes:
    builder = OscMessageBuilder(address)
    builder.add_arg(value)  # booleans as T/F: OSCQuery's type for them
    return builder.build().dgram
