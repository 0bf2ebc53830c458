"""Who may talk to the web server, judged by the request's Host and Origin headers.

Two attacks reach a server that only listens on loopback, through the operator's own browser:
- **Cross-site WebSocket hijacking.** Browsers let any web page open a WebSocket anywhere and
  do not apply the same-origin policy to it; they only say, in `Origin`, which page asked. So a
  request that carries an Origin must come from ltsd's own page: the same scheme, host and port
  it was sent to. `Origin: null` (sandboxed frames, file: pages) is refused too. Clients that are
  not browsers (OSCQuery controllers, TouchDesigner, scripts) send no Origin and are let in.
- **DNS rebinding.** A page at evil.example makes its own name resolve to 127.0.0.1 and reads
  the server as if same-origin; its requests still say `Host: evil.example`. So a Host must be
  an address (a browser that typed an address is on ltsd's own origin), a loopback name, this
  machine's name, its mDNS name, or a name in `web.allowed_hosts`.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


@dataclass(frozen=True, slots=True)
class HostAndPort:
    host: str  # lower case, no brackets, no trailing dot
    port: int | None


def split_host(text: str, default_port: int | None = None) -> HostAndPort | None:
    """'Name:9001', '[::1]:9001', '127.0.0.1' → its parts; None when it cannot be one."""
    try:
        parts = urlsplit("//" + text.strip())
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").rstrip(".").lower()
    if not host or parts.username is not None or parts.path or parts.query:
        return None
    return HostAndPort(host, port if port is not None else default_port)


def is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return True


def own_names(extra: tuple[str, ...] = (), mdns_name: str | None = None) -> frozenset[str]:
    """The names a Host may carry: loopback, this machine's, its mDNS name, and `extra`."""
    hostname = socket.gethostname().rstrip(".").lower()
    names = set(LOOPBACK_NAMES)
    names.update({hostname, f"{hostname}.local", hostname.split(".")[0]})
    if mdns_name:
        names.add(f"{mdns_name.lower()}.local")
    names.update(name.rstrip(".").lower() for name in extra)
    return frozenset(names)


@dataclass(frozen=True, slots=True)
class Guard:
    """The Host allow-list and the Origin rule; `refusal` says why a request is refused."""

    names: frozenset[str]

    def host_allowed(self, host: str) -> bool:
        return is_address(host) or host in self.names or host.endswith(".localhost")

    def refusal(self, host_header: str | None, origin: str | None, secure: bool) -> str | None:
        """None when the request may go on; else a short reason for the log and the 403."""
        default_port = 443 if secure else 80
        target = None
        if host_header:
            target = split_host(host_header, default_port)
            if target is None or not self.host_allowed(target.host):
                return f"Host {host_header[:80]!r} is not one of this server's names"
        if origin is None:
            return None
        if origin.strip().lower() == "null":
            return "Origin 'null' (a sandboxed or local page)"
        parts = urlsplit(origin.strip())
        scheme_port = 443 if parts.scheme == "https" else 80
        source = (
            split_host(parts.netloc, scheme_port) if parts.scheme in ("http", "https") else None
        )
        same_scheme = parts.scheme == ("https" if secure else "http")
        if source is None or target is None or not same_scheme or source != target:
            return f"Origin {origin[:80]!r} is not this page's"
        return None
