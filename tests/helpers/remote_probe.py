"""Run on the second host (`tests.helpers.netns`): the requests a visitor's phone or laptop would
make, from a chosen source address; prints one JSON list of what each got.

    python remote_probe.py SOURCE_ADDRESS '[{"kind": "get", "url": ..., "headers": {...}}, ...]'

Kinds: "get" → {"status", "location", "set_cookie"} (redirects not followed; a stream's first
bytes read); "websocket" → {"status"} (101 when upgraded), after sending `osc` (bytes as hex)
once upgraded.
"""

from __future__ import annotations

import asyncio
import json
import sys

import aiohttp


async def probe(source: str, steps: list[dict]) -> list[dict]:
    results = []
    timeout = aiohttp.ClientTimeout(total=10)
    for step in steps:
        connector = aiohttp.TCPConnector(local_addr=(source, 0), force_close=True)
        jar = aiohttp.DummyCookieJar()  # each step sends exactly the cookies it names
        async with aiohttp.ClientSession(connector=connector, timeout=timeout,
                                         cookie_jar=jar) as session:  # fmt: skip
            headers = step.get("headers", {})
            if step["kind"] == "get":
                async with session.get(step["url"], headers=headers,
                                       allow_redirects=False) as reply:  # fmt: skip
                    await reply.content.read(64)
                    results.append({
                        "status": reply.status,
                        "location": reply.headers.get("Location"),
                        "set_cookie": reply.headers.get("Set-Cookie"),
                    })  # fmt: skip
                continue
            try:
                async with session.ws_connect(step["url"], headers=headers) as socket:
                    if step.get("osc"):
                        await socket.send_bytes(bytes.fromhex(step["osc"]))
                        await asyncio.sleep(0.3)
                    results.append({"status": 101})
            except aiohttp.WSServerHandshakeError as error:
                results.append({"status": error.status})
    return results


if __name__ == "__main__":
    print(json.dumps(asyncio.run(probe(sys.argv[1], json.loads(sys.argv[2])))))
