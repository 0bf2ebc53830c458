"""The browser-camera cap (ltsd.web.camera): exactly MAX_SENDERS pages send at once, however
they arrive and however slowly the source switches (real aiohttp server and clients)."""

from __future__ import annotations

import asyncio
import time

import aiohttp
from aiohttp import web

from ltsd.sources.browser import BrowserFeed
from ltsd.web.camera import MAX_SENDERS, CameraIntake


class SlowSwitch:
    """The two things the intake asks of Controls; each switch takes as long as opening an NDI
    source can. The first page's switch is when the cap once counted that page twice."""

    def __init__(self) -> None:
        self.source_spec = "synthetic"

    def set_source(self, spec: str) -> str:
        time.sleep(0.3)
        self.source_spec = spec
        return spec

    restore_source = set_source


def test_a_burst_during_the_first_pages_source_switch_gets_every_place():
    async def burst() -> list[int | str]:
        intake = CameraIntake(SlowSwitch(), BrowserFeed())  # type: ignore[arg-type]
        app = web.Application()
        app.router.add_get("/camera", intake.serve)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            async with aiohttp.ClientSession() as session:

                async def arrive() -> aiohttp.ClientWebSocketResponse | int:
                    try:
                        return await session.ws_connect(f"ws://127.0.0.1:{port}/camera")
                    except aiohttp.WSServerHandshakeError as refused:
                        return refused.status

                first = await arrive()  # its switch to `browser` is still running ...
                rest = await asyncio.gather(*(arrive() for _ in range(2 * MAX_SENDERS)))
                arrived = [first, *rest]  # ... while these arrive
                for socket in arrived:
                    if not isinstance(socket, int):
                        await socket.close()
        finally:
            await runner.cleanup()
        return ["open" if not isinstance(socket, int) else socket for socket in arrived]

    outcomes = asyncio.run(burst())
    assert outcomes.count("open") == MAX_SENDERS, outcomes
    assert outcomes.count(503) == len(outcomes) - MAX_SENDERS, outcomes
