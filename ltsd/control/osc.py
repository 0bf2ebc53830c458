"""OSC over UDP: an address → handler mapping generated from the parameter registry.

One thread receives datagrams in batches (all that are waiting), parses them with python-osc and
calls the handler for each message's address, skipping parameter changes that a later message in
the batch overrides. Anything a client sends — wrong types, NaN, huge strings, deep bundles, unknown
addresses — is refused with `/ltsd/error <address> <reason>` to the sender and its subscribers
(within the sender's reply budget) and one (rate-limited) log line; bytes that are not OSC at all
are counted and logged, not answered. Nothing can crash the
daemon or stall a frame. Accepted changes are
echoed to subscribers, and every second they get fps, latency, model and source.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pythonosc.osc_message_builder import BuildError, OscMessageBuilder
from pythonosc.osc_packet import OscPacket

from ltsd.config import OscConfig
from ltsd.control.commands import Controls, Status
from ltsd.control.replies import ReplyLimiter
from ltsd.control.switcher import Switcher
from ltsd.errors import LtsdError
from ltsd.params import PARAMS, ParamInfo, as_index, is_release

log = logging.getLogger(__name__)

Client = tuple[str, int]
Message = tuple[str, tuple[Any, ...], Client]

MAX_BATCH = 512  # datagrams drained from the socket before their messages are applied
RECEIVE_BUFFER_BYTES = 4 << 20  # holds a burst of knob messages while a batch is applied


@dataclass(frozen=True, slots=True)
class Route:
    """One address: how many arguments it takes, what it does, what it means (for docs).

    `alias_of` names the address an older spelling stands for: it works over OSC but is left out
    of the OSCQuery tree, where a node cannot be a parameter and a folder at once."""

    arguments: tuple[str, ...]  # argument descriptions; "[...]" ones are optional
    action: Callable[[tuple[Any, ...], Client], None]
    doc: str
    alias_of: str | None = None
    momentary: bool = False  # a command a button triggers: its release (0, F) does nothing
    in_tree: bool = True  # listed in OSCQuery (the reply plumbing is OSC-only)

    @property
    def required(self) -> int:
        return sum(1 for argument in self.arguments if not argument.startswith("["))


def param_address(prefix: str, info: ParamInfo) -> str:
    return f"{prefix}/{info.spec.group}/{info.name}" if info.spec.group else f"{prefix}/{info.name}"


def norm_address(prefix: str, info: ParamInfo) -> str:
    """The 0..1 knob address in the sibling tree: /ltsd/norm/pre/blur_factor."""
    return prefix + "/norm" + param_address("", info)


@dataclass
class OscCounters:
    received: int = 0
    accepted: int = 0
    refused: int = 0
    malformed: int = 0
    not_allowed: int = 0
    superseded: int = 0  # parameter changes overridden by a later one in the same batch


def listens_on_loopback(host: str) -> bool:
    """Only this machine can reach `host` (127.0.0.1, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


class OscServer:
    def __init__(self, config: OscConfig, controls: Controls) -> None:
        self.config = config
        self.controls = controls
        self.prefix = config.prefix
        self.counters = OscCounters()
        self.routes = build_routes(self.prefix, controls, self)
        self._subscribers: set[Client] = set()
        self._handling = threading.Lock()  # the OSC thread and the page's WebSocket both send
        self._local_replies: dict[Client, Callable[[bytes], None]] = {}
        self._replies = ReplyLimiter()
        self._switcher = Switcher()
        prefix = self.prefix  # switches of one kind: the newest waiting one wins
        self._slow = {
            f"{prefix}/model": "model",
            f"{prefix}/models/index": "model",
            f"{prefix}/models/next": None,
            f"{prefix}/models/prev": None,
            f"{prefix}/source": "source",
            f"{prefix}/scenes/recall": "model",
        }  # a recall loads a world too; fmt: skip
        for address, route in self.routes.items():
            if route.alias_of in self._slow:
                self._slow[address] = self._slow[route.alias_of]
        self.reconfigure(config)
        self._socket: socket.socket | None = None
        self._coalesce_keys = coalesce_keys(self.routes, self.prefix)
        self._norm_addresses = norm_addresses(self.routes, self.prefix)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._log_window_start = 0.0
        self._logged_in_window = 0
        controls.params.add_listener(self._echo_param)
        controls.add_listener(self._echo_state)

    def reconfigure(self, config: OscConfig) -> None:
        """Take a (reloaded) config's allow-lists, feedback targets and subscriber cap; the
        socket, host, port and prefix stay as started."""
        self._allowed = [ipaddress.ip_network(net, strict=False) for net in config.allow]
        self._reply_networks = [
            ipaddress.ip_network(net, strict=False) for net in config.reply_hosts
        ]
        self._max_subscribers = config.max_subscribers
        self._fixed_targets = {_parse_target(target) for target in config.feedback}
        self._booleans_as_numbers = config.booleans == "numbers"

    @property
    def port(self) -> int:
        return self._socket.getsockname()[1] if self._socket else self.config.port

    def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind((self.config.host, self.config.port))
        except OSError as error:
            sock.close()
            where = f"{self.config.host}:{self.config.port}"
            raise LtsdError(
                f"osc: cannot listen on {where} ({error.strerror}); a second ltsd needs its own "
                "--osc-port (and --oscquery-port, --ndi-name)"
            ) from None
        with contextlib.suppress(OSError):  # the OS may cap it; a smaller buffer still works
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
        sock.setblocking(False)
        self._socket = sock
        for target, name in (
            (self._receive_loop, "ltsd-osc"),
            (self._status_loop, "ltsd-osc-status"),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("OSC: listening on %s:%d, prefix %s", self.config.host, self.port, self.prefix)
        if not self._allowed and not listens_on_loopback(self.config.host):
            log.warning(
                "OSC: every host on the network can send to %s:%d and read OSCQuery (OSC over UDP "
                "carries no password; the page needs the access token); set osc.allow to the "
                "networks you trust, e.g. [192.168.1.0/24]", self.config.host, self.port,
            )  # fmt: skip

    def stop(self) -> None:
        self._switcher.stop()
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=1.0)
        if self._socket is not None:
            self._socket.close()

    def subscribe(self, target: Client, sender: Client) -> None:
        """Add a feedback target: the sender's own address, or one in osc.reply_hosts; at most
        osc.max_subscribers of them. Anything else would let anyone aim ltsd at anyone."""
        target = (self._reply_address(target[0], sender[0]), target[1])
        if target in self._subscribers:
            return
        if len(self._subscribers) >= self._max_subscribers:
            raise LtsdError(
                f"subscribe: {len(self._subscribers)} subscribers already "
                "(osc.max_subscribers); /unsubscribe one first"
            )
        self._subscribers.add(target)

    def unsubscribe(self, target: Client, sender: Client) -> None:
        self._subscribers.discard(target)

    def _reply_address(self, host: str, sender_host: str, what: str = "subscribe") -> str:
        address = canonical_host(host)
        if address is None:
            raise LtsdError(f"{what}: the host must be an IP address (or localhost)")
        if address == canonical_host(sender_host) or any(
            ipaddress.ip_address(address) in net for net in self._reply_networks
        ):
            return address
        raise LtsdError(
            f"{what}: only the sender's own address may be answered (osc.reply_hosts lists "
            "networks that may be named instead)"
        )

    def send(self, client: Client, address: str, *values: Any) -> None:
        if self._socket is None:  # not started (or stopped): nothing to send with
            return
        builder = OscMessageBuilder(address)
        for value in values:
            if isinstance(value, bool) and self._booleans_as_numbers:
                value = int(value)  # a CHOP channel or a [route] wants 0/1, not a bare tag
            builder.add_arg(value)
        # a subscriber that went away (or never existed) must not affect anyone else
        with contextlib.suppress(OSError, ValueError, BuildError):
            local = self._local_replies.get(client)
            if local is not None:
                local(builder.build().dgram)
            else:
                self._socket.sendto(builder.build().dgram, client)

    def connect_local(self, client: Client, reply: Callable[[bytes], None]) -> None:
        """A client that is not a UDP address (a WebSocket): its replies go through `reply`."""
        self._local_replies[client] = reply

    def disconnect_local(self, client: Client) -> None:
        self._local_replies.pop(client, None)

    def send_status(self, arguments: tuple[Any, ...], sender: Client) -> None:
        """The whole state: at PORT (and HOST) when named — where a client that sends from one
        port and listens on another hears it — else to the sender and to the subscribers on the
        sender's host. At most once per batch and a few times a second per sender."""
        if arguments:
            host, port = _reply_target(arguments, sender, "status")
            targets = {(self._reply_address(host, sender[0], "status"), port)}
        else:
            host = canonical_host(sender[0])
            targets = {sender} | {t for t in self._targets() if canonical_host(t[0]) == host}
        if not self._replies.allow(sender, "status"):
            return
        if not self._switcher.idle():  # answer once the switches asked for before it are done
            self._switcher.submit(lambda: self._send_status_now(targets))
            return
        self._send_status_now(targets)

    def _send_status_now(self, targets: set[Client]) -> None:
        status = self.controls.status()
        for client in targets:
            for name, value in status.params.items():
                self.send(client, param_address(self.prefix, PARAMS[name]), value)
            self.send(client, f"{self.prefix}/status/models", *status.models)
            self._send_status_lines(client, status)
            self.send(client, f"{self.prefix}/status/end")

    def handle_datagram(self, data: bytes, client: Client) -> None:
        self.handle_datagrams([(data, client)])

    def handle_datagrams(self, batch: list[tuple[bytes, Client]]) -> None:
        """Parse a batch of datagrams, then apply their messages in order; nothing can raise.

        A parameter change that a later message in the same batch overrides is skipped: a knob
        or a flood then costs one change per parameter per batch, not one per message. A bad
        value is answered at its place in the batch, so a `/subscribe` before it hears it.
        """
        with self._handling:
            self._handle_batch(batch)

    def _handle_batch(self, batch: list[tuple[bytes, Client]]) -> None:
        self._replies.new_batch()
        messages: list[Message] = []
        for data, client in batch:
            messages.extend(self._parse(data, client))
        refusals = [self._change_refusal(message) for message in messages]
        valid = [m for m, refusal in zip(messages, refusals, strict=True) if refusal is None]
        kept = {id(message) for message in latest_changes(valid, self._coalesce_keys)}
        self.counters.superseded += len(valid) - len(kept)
        for message, refusal in zip(messages, refusals, strict=True):
            address, arguments, client = message
            if refusal is not None:
                self._refuse(client, address, refusal)
            elif id(message) in kept:
                self._dispatch(address, arguments, client)

    def _parse(self, data: bytes, client: Client) -> list[Message]:
        self.counters.received += 1
        if not self.is_allowed(client[0]):
            self.counters.not_allowed += 1
            return []
        try:
            packet = OscPacket(data)
        except Exception:  # python-osc raises ParseError, RecursionError... on hostile input
            # Not answered: bytes that are not OSC name no address, and a reply per garbage
            # datagram would turn ltsd into an amplifier. Counted and logged instead.
            self.counters.malformed += 1
            self._log_refusal(client, "?", "malformed OSC packet")
            return []
        return [(t.message.address, tuple(t.message.params), client) for t in packet.messages]

    def _change_refusal(self, message: Message) -> str | None:
        """Why a parameter change would be refused, checked without applying it, so that every
        bad value gets its error even when a later message in the batch supersedes it."""
        address, arguments, _ = message
        name = self._coalesce_keys.get(address)
        if name is None:
            return None
        params = self.controls.params
        try:
            if not arguments:
                raise LtsdError(f"expected {self.routes[address].arguments[0]}")
            if address in self._norm_addresses:
                params.checked_norm(name, arguments[0])
            else:
                params.checked(name, arguments[0], loose=True)
        except LtsdError as error:
            return str(error)
        return None

    def _dispatch(self, address: str, arguments: tuple[Any, ...], client: Client) -> None:
        route = self.routes.get(address)
        if route is None:
            self._refuse(client, address, "unknown address")
            return
        if len(arguments) < route.required:
            expected = ", ".join(route.arguments) or "no arguments"
            self._refuse(client, address, f"expected {expected}")
            return
        if route.momentary and is_release(arguments):
            return  # a button's release: the press already did it
        if address in self._slow:  # loads and opens: on the switch thread, never this one
            kind = self._slow[address]
            if not self._switcher.submit(lambda: self._apply(route, arguments, client, address),
                                         kind):  # fmt: skip
                self._refuse(client, address, "busy: too many switches waiting")
            return
        self._apply(route, arguments, client, address)

    def _apply(
        self, route: Route, arguments: tuple[Any, ...], client: Client, address: str
    ) -> None:
        try:
            route.action(arguments, client)
        except LtsdError as error:
            self._refuse(client, address, str(error))
            return
        except Exception as error:  # a bug must cost one message, never the OSC thread
            log.exception("OSC: %s failed", address)
            self._refuse(client, address, f"internal error ({type(error).__name__})")
            return
        self.counters.accepted += 1

    def _refuse(self, client: Client, address: str, reason: str) -> None:
        """`/ltsd/error` to the sender and to every feedback target (a controller that sends
        from a port nobody listens on still hears it there), within the sender's reply budget:
        subscribers on the sender's host must not use up the sender's own answer."""
        self.counters.refused += 1
        address = address if len(address) <= 200 else address[:197] + "..."
        if self._replies.allow(client, "error"):  # one budget: the sender's, per refusal
            for target in [client, *(self._targets() - {client})]:  # the sender first, always
                self.send(target, f"{self.prefix}/error", address, reason)
        self._log_refusal(client, address, reason)

    def _log_refusal(self, client: Client, address: str, reason: str) -> None:
        """At most ten lines a second, then a count: a flood must not flood the log too."""
        now = time.monotonic()
        if now - self._log_window_start > 1.0:
            if self._logged_in_window > 10:
                log.warning("OSC: %d more refusals in the last second", self._logged_in_window - 10)
            self._log_window_start, self._logged_in_window = now, 0
        self._logged_in_window += 1
        if self._logged_in_window <= 10:
            log.warning("OSC from %s:%d refused: %s: %s", client[0], client[1], address, reason)

    def is_allowed(self, host: str) -> bool:
        """osc.allow admits `host` (an empty list admits everyone); the web server asks too."""
        if not self._allowed:
            return True
        try:
            ip = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            return False
        return any(ip in network for network in self._allowed)

    def _receive_loop(self) -> None:
        while not self._stop.is_set():
            batch = self._receive_batch(timeout_s=0.1)
            if batch:
                self.handle_datagrams(batch)

    def _receive_batch(self, timeout_s: float) -> list[tuple[bytes, Client]]:
        """Wait for a datagram, then take every one already waiting (up to MAX_BATCH)."""
        batch: list[tuple[bytes, Client]] = []
        try:
            if not select.select([self._socket], [], [], timeout_s)[0]:
                return batch
            while len(batch) < MAX_BATCH:
                data, client = self._socket.recvfrom(65536)
                batch.append((data, client[:2]))
        except (BlockingIOError, InterruptedError):
            pass  # drained
        except (OSError, ValueError):  # closed under us at shutdown, or an ICMP error
            pass
        return batch

    def _status_loop(self) -> None:
        while not self._stop.wait(1.0):
            targets = self._targets()
            if targets:
                status = self.controls.status()
                for client in targets:
                    self._send_status_lines(client, status)

    def _send_status_lines(self, client: Client, status: Status) -> None:
        for name, value in status.lines().items():
            self.send(client, f"{self.prefix}/status/{name}", value)

    def _targets(self) -> set[Client]:
        return self._subscribers | self._fixed_targets

    def _echo_param(self, name: str, value: Any) -> None:
        for client in self._targets():
            self.send(client, param_address(self.prefix, PARAMS[name]), value)

    def _echo_state(self, what: str, value: Any) -> None:
        for client in self._targets():
            self.send(client, f"{self.prefix}/{what}", value)


def build_routes(prefix: str, controls: Controls, server: OscServer) -> dict[str, Route]:
    """The address space: commands, and per registry parameter its address and its 0..1 knob
    address (in the /norm tree, and the older ADDRESS/norm spelling)."""
    step_next = Route((), lambda a, c: controls.step_model(+1), "next model (momentary)",
                      momentary=True)  # fmt: skip
    step_prev = Route((), lambda a, c: controls.step_model(-1), "previous model (momentary)",
                      momentary=True)  # fmt: skip
    by_index = Route(
        ("int index",), lambda a, c: controls.switch_model_index(a[0]),
        "switch by position in `ltsd models` order (MIDI program changes)",
    )  # fmt: skip
    routes = {
        f"{prefix}/model": Route(
            ("string name",), lambda a, c: controls.switch_model(a[0]),
            "switch model, crossfading over `crossfade` seconds",
        ),
        f"{prefix}/models/index": by_index,
        f"{prefix}/models/next": step_next,
        f"{prefix}/models/prev": step_prev,
        f"{prefix}/source": Route(
            ("string source",), lambda a, c: controls.set_source(a[0]),
            "switch the source: synthetic, ndi:NAME, camera:DEVICE, or file:PATH / images:DIR in "
            "a media folder",
        ),
        f"{prefix}/scenes/save": Route(
            ("int slot or string name", "[string name]"),
            lambda a, c: controls.save_scene(a[0], a[1] if len(a) > 1 else None),
            "store the world and every parameter in a slot (and name it)",
        ),
        f"{prefix}/scenes/recall": Route(
            ("int slot or string name", "[float seconds]"),
            lambda a, c: controls.recall_scene(a[0], a[1] if len(a) > 1 else None),
            "morph to a scene over SECONDS (default: crossfade): the world crossfades, "
            "continuous parameters ease in and out, switches change halfway",
        ),
        f"{prefix}/scenes/delete": Route(
            ("int slot or string name",), lambda a, c: controls.delete_scene(a[0]),
            "empty a slot",
        ),
        f"{prefix}/standby": Route(
            (), lambda a, c: controls.standby(True),
            "fade to black and rest the generator; the NDI sender stays (momentary)",
            momentary=True,
        ),
        f"{prefix}/wake": Route(
            (), lambda a, c: controls.standby(False), "play again after standby (momentary)",
            momentary=True,
        ),
        f"{prefix}/reset": Route(
            (), lambda a, c: controls.reset(),
            "all parameters back to the configuration's values (momentary)", momentary=True,
        ),
        f"{prefix}/status": Route(
            ("[int port]", "[string host]"), lambda a, c: server.send_status(a, c),
            "the whole state, at PORT of the sender's host (or HOST) if given, else to the "
            "sender and its host's subscribers", in_tree=False,
        ),
        f"{prefix}/subscribe": Route(
            ("int port", "[string host]"),
            lambda a, c: server.subscribe(_reply_target(a, c, "subscribe"), c),
            "add a feedback target: the sender's own address (or osc.reply_hosts)", in_tree=False,
        ),
        f"{prefix}/unsubscribe": Route(
            ("int port", "[string host]"),
            lambda a, c: server.unsubscribe(_reply_target(a, c, "unsubscribe"), c),
            "remove a feedback target", in_tree=False,
        ),
    }  # fmt: skip
    for old, new in (("index", by_index), ("next", step_next), ("prev", step_prev)):
        routes[f"{prefix}/model/{old}"] = Route(
            new.arguments, new.action, f"same as `{prefix}/models/{old}`",
            alias_of=f"{prefix}/models/{old}", momentary=new.momentary,
        )  # fmt: skip
    for info in PARAMS.values():
        routes[param_address(prefix, info)] = Route(
            (f"{_osc_type_word(info)} value",), _setter(controls, info.name), info.spec.doc
        )
    for info in PARAMS.values():
        knob = Route(("float 0..1",), _norm_setter(controls, info.name),
                     f"{info.name} mapped from 0..1 onto its range (knobs)")  # fmt: skip
        routes[norm_address(prefix, info)] = knob
        routes[param_address(prefix, info) + "/norm"] = Route(
            knob.arguments, knob.action, f"same as `{norm_address(prefix, info)}`",
            alias_of=norm_address(prefix, info),
        )  # fmt: skip
    return routes


def coalesce_keys(routes: dict[str, Route], prefix: str) -> dict[str, str]:
    """Address → the parameter it sets, for the addresses whose messages may be coalesced."""
    keys = {}
    for info in PARAMS.values():
        address = param_address(prefix, info)
        keys[address] = keys[address + "/norm"] = keys[norm_address(prefix, info)] = info.name
    return {address: name for address, name in keys.items() if address in routes}


def norm_addresses(routes: dict[str, Route], prefix: str) -> frozenset[str]:
    """Every address that takes a 0..1 knob position, in both spellings."""
    knobs = set()
    for info in PARAMS.values():
        knobs |= {norm_address(prefix, info), param_address(prefix, info) + "/norm"}
    return frozenset(knobs & routes.keys())


def latest_changes(messages: list[Message], keys: dict[str, str]) -> list[Message]:
    """`messages` without the parameter changes that a later change of the same parameter
    overrides. Any other message (a model switch, reset, status) is a barrier: changes on either
    side of it are kept, so every command still sees the state the client built up before it."""
    kept: list[Message] = []
    later: set[str] = set()
    for message in reversed(messages):
        key = keys.get(message[0])
        if key is None:
            later.clear()
        elif key in later:
            continue
        else:
            later.add(key)
        kept.append(message)
    kept.reverse()
    return kept


def _setter(controls: Controls, name: str) -> Callable[[tuple[Any, ...], Client], None]:
    return lambda arguments, client: controls.set_param(name, arguments[0])


def _norm_setter(controls: Controls, name: str) -> Callable[[tuple[Any, ...], Client], None]:
    return lambda arguments, client: controls.set_param_norm(name, arguments[0], knob=client)


def _osc_type_word(info: ParamInfo) -> str:
    if info.kind is bool:
        return "bool"
    if info.spec.choices is not None:
        return "string"
    return "int" if info.kind is int else "float"


def _reply_target(arguments: tuple[Any, ...], client: Client, what: str) -> Client:
    """(host, port) from `PORT [HOST]` arguments; the sender's host when HOST is left out."""
    port = as_index(arguments[0])
    if port is None or not 1 <= port <= 65535:
        raise LtsdError(f"{what}: expected a port from 1 to 65535, got {arguments[0]!r}"[:200])
    host = arguments[1] if len(arguments) > 1 else client[0]
    if not isinstance(host, str) or not host or len(host) > 253:
        raise LtsdError(f"{what}: expected a host name or address")
    return canonical_host(host) or host, port  # one client is one target, however spelt


def canonical_host(host: str) -> str | None:
    """One spelling per address: localhost → 127.0.0.1, ::ffff:a.b.c.d → a.b.c.d, IPv6
    compressed; None when `host` is not an IP address (names are never resolved)."""
    host = host.strip().lower().rstrip(".")
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


def _parse_target(text: str) -> Client:
    host, _, port = text.rpartition(":")
    return host, int(port)
