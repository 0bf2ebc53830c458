"""OSCQuery: the OSC address space as HTTP + JSON, so ossia score, Chataigne, Open Stage Control,
VDMX and other OSCQuery controllers list every parameter without anyone typing addresses.

Follows the OSCQuery proposal (Vidvox): `GET /` is the whole namespace, `GET /PATH` one node,
`?HOST_INFO` the server's description, `?VALUE` (or another attribute) one attribute. Values are
read live from the parameter store. The HTTP side and LISTEN are ltsd/web (one server with the
page); this module is what they say. Advertised over mDNS as `_oscjson._tcp` and `_osc._udp`
when the optional `zeroconf` package is installed (the "mdns" extra).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import threading
from typing import Any

from ltsd.control.commands import STATUS_LINES
from ltsd.control.osc import OscServer, canonical_host, norm_address, param_address
from ltsd.params import PARAMS, ParamInfo

log = logging.getLogger(__name__)
WILDCARD_HOSTS = ("", "0.0.0.0", "::")

ACCESS_READ, ACCESS_WRITE, ACCESS_READ_WRITE = 1, 2, 3
EXTENSIONS = {
    "ACCESS": True, "VALUE": True, "RANGE": True, "DESCRIPTION": True, "TYPE": True,
    "UNIT": True, "TAGS": False, "CLIPMODE": True, "LISTEN": True, "PATH_CHANGED": False,
}  # fmt: skip


def osc_type_tag(info: ParamInfo) -> str:
    if info.kind is bool:
        return "T"  # OSCQuery writes booleans as T (or F); VALUE carries the current one
    if info.spec.choices is not None:
        return "s"
    return "i" if info.kind is int else "f"


def namespace(osc: OscServer) -> dict[str, Any]:
    """The full OSCQuery tree, values read live.

    Every address is a leaf (a method) and every folder only a folder, as strict clients
    (Chataigne, python-oscquery) require: 0..1 knobs live in the sibling /norm tree, model
    stepping under /models, read-only status values under /status. Older spellings (ADDRESS/norm,
    /model/next) and the OSC-only plumbing (/status, /subscribe) work over OSC but are not listed.
    """
    prefix = osc.prefix
    status = osc.controls.status()
    parameters = {param_address(prefix, info): info for info in PARAMS.values()}
    knobs = {norm_address(prefix, info): info for info in PARAMS.values()}
    index = status.models.index(status.model) if status.model in status.models else 0
    special: dict[str, dict[str, Any]] = {
        f"{prefix}/model": {"TYPE": "s", "ACCESS": ACCESS_READ_WRITE, "VALUE": [status.model],
                            "RANGE": [{"VALS": status.models}]},
        f"{prefix}/models/index": {"TYPE": "i", "ACCESS": ACCESS_READ_WRITE, "VALUE": [index],
                                   "RANGE": [{"MIN": 0, "MAX": max(0, len(status.models) - 1)}],
                                   "CLIPMODE": ["none"]},
        f"{prefix}/source": {"TYPE": "s", "ACCESS": ACCESS_READ_WRITE, "VALUE": [status.source]},
        # a menu of the scenes by name, as /ltsd/model is of the worlds (a slot number works too)
        f"{prefix}/scenes/recall": {"TYPE": "s", "ACCESS": ACCESS_WRITE, "VALUE": [""],
                                    "RANGE": [{"VALS": osc.controls.scene_names()}]},
    }  # fmt: skip
    root: dict[str, Any] = {"FULL_PATH": "/", "ACCESS": 0, "CONTENTS": {}}
    for address, route in osc.routes.items():
        if route.alias_of or not route.in_tree:
            continue
        node = _node_at(root, address)
        node["DESCRIPTION"] = route.doc
        if address in parameters:
            info = parameters[address]
            node.update(_parameter_attributes(info, status.params[info.name]))
        elif address in knobs:
            info = knobs[address]
            node.update({"TYPE": "f", "ACCESS": ACCESS_READ_WRITE,
                         "VALUE": [info.to_norm(status.params[info.name])],
                         "RANGE": [{"MIN": 0.0, "MAX": 1.0}], "CLIPMODE": ["both"]})  # fmt: skip
        elif address in special:
            node.update(special[address])
        else:  # a command: a bang (nil) that a trigger or a button's press sends
            node.update({"TYPE": "N", "ACCESS": ACCESS_WRITE, "VALUE": [None]})
    for name, value in status.lines().items():
        line = STATUS_LINES[name]
        node = _node_at(root, f"{prefix}/status/{name}")
        node.update({"TYPE": line.kind, "ACCESS": ACCESS_READ, "VALUE": [value],
                     "DESCRIPTION": line.doc})  # fmt: skip
        if line.unit:
            node["UNIT"] = [line.unit]
    node = _node_at(root, f"{prefix}/schedule")  # a LISTEN client hears each entry as it fires
    node.update({"TYPE": "s", "ACCESS": ACCESS_READ, "VALUE": [osc.controls.last_entry],
                 "DESCRIPTION": "the schedule entry that fired last ('' before any)"})  # fmt: skip
    return root


def host_info(osc: OscServer) -> dict[str, Any]:
    info = {
        "NAME": "ltsd",
        "OSC_PORT": osc.port,
        "OSC_TRANSPORT": "UDP",
        "EXTENSIONS": EXTENSIONS,
    }
    if osc.config.host not in WILDCARD_HOSTS:  # else the address the client reached us on
        info["OSC_IP"] = osc.config.host
    return info


def _parameter_attributes(info: ParamInfo, value: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "TYPE": osc_type_tag(info),
        "ACCESS": ACCESS_READ_WRITE,
        "VALUE": [value],
    }
    if info.spec.choices is not None:
        attributes["RANGE"] = [{"VALS": list(info.spec.choices)}]
    elif info.kind is not bool:
        attributes["RANGE"] = [{"MIN": info.spec.minimum, "MAX": info.spec.maximum}]
        attributes["CLIPMODE"] = ["both"]
    if info.spec.unit:
        attributes["UNIT"] = [info.spec.unit]
    return attributes


def _node_at(root: dict[str, Any], address: str) -> dict[str, Any]:
    node = root
    path = ""
    for part in address.strip("/").split("/"):
        path += "/" + part
        node = node.setdefault("CONTENTS", {}).setdefault(
            part,
            {"FULL_PATH": path, "ACCESS": 0},  # a folder until given a value
        )
    return node


def answer(osc: OscServer, path: str, query: str) -> tuple[int, dict[str, Any] | None]:
    """An OSCQuery request's (HTTP status, JSON body): the node at `path`, one attribute of it
    (204 when it has none), or `?HOST_INFO`."""
    if query == "HOST_INFO":
        return 200, host_info(osc)
    node = _find(namespace(osc), path)
    if node is None:
        return 404, None
    if not query:
        return 200, node
    if query not in node:
        return 204, None
    return 200, {query: node[query]}


def _find(root: dict[str, Any], path: str) -> dict[str, Any] | None:
    node = root
    for part in [p for p in path.strip("/").split("/") if p]:
        node = node.get("CONTENTS", {}).get(part)
        if node is None:
            return None
    return node


class MdnsAnnouncement:
    """ltsd's services on mDNS while it runs, when the optional zeroconf package is installed.

    Registering probes the network for a name clash, about 1.5 s a service: it runs on its own
    thread, so the first output frame never waits for it. `stop` says goodbye (controllers drop
    ltsd from their lists) on a thread of its own too, and waits for it at most STOP_WAIT_S:
    a goodbye during a registration still probing waits for the probe (over a second), and
    ltsd promises to stop within 2 s, so past that the process ends without it and controllers
    drop ltsd when its records expire instead."""

    STOP_WAIT_S = 0.4

    def __init__(self, osc: OscServer, host: str, port: int) -> None:
        self.osc = osc
        self.host = host
        self.port = port  # the HTTP (OSCQuery) port actually bound
        self._mdns: Any = None
        self._lock = threading.Lock()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._announce, name="ltsd-mdns", daemon=True)
        self._thread.start()

    def _announce(self) -> None:
        """Announce `_oscjson._tcp` (OSCQuery) and `_osc._udp` (plain OSC browsers) over mDNS,
        where ltsd listens: on loopback only when it listens on loopback (an OSC server nobody
        else can reach is not announced to the LAN), else with every LAN address it has."""
        try:
            from zeroconf import InterfaceChoice, ServiceInfo, Zeroconf, get_all_addresses
        except ImportError:
            return  # optional: zeroconf (the "mdns" extra) for mDNS discovery
        try:
            listening = canonical_host(self.host) if self.host not in WILDCARD_HOSTS else None
            addresses = announced_addresses(self.host, get_all_addresses())
            name = instance_name(socket.gethostname(), self.port)
            packed = [socket.inet_aton(address) for address in addresses]
            server = f"{name}.local."
            services = [
                ServiceInfo("_oscjson._tcp.local.", f"{name}._oscjson._tcp.local.",
                            addresses=packed, port=self.port, server=server,
                            properties={"txtvers": "1", "osc_port": str(self.osc.port),
                                        "osc_transport": "UDP", "path": "/"}),
                ServiceInfo("_osc._udp.local.", f"{name}._osc._udp.local.", addresses=packed,
                            port=self.osc.port, server=server,
                            properties={"txtvers": "1", "oscquery_port": str(self.port)}),
            ]  # fmt: skip
            with self._lock:
                if self._stopped:
                    return
                zeroconf = self._mdns = Zeroconf(
                    interfaces=[listening] if listening else InterfaceChoice.All
                )
            for info in services:  # a taken name is renamed (NAME-2): say which one we got
                zeroconf.register_service(info, allow_name_change=True)
            names = " and ".join(info.name for info in services)
            log.info("OSCQuery: advertised over mDNS as %s at %s", names, ", ".join(addresses))
        except Exception as error:  # mDNS is a convenience; no network for it must not stop ltsd
            if not self._stopped:
                log.warning("OSCQuery: not advertised over mDNS (%s)", error)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            zeroconf = self._mdns
        if zeroconf is None:
            return
        goodbye = threading.Thread(target=zeroconf.close, name="ltsd-mdns-goodbye", daemon=True)
        goodbye.start()
        goodbye.join(timeout=self.STOP_WAIT_S)


def instance_name(hostname: str, port: int) -> str:
    """`ltsd-HOST-PORT`: two ltsd on one machine, or one on each of two, never share a name."""
    host = re.sub(r"[^A-Za-z0-9-]+", "-", hostname.split(".")[0]).strip("-")[:40] or "host"
    return f"ltsd-{host}-{port}"


def announced_addresses(host: str, interface_addresses: list[str]) -> list[str]:
    """The IPv4 addresses to announce: the one ltsd listens on, or — listening on every
    interface — each non-loopback address of the machine (the host name's address is often
    127.0.1.1 on Debian and Ubuntu, useless to the LAN); loopback only when there is no other."""
    if host not in WILDCARD_HOSTS:
        return [canonical_host(host) or socket.gethostbyname(host)]
    usable = []
    for text in interface_addresses:
        address = ipaddress.ip_address(text)
        if address.version == 4 and not (address.is_loopback or address.is_link_local):
            usable.append(str(address))
    return sorted(set(usable)) or ["127.0.0.1"]
