"""Pages that lend ltsd their camera: while one sends, the source is `browser`.

The newest page to connect is the one whose frames count (a second visitor takes over; when it
leaves, the first one's frames count again). When the last one leaves, the source goes back to
what it was before the first came, unless someone has chosen another source meanwhile.

Arrivals and departures take turns (one lock): a page that arrives while the last one's switch
back is still opening the old source waits for it, and so remembers the real source, not
`browser` (issue #29: a quick leave-and-arrive left the show on held frames for good).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiohttp import WSMsgType, web

from ltsd.control.commands import Controls
from ltsd.errors import LtsdError
from ltsd.sources.browser import FEED, BrowserFeed

log = logging.getLogger(__name__)
MAX_FRAME_BYTES = 4 * 1024 * 1024
MAX_SENDERS = 8  # the newest counts; the others wait their turn, each with a frame in flight
BROWSER = "browser"


class CameraIntake:
    def __init__(self, controls: Controls, feed: BrowserFeed = FEED) -> None:
        self.controls = controls
        self.feed = feed
        self._senders: list[web.WebSocketResponse] = []  # oldest first; the last one counts
        self._arriving = 0  # between the cap's check and the list: a burst counts them too
        self._before: str | None = None
        self._turns = asyncio.Lock()  # made on the web server's loop, where serve() runs

    async def serve(self, request: web.Request) -> web.WebSocketResponse:
        if len(self._senders) + self._arriving >= MAX_SENDERS:
            raise web.HTTPServiceUnavailable(text=f"{MAX_SENDERS} cameras are sending already\n")
        self._arriving += 1  # no await since the check: the check and the count are one step
        try:
            # no permessage-deflate: JPEGs do not shrink, and a deflated 4 MB message costs 4 MB
            # to inflate for a few kB sent (40 of them left +170 MB, issue #29)
            socket = web.WebSocketResponse(
                heartbeat=10.0, max_msg_size=MAX_FRAME_BYTES, compress=False
            )
            await socket.prepare(request)
            await self._turns.acquire()
        finally:
            # arrived (appended below with no await between) or gone: counted once either way.
            # Counted until after the first page's source switch, it held two places, and a
            # burst of pages got one fewer than MAX_SENDERS in
            self._arriving -= 1
        self._senders.append(socket)
        try:
            try:
                if len(self._senders) == 1:
                    self._before = self.controls.source_spec
                    await self._switch(BROWSER)
                    log.info("browser camera: %s sends; the source is browser", request.remote)
            finally:
                self._turns.release()
            async for message in socket:
                if message.type == WSMsgType.BINARY and self._senders[-1] is socket:
                    self.feed.put(message.data)
        finally:
            async with self._turns:
                self._senders.remove(socket)
                if not self._senders:
                    await self._hand_back()
        return socket

    async def _hand_back(self) -> None:
        """The last page left: the source it replaced, unless someone chose another since."""
        before, self._before = self._before, None
        if self.controls.source_spec == BROWSER and before not in (None, BROWSER):
            log.info("browser camera: the last page left; the source is %s again", before)
            await self._switch(before, self.controls.restore_source)

    async def _switch(self, spec: str, switch: Callable[[str], str] | None = None) -> None:
        """Opening a source may take a moment (NDI): off the event loop."""
        switch = switch or self.controls.set_source
        try:
            await asyncio.get_running_loop().run_in_executor(None, switch, spec)
        except LtsdError as error:
            log.error("browser camera: %s", error)
