"""Reading a value back over the daemon's OSCQuery HTTP server, as a controller would."""

from __future__ import annotations

import json
import urllib.request


def value_at(base: str, address: str) -> list:
    """The VALUE list of `address` (`?VALUE` query), from the server at `base`."""
    with urllib.request.urlopen(f"{base}{address}?VALUE", timeout=5) as reply:
        return json.load(reply)["VALUE"]
