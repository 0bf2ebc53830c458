"""The few NDI calls ltsd makes, in one place: library start-up, discovery, name matching.

Discovery re-creates the finder on every attempt: without mDNS, every local NDI process answers on
the shared TCP port 5960 and one query reaches only one of them, so a fresh finder per attempt is
what eventually sees every local source.
"""

from __future__ import annotations

import atexit
import re
import threading

import NDIlib as ndi

from ltsd.errors import LtsdError

_init_lock = threading.Lock()
_initialized = False


def ensure_initialized() -> None:
    """Start the NDI library once per process; it is torn down at interpreter exit."""
    global _initialized
    with _init_lock:
        if _initialized:
            return
        if not ndi.initialize():
            raise LtsdError("NDI: the NDI runtime could not start (unsupported CPU?)")
        atexit.register(ndi.destroy)
        _initialized = True


def discover(extra_ips: str, wait_ms: int) -> list[ndi.Source]:
    """One discovery attempt with a fresh finder: the sources it sees within `wait_ms`."""
    ensure_initialized()
    settings = ndi.FindCreate()
    settings.show_local_sources = True
    if extra_ips:
        settings.extra_ips = extra_ips
    finder = ndi.find_create_v2(settings)
    if finder is None:
        return []
    try:
        ndi.find_wait_for_sources(finder, wait_ms)
        return list(ndi.find_get_current_sources(finder))
    finally:
        ndi.find_destroy(finder)


_BRACKETED = re.compile(r"^.*\((?P<name>.*)\)\s*$")


def match_source_name(available: list[str], wanted: str) -> str | None:
    """Pick the NDI name meant by `wanted`: exact name, the bracket part of "HOST (NAME)", or a
    substring that matches exactly one source. None when nothing (or more than one) matches."""
    if wanted in available:
        return wanted
    bracket_matches = [
        name for name in available if (m := _BRACKETED.match(name)) and m["name"] == wanted
    ]
    if len(bracket_matches) == 1:
        return bracket_matches[0]
    substring_matches = [name for name in available if wanted in name]
    if len(substring_matches) == 1:
        return substring_matches[0]
    return None


def discover_all(extra_ips: str, attempts: int = 6, wait_ms: int = 300) -> list[str]:
    """Every NDI source name seen over several attempts, each with a fresh finder (see above)."""
    names: set[str] = set()
    for _ in range(attempts):
        names.update(source.ndi_name for source in discover(extra_ips, wait_ms))
    return sorted(names)
