"""One HTTP server on the OSCQuery port: the OSCQuery JSON, its LISTEN WebSocket, the page, and
the page's preview streams. aiohttp on its own event loop in one thread (docs/architecture.md).

`GET /` answers a browser (`Accept: text/html`) with the page and everyone else with the
OSCQuery namespace, so OSCQuery clients see what they always saw. The same bind address and
allow-list as OSC; at most MAX_CONNECTIONS at once (the oldest idle one, of the host holding
the most, makes room for a new one) and a connection silent for IDLE_TIMEOUT_S before its request
is dropped, so idle or slow clients cannot lock anyone out. No file is served but the page's
own assets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import ssl
import sys
import threading
from collections import Counter
from importlib import resources
from typing import Any

from aiohttp import web

from ltsd.config import WebConfig
from ltsd.control.osc import OscServer, listens_on_loopback
from ltsd.control.oscquery import MdnsAnnouncement, answer, instance_name
from ltsd.errors import LtsdError
from ltsd.sinks.preview import PreviewSink
from ltsd.web.access import COOKIE, Access, Verdict, load_token, with_token
from ltsd.web.camera import CameraIntake
from ltsd.web.guard import Guard, own_names
from ltsd.web.listen import ListenHub
from ltsd.web.metrics import CONTENT_TYPE, metrics_text
from ltsd.web.tls import lan_addresses, server_context

log = logging.getLogger(__name__)
MAX_CONNECTIONS = 64
PER_HOST_CONNECTIONS = 48  # below the whole cap: one host can never hold every slot
# preview streams have places of their own: watchers (21 open pages hold 63) never take the
# connections the page and OSCQuery need (issue #29)
MAX_STREAMS = 48
IDLE_TIMEOUT_S = 5.0
# asyncio accepts up to the backlog in one go and closes the refused ones a moment later: a small
# backlog bounds those descriptors in a flood (clients beyond it are retried by their TCP stack)
ACCEPT_BATCH = 16
ASSETS = {"page.js": "text/javascript", "page.css": "text/css", "osc.js": "text/javascript"}
BOUNDARY = "ltsdframe"


class WebServer:
    def __init__(
        self, osc: OscServer, host: str, port: int, preview: PreviewSink | None, config: WebConfig
    ) -> None:
        self.osc = osc
        self.host = host
        self.requested_port = port
        self.preview = preview
        self.config = config
        self.port = port
        self.tls_port: int | None = None
        self._tls: ssl.SSLContext | None = None
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._runner: web.AppRunner | None = None
        self._frames: dict[str, tuple[int, bytes]] = {}  # channel → (number, newest JPEG)
        self._new_frame: asyncio.Condition | None = None
        self._mdns: MdnsAnnouncement | None = None
        self.hub: ListenHub | None = None
        self._status_task: asyncio.Future[None] | None = None
        self._caps: list[ConnectionCap] = []  # one a listening port
        self._streams = 0
        self.guard = Guard(own_names(config.allowed_hosts))  # with the mDNS name once bound
        self.access = Access(None)  # a token once start() finds the server reaches the LAN

    def start(self) -> None:
        if self.config.tls:  # here, so a bad certificate stops start-up with one line
            self._tls = server_context(self.config)
        if not listens_on_loopback(self.host):  # here too: a token file it cannot write is a line
            self.access = Access(load_token(self.config.token))
        self._thread = threading.Thread(target=self._run, name="ltsd-web", daemon=True)
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            raise self._error
        if self.preview is not None:
            self.preview.publish = self._publish_threadsafe
            self.preview.start()
        self._mdns = MdnsAnnouncement(self.osc, self.host, self.port)
        self._mdns.start()
        shown = self.host
        if self.host in ("", "0.0.0.0"):  # everywhere: the address another machine would use
            shown = (lan_addresses() or ["127.0.0.1"])[0]
        page = self._page_address("http", shown, self.port)
        log.info("web: %s (the page; OSCQuery and its WebSocket on the same port)", page)
        if self.tls_port is not None:
            page = self._page_address("https", shown, self.tls_port)
            log.info("web: %s (the page over HTTPS, for a phone's camera)", page)
        if self.access.token is not None:
            show_qr_code(page)

    def _page_address(self, scheme: str, host: str, port: int) -> str:
        shown = f"[{host}]" if ":" in host else host
        url = f"{scheme}://{shown}:{port}/"
        return with_token(url, self.access.token) if self.access.token is not None else url

    def stop(self) -> None:
        if self._mdns is not None:
            self._mdns.stop()
        if self.preview is not None:
            self.preview.close()
        if self._thread is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=3.0)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as error:  # reported to start() on the caller's thread
            self._error = error
            self._started.set()
            return
        self._started.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(self._shut_down())
            self._loop.close()

    async def _shut_down(self) -> None:
        """Close every connection (streams, WebSockets) and finish every task before the loop
        closes, so nothing is left pending."""
        with contextlib.suppress(Exception):
            await self._runner.cleanup()
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _serve(self) -> None:
        self._new_frame = asyncio.Condition()
        self.hub = ListenHub(self.osc, self._loop)
        app = web.Application(middlewares=[self._admit])
        app.router.add_route("GET", "/stream/{channel}.mjpg", self._stream)
        app.router.add_route("GET", "/camera", CameraIntake(self.osc.controls).serve)
        app.router.add_route("GET", "/page/{name}", self._asset)
        app.router.add_route("GET", "/metrics", self._metrics)
        app.router.add_route("*", "/{path:.*}", self._root)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None,
                                     keepalive_timeout=IDLE_TIMEOUT_S)  # fmt: skip
        await self._runner.setup()
        self.port = await self._listen(self.requested_port, None, "--oscquery-port")
        mdns_name = instance_name(socket.gethostname(), self.port)
        self.guard = Guard(own_names(self.config.allowed_hosts, mdns_name))
        if self._tls is not None:
            self.tls_port = await self._listen(self.config.tls_port, self._tls, "web.tls_port")
        self._status_task = asyncio.ensure_future(self.hub.send_status())

    async def _listen(self, port: int, tls: ssl.SSLContext | None, setting: str) -> int:
        """Serve the app on `port` (TLS when given); the port actually bound."""
        cap = ConnectionCap(self._runner.server, self._loop)
        self._caps.append(cap)
        try:
            listening = await self._loop.create_server(
                cap, host=self.host or None, port=port,
                reuse_address=True, backlog=ACCEPT_BATCH, ssl=tls,
            )  # fmt: skip
        except OSError as error:
            raise LtsdError(
                f"web: cannot listen on {self.host}:{port} ({error.strerror}); a second ltsd "
                f"needs its own {setting} (and --osc-port, --ndi-name)"
            ) from None
        return listening.sockets[0].getsockname()[1]

    @web.middleware
    async def _admit(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Every route passes here: osc.allow, then the Host and Origin rules (`guard`)."""
        if not self.osc.is_allowed(request.remote or ""):
            raise web.HTTPForbidden(text="not in osc.allow\n")
        why = self.guard.refusal(
            request.headers.get("Host"), request.headers.get("Origin"), request.secure
        )
        if why is not None:
            log.warning("web: refused %s %s from %s: %s", request.method, request.path[:80],
                        request.remote, why)  # fmt: skip
            raise web.HTTPForbidden(text=f"refused: {why}\n")
        presented, from_cookie = presented_token(request)
        verdict = self.access.check(request.remote, presented)
        if verdict is Verdict.LOCKED:
            raise web.HTTPTooManyRequests(text="refused: too many wrong tokens; try later\n")
        if verdict is Verdict.WRONG:
            refused = web.HTTPUnauthorized(text=NEEDS_TOKEN.format(why="a wrong token"))
            if from_cookie:  # a token from before it changed: forget it
                refused.del_cookie(COOKIE)
            raise refused
        if verdict is Verdict.MISSING and needs_token(request):
            log.info("web: %s %s from %s needs the token", request.method, request.path[:80],
                     request.remote)  # fmt: skip
            if wants_html(request):  # a person at a browser: say what to do, on a page
                raise web.HTTPUnauthorized(body=_page_file("token.html"),
                                           content_type="text/html")  # fmt: skip
            raise web.HTTPUnauthorized(text=NEEDS_TOKEN.format(why="no token"))
        if "token" in request.query and wants_html(request) and request.method == "GET":
            raise self._trade_for_cookie(request, presented)
        return await handler(request)

    def _trade_for_cookie(self, request: web.Request, presented: str | None) -> web.HTTPSeeOther:
        """A browser that opened `?token=…`: the same address without it, and a cookie instead,
        so the secret leaves the address bar and the history."""
        query = request.query.copy()
        del query["token"]
        moved = web.HTTPSeeOther(request.rel_url.with_query(query))
        if self.access.matches(presented):
            moved.set_cookie(COOKIE, presented, httponly=True, samesite="Strict",
                             secure=request.secure, path="/")  # fmt: skip
        return moved

    async def _root(self, request: web.Request) -> web.StreamResponse:
        """The WebSocket (LISTEN), the page, or an OSCQuery answer; GET and HEAD only."""
        if request.method not in ("GET", "HEAD"):
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "HEAD"])
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self.hub.serve(request)
        if request.path == "/" and not request.query_string and wants_html(request):
            return web.Response(body=_page_file("index.html"), content_type="text/html",
                                charset="utf-8")  # fmt: skip
        status, body = answer(self.osc, request.path, request.query_string)
        if status == 404:
            raise web.HTTPNotFound(text="no such OSC address\n")
        if body is None:
            return web.Response(status=status)
        return web.Response(body=json.dumps(body).encode(), content_type="application/json")

    async def _metrics(self, request: web.Request) -> web.Response:
        text = metrics_text(self.osc.controls.status())
        return web.Response(body=text.encode(), headers={"Content-Type": CONTENT_TYPE})

    async def _asset(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in ASSETS:  # a fixed list: nothing else on disk is reachable
            raise web.HTTPNotFound()
        return web.Response(body=_page_file(name), content_type=ASSETS[name], charset="utf-8")

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        """multipart/x-mixed-replace JPEGs (an <img> shows it, so do VLC and OBS), newest
        picture first; pictures are made only while at least one stream is open."""
        channel_name = request.match_info["channel"]
        if self.preview is None or channel_name not in self.preview.channels:
            raise web.HTTPNotFound()
        channel = self.preview.channels[channel_name]
        if self._streams >= MAX_STREAMS:
            raise web.HTTPServiceUnavailable(text=f"{MAX_STREAMS} preview streams are open\n")
        for cap in self._caps:  # a watcher: its place is among the streams, not the connections
            cap.release(request.protocol)
        response = web.StreamResponse(headers={
            "Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}",
            "Cache-Control": "no-store",
        })  # fmt: skip
        self._streams += 1  # before any await: a burst cannot overshoot the cap
        channel.viewers += 1
        try:
            await response.prepare(request)
            sent = -1
            while True:
                sent, jpeg = await self._next_frame(channel_name, sent)
                head = (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                        f"Content-Length: {len(jpeg)}\r\n\r\n").encode()  # fmt: skip
                await response.write(head + jpeg + b"\r\n")
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            channel.viewers -= 1
            self._streams -= 1
        return response

    async def _next_frame(self, channel: str, sent: int) -> tuple[int, bytes]:
        """The newest picture of `channel` once it is newer than number `sent`."""
        async with self._new_frame:
            await self._new_frame.wait_for(lambda: self._frames.get(channel, (-1, b""))[0] != sent)
            return self._frames[channel]

    def _publish_threadsafe(self, channel: str, jpeg: bytes) -> None:
        self._loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self._publish(channel, jpeg)))

    async def _publish(self, channel: str, jpeg: bytes) -> None:
        number = self._frames.get(channel, (0, b""))[0] + 1
        self._frames[channel] = (number, jpeg)
        async with self._new_frame:
            self._new_frame.notify_all()


NEEDS_TOKEN = (
    "refused: {why}. Watching, lending a camera and changing the show from another machine need "
    "the access token: open the page address `ltsd run` printed (with ?token=...) or scan its "
    "QR code; scripts send 'Authorization: Bearer TOKEN'.\n"
)


def presented_token(request: web.Request) -> tuple[str | None, bool]:
    """(the token the request carries, whether it came from the cookie): `?token=`, then
    `Authorization: Bearer`, then the cookie."""
    if "token" in request.query:
        return request.query["token"], False
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip(), False
    cookie = request.cookies.get(COOKIE)
    return (cookie, True) if cookie else (None, False)


def needs_token(request: web.Request) -> bool:
    """What a peer on another machine may do only with the token: the page, its streams, the
    camera intake, and any WebSocket a browser opens (it sends an Origin). OSCQuery reads and
    Origin-less LISTEN clients are governed by osc.allow, as OSC over UDP is."""
    if request.path.startswith("/stream/") or request.path in ("/camera", "/metrics"):
        return True
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return "Origin" in request.headers
    return request.path == "/" and not request.query_string and wants_html(request)


def show_qr_code(url: str) -> None:
    """The page's address as a QR code on the terminal, for a phone's camera; nothing when the
    log is not a terminal (a service's journal has the address in its log line)."""
    if not sys.stderr.isatty():
        return
    try:
        import segno
    except ImportError:  # pragma: no cover - a dependency; a broken install only loses the code
        return
    segno.make(url, error="m").terminal(out=sys.stderr, compact=True)


def wants_html(request: web.Request) -> bool:
    """A browser navigating asks for text/html; OSCQuery clients and fetch() do not."""
    return "text/html" in request.headers.get("Accept", "")


def _peer_host(handler: Any) -> str | None:
    transport = getattr(handler, "transport", None)
    peer = transport.get_extra_info("peername") if transport is not None else None
    return peer[0] if peer else None


def _idle(handler: Any) -> bool:
    """Connected and has not begun a request (aiohttp's count; should it go, never idle)."""
    transport = getattr(handler, "transport", None)
    return (
        transport is not None
        and not transport.is_closing()
        and getattr(handler, "_request_count", 1) == 0
    )


def _page_file(name: str) -> bytes:
    return resources.files("ltsd.web").joinpath("page", name).read_bytes()


class _Refused(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


class ConnectionCap:
    """aiohttp's protocol for each new connection, within MAX_CONNECTIONS and, per host,
    PER_HOST_CONNECTIONS; a connection that has not begun a request within IDLE_TIMEOUT_S is
    closed.

    A connection holds its slot from the moment asyncio asks for its protocol: in a burst asyncio
    accepts up to the backlog before any of them is made, so aiohttp's own list of connections
    would let them all in. The slot is given back when aiohttp hears the connection is lost.
    When the server is full, the oldest connection that has not begun a request, from the host
    holding the most, is closed to let the new one in: 200 idle connections, from one host or
    from another, never keep an OSCQuery client or the page waiting (issue #25). A connection
    that is serving (a stream, a WebSocket, a request in progress) is never closed for this."""

    def __init__(self, server: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.server = server
        self.holding: dict[Any, None] = {}  # oldest first
        lost = server.connection_lost

        def connection_lost(handler: Any, error: BaseException | None = None) -> None:
            self.holding.pop(handler, None)
            lost(handler, error)

        server.connection_lost = connection_lost  # every handler tells its server this way

    def __call__(self) -> asyncio.Protocol:
        self._trim_hosts()
        if len(self.holding) >= MAX_CONNECTIONS and not self._evict_idle():
            return _Refused()
        handler = self.server()
        self.holding[handler] = None
        self.loop.call_later(IDLE_TIMEOUT_S, self._close_if_idle, handler)
        return handler

    def release(self, handler: Any) -> None:
        """`handler`'s connection no longer counts here (it became a preview stream)."""
        self.holding.pop(handler, None)

    def _trim_hosts(self) -> None:
        """Close the oldest idle connections of any host holding more than its share."""
        by_host = Counter(_peer_host(handler) for handler in self.holding)
        for host, count in by_host.items():
            if host is None or count <= PER_HOST_CONNECTIONS:
                continue
            for handler in [h for h in self.holding if _peer_host(h) == host and _idle(h)]:
                if count <= PER_HOST_CONNECTIONS:
                    break
                self._close(handler)
                count -= 1

    def _evict_idle(self) -> bool:
        """Close the oldest idle connection of the host holding the most; False if none."""
        idle = [handler for handler in self.holding if _idle(handler)]
        if not idle:
            return False
        by_host = Counter(_peer_host(handler) for handler in self.holding)
        heaviest = max(by_host[_peer_host(handler)] for handler in idle)
        self._close(next(h for h in idle if by_host[_peer_host(h)] == heaviest))
        return True

    def _close(self, handler: Any) -> None:
        self.holding.pop(handler, None)
        transport = getattr(handler, "transport", None)
        if transport is not None:
            with contextlib.suppress(Exception):
                transport.close()

    def _close_if_idle(self, handler: Any) -> None:
        transport = getattr(handler, "transport", None)
        if transport is None:  # gone already, or never made (a failed accept): free its slot
            self.holding.pop(handler, None)
            return
        # aiohttp's count of requests begun; should it go, silent connections are left to it
        if not transport.is_closing() and getattr(handler, "_request_count", 1) == 0:
            with contextlib.suppress(Exception):
                transport.close()
