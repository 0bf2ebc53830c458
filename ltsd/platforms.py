"""Syphon is macOS-only and Spout Windows-only: one check, one message, for sources and sinks."""

from __future__ import annotations

import sys

from ltsd.errors import LtsdError

PLATFORMS = {"syphon": ("darwin", "macOS"), "spout": ("win32", "Windows")}


def require_platform(what: str, technology: str) -> None:
    """Stop with one line when `technology` (syphon or spout) cannot run on this machine."""
    platform, platform_name = PLATFORMS[technology]
    if sys.platform != platform:
        raise LtsdError(
            f'{what}: only on {platform_name}, with `pip install "ltsd[{technology}]"` '
            f"(this is {sys.platform})"
        )
