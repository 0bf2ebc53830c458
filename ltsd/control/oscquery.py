"""OSCQuery: the OSC address space as HTTP + JSON, so ossia score, Chataigne, Open Stage Control,
VDMX and other OSCQuery controllers list every parameter without anyone typing addresses.

Follows the OSCQuery proposal (Vidvox): `GET /` is the whole namespace, `GET /PATH` one node,
`?HOST_INFO` the server's description, `?VALUE` (or another attribute) one attribute. Values are
read live from the parameter store. Advertised over mDNS as `_oscjson._tcp` when the optional
`zeroconf` package is installed (`pip install "ltsd[mdns]"`).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from ltsd.control.osc import OscServer, param_address
from ltsd.errors import LtsdError
from ltsd.params import PARAMS, ParamInfo

log = logging.getLogger(__name__)
MAX_CONNECTIONS = 64
IDLE_TIMEOUT_S = 5.0

ACCESS_READ, ACCESS_WRITE, ACCESS_READ_WRITE = 1, 2, 3
EXTENSIONS = {
    "ACCESS": True, "VALUE": True, "RANGE": True, "DESCRIPTION": True, "TYPE": True,
    "UNIT": True, "TAGS": False, "CLIPMODE": True, "LISTEN": False, "PATH_CHANGED": False,
}  # fmt: skip


def osc_type_tag(info: ParamInfo) -> str:
    if info.kind is bool:
        return "T"  # OSCQuery writes booleans as T (or F); VALUE carries the current one
    if info.spec.choices is not None:
        return "s"
    return "i" if info.kind is int else "f"


def namespace(osc: OscServer) -> dict[str, Any]:
    """The full OSCQuery tree: every route of the OSC server, parameters with live values."""
    values = osc.controls.status().params
    parameter_nodes = {param_address(osc.prefix, info): info for info in PARAMS.values()}
    root: dict[str, Any] = {"FULL_PATH": "/", "CONTENTS": {}}
    for address, route in sorted(osc.routes.items()):
        node = _node_at(root, address)
        node["DESCRIPTION"] = route.doc
        info = parameter_nodes.get(address)
        if info is not None:
            node.update(_parameter_attributes(info, values[info.name]))
        elif address.endswith("/norm"):
            node.update({"TYPE": "f", "ACCESS": ACCESS_WRITE, "RANGE": [{"MIN": 0.0, "MAX": 1.0}],
                         "CLIPMODE": "both"})  # fmt: skip
        else:
            node.update({"TYPE": _command_type(route.arguments), "ACCESS": ACCESS_WRITE})
    return root


def host_info(osc: OscServer) -> dict[str, Any]:
    return {
        "NAME": "ltsd",
        "OSC_PORT": osc.port,
        "OSC_TRANSPORT": "UDP",
        "EXTENSIONS": EXTENSIONS,
    }


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
        attributes["CLIPMODE"] = "both"
    if info.spec.unit:
        attributes["UNIT"] = [info.spec.unit]
    return attributes


def _command_type(arguments: tuple[str, ...]) -> str:
    words = [a.strip("[]").split()[0] for a in arguments]
    return "".join(
        {"int": "i", "float": "f", "string": "s", "bool": "T"}.get(w, "s") for w in words
    )


def _node_at(root: dict[str, Any], address: str) -> dict[str, Any]:
    node = root
    path = ""
    for part in address.strip("/").split("/"):
        path += "/" + part
        node = node.setdefault("CONTENTS", {}).setdefault(part, {"FULL_PATH": path})
    return node


def _find(root: dict[str, Any], path: str) -> dict[str, Any] | None:
    node = root
    for part in [p for p in path.strip("/").split("/") if p]:
        node = node.get("CONTENTS", {}).get(part)
        if node is None:
            return None
    return node


class OscQueryServer:
    def __init__(self, osc: OscServer, host: str, port: int) -> None:
        self.osc = osc
        self.host = host
        self.requested_port = port
        self._http: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._mdns: Any = None

    @property
    def port(self) -> int:
        return self._http.server_address[1] if self._http else self.requested_port

    def start(self) -> None:
        handler = _handler_for(self.osc)
        try:
            self._http = BoundedHTTPServer((self.host, self.requested_port), handler)
        except OSError as error:
            where = f"{self.host}:{self.requested_port}"
            raise LtsdError(
                f"oscquery: cannot listen on {where} ({error.strerror}); a second ltsd needs its "
                "own --oscquery-port (and --osc-port, --ndi-name)"
            ) from None
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, name="ltsd-oscquery",
                                        kwargs={"poll_interval": 0.2}, daemon=True)  # fmt: skip
        self._thread.start()
        self._advertise()
        log.info("OSCQuery: http://%s:%d/", self.host, self.port)

    def stop(self) -> None:
        if self._mdns is not None:
            self._mdns.close()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()

    def _advertise(self) -> None:
        """Announce `_oscjson._tcp` over mDNS where ltsd listens: on loopback only when it listens
        on loopback (an OSC server nobody else can reach is not announced to the LAN)."""
        try:
            from zeroconf import InterfaceChoice, ServiceInfo, Zeroconf
        except ImportError:
            return  # optional: `pip install "ltsd[mdns]"` for mDNS discovery
        try:
            loopback = ipaddress.ip_address(socket.gethostbyname(self.host)).is_loopback
            listening = self.host not in ("", "0.0.0.0", "::")
            shown = socket.gethostbyname(self.host if listening else socket.gethostname())
            info = ServiceInfo("_oscjson._tcp.local.", f"ltsd-{self.port}._oscjson._tcp.local.",
                               addresses=[socket.inet_aton(shown)], port=self.port,
                               server=f"ltsd-{self.port}.local.")  # fmt: skip
            zeroconf = Zeroconf(interfaces=[shown] if loopback else InterfaceChoice.All)
            zeroconf.register_service(info)
            self._mdns = zeroconf
            log.info("OSCQuery: advertised over mDNS as %s", info.name)
        except Exception as error:  # mDNS is a convenience; no network for it must not stop ltsd
            log.warning("OSCQuery: not advertised over mDNS (%s)", error)


class BoundedHTTPServer(ThreadingHTTPServer):
    """At most MAX_CONNECTIONS at once (more are closed on arrival), each dropped after
    IDLE_TIMEOUT_S without a byte: idle or slow clients cannot use up threads or descriptors and
    lock everyone else out."""

    request_queue_size = 128  # the listen backlog: a burst of connections is accepted, not dropped

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def _handler_for(osc: OscServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = IDLE_TIMEOUT_S  # per socket operation: a silent client is dropped

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.query == "HOST_INFO":
                self._json(host_info(osc))
                return
            node = _find(namespace(osc), url.path)
            if node is None:
                self.send_error(HTTPStatus.NOT_FOUND, "no such OSC address")
                return
            if url.query:
                if url.query not in node:
                    self.send_error(HTTPStatus.NO_CONTENT)
                    return
                self._json({url.query: node[url.query]})
                return
            self._json(node)

        def _json(self, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("OSCQuery: " + format, *args)

    return Handler
