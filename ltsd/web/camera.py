"""Pages that lend ltsd their camera: while one sends, the source is `browser`.

The newest page to connect is the one whose frames count (a second visitor takes over; when it
leaves, the first one's frames count again). When the last one leaves, the source goes back to
what it was before the first came, unless someone has chosen another source meanwhile.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import WSMsgType, web

from ltsd.control.commands import Controls
from ltsd.errors import LtsdError
from ltsd.sources.browser import FEED, BrowserFeed

log = logging.getLogger(__name__)
MAX_FRAME_BYTES = 4 * 1024 * 1024
BROWSER = "browser"


class CameraIntake:
    def __init__(self, controls: Controls, feed: BrowserFeed = FEED) -> None:
        self.controls = controls
        self.feed = feed
        self._senders: list[web.WebSocketResponse] = []  # oldest first; the last one counts
        self._before: str | None = None

    async def serve(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(heartbeat=10.0, max_msg_size=MAX_FRAME_BYTES)
        await socket.prepare(request)
        self._senders.append(socket)
        if len(self._senders) == 1:
            self._before = self.controls.source_spec
            await self._switch(BROWSER)
            log.info("browser camera: %s sends; the source is browser", request.remote)
        try:
            async for message in socket:
                if message.type == WSMsgType.BINARY and self._senders[-1] is socket:
                    self.feed.put(message.data)
        finally:
            self._senders.remove(socket)
            handing_back = self._before not in (None, BROWSER)
            if not self._senders and self.controls.source_spec == BROWSER and handing_back:
                log.info("browser camera: the last page left; the source is %s again",
                         self._before)  # fmt: skip
                await self._switch(self._before)
        return socket

    async def _switch(self, spec: str) -> None:
        """Opening a source may take a moment (NDI): off the event loop."""
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.controls.set_source, spec)
        except LtsdError as error:
            log.error("browser camera: %s", error)
