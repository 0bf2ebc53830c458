"""The token a browser beyond this machine needs to watch, lend a camera or change the show.

Host and Origin (`ltsd.web.guard`) stop other web pages and rebound names; they cannot stop a
visitor on the venue's Wi-Fi who types the address. So once the server listens beyond loopback,
a secret is generated (as Jupyter and obs-websocket do): ≥ 128 bits from `secrets`, kept in a
file only the owner can read, or given as `web.token` / `LTSD_TOKEN`. `ltsd run` prints the
page's address with `?token=…`; the page trades it for an HttpOnly, SameSite=Strict cookie and
drops it from the address bar. Scripts send `Authorization: Bearer …`.

What needs it, from a peer that is not this machine: the preview streams, the camera intake,
and a WebSocket that a browser opens (it carries an Origin). The page itself, OSCQuery reads and
LISTEN from clients without an Origin (TouchDesigner, Chataigne, ossia) stay governed by
`osc.allow` alone, like OSC over UDP, which cannot carry a secret (docs/security.md).

Wrong tokens are compared in constant time, logged with the address, and limited per host: after
FAILURES_ALLOWED in WINDOW_S, that host is refused for LOCKOUT_S; other hosts are unaffected.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from urllib.parse import quote

from ltsd.control.osc import canonical_host
from ltsd.errors import ConfigError

log = logging.getLogger(__name__)
TOKEN_BYTES = 24  # 192 bits, as Jupyter's os.urandom(24)
COOKIE = "ltsd_token"
ENVIRONMENT = "LTSD_TOKEN"
FAILURES_ALLOWED = 10
WINDOW_S = 60.0
LOCKOUT_S = 300.0
HOSTS_REMEMBERED = 4096  # failures kept for at most this many hosts (oldest forgotten)
MIN_TOKEN_LENGTH = 16


def token_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "ltsd" / "token"


def load_token(configured: str = "", path: Path | None = None) -> str:
    """`LTSD_TOKEN`, else `web.token`, else the token file, made now (mode 0600) if missing."""
    for origin, token in (
        (ENVIRONMENT, os.environ.get(ENVIRONMENT, "")),
        ("web.token", configured),
    ):
        token = token.strip()
        if token:
            if len(token) < MIN_TOKEN_LENGTH:
                raise ConfigError(f"{origin}: a token needs at least {MIN_TOKEN_LENGTH} characters")
            return token
    path = path or token_file()
    try:
        return _read_or_make(path)
    except OSError as error:
        raise ConfigError(
            f"web token file {path}: {error.strerror or error}; set web.token or {ENVIRONMENT}"
        ) from None


def _read_or_make(path: Path) -> str:
    try:
        token = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        token = ""
    except UnicodeDecodeError:
        raise ConfigError(
            f"web token file {path}: not a token; delete it to make a new one"
        ) from None
    if len(token) >= MIN_TOKEN_LENGTH:
        return token
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(token + "\n")
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    log.info("web: made a new access token in %s", path)
    return token


def is_loopback_peer(remote: str | None) -> bool:
    """The peer's address is this machine's (::ffff:127.0.0.1 too): OSC's one spelling of it."""
    address = canonical_host(remote) if remote else None
    return address is not None and ipaddress.ip_address(address).is_loopback


def with_token(url: str, token: str) -> str:
    return f"{url}?token={quote(token, safe='')}"


class Verdict(Enum):
    ADMITTED = "admitted"
    MISSING = "no token"
    WRONG = "wrong token"
    LOCKED = "too many wrong tokens"


@dataclass
class FailureLimiter:
    """Wrong tokens per host: FAILURES_ALLOWED different ones in WINDOW_S, then LOCKOUT_S refused.

    Different ones: a browser repeating one stale cookie on every request of a page is one
    mistake, not a guess each time; a guesser sends a new value every time."""

    failures: OrderedDict[str, deque[tuple[float, bytes]]] = field(default_factory=OrderedDict)
    locked_until: dict[str, float] = field(default_factory=dict)

    def locked(self, host: str, now: float) -> bool:
        until = self.locked_until.get(host)
        if until is None:
            return False
        if now < until:
            return True
        del self.locked_until[host]
        return False

    def failed(self, host: str, now: float, presented: str) -> bool | None:
        """Count one wrong token: True when it locks `host` out, None when the same wrong token
        came already (not counted again), False otherwise."""
        digest = hashlib.sha256(presented.encode("utf-8", "replace")).digest()[:8]
        recent = self.failures.pop(host, None) or deque()
        while recent and recent[0][0] < now - WINDOW_S:
            recent.popleft()
        self.failures[host] = recent  # now the newest host, the last to be forgotten
        while len(self.failures) > HOSTS_REMEMBERED:
            self.failures.popitem(last=False)
        if any(seen == digest for _, seen in recent):
            return None
        recent.append((now, digest))
        if len(recent) < FAILURES_ALLOWED:
            return False
        self.failures.pop(host, None)
        self.locked_until[host] = now + LOCKOUT_S
        if len(self.locked_until) > HOSTS_REMEMBERED:
            self.locked_until = {h: t for h, t in self.locked_until.items() if t > now}
        return True


@dataclass
class Access:
    """The token, if one is needed (None: the server listens on loopback only), and its check."""

    token: str | None
    limiter: FailureLimiter = field(default_factory=FailureLimiter)
    clock: Callable[[], float] = time.monotonic

    def matches(self, presented: str | None) -> bool:
        """`presented` is the token (constant time); False when there is none to match."""
        if self.token is None or presented is None:
            return False
        return hmac.compare_digest(presented.encode("utf-8", "replace"), self.token.encode())

    def check(self, remote: str | None, presented: str | None) -> Verdict:
        """Whether `presented` (the token a request carried, or None) admits `remote`."""
        if self.token is None or is_loopback_peer(remote):
            return Verdict.ADMITTED
        host = remote or "?"
        now = self.clock()
        if self.limiter.locked(host, now):
            return Verdict.LOCKED
        if presented is None:
            return Verdict.MISSING
        if self.matches(presented):
            return Verdict.ADMITTED
        counted = self.limiter.failed(host, now, presented)
        if counted:
            log.warning("web: %d wrong tokens from %s within %g s; refusing it for %g s",
                        FAILURES_ALLOWED, host, WINDOW_S, LOCKOUT_S)  # fmt: skip
        elif counted is not None:
            log.warning("web: wrong token from %s", host)
        return Verdict.WRONG
