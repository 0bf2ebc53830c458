"""Keep freed memory in the process instead of handing it back to the kernel every frame.

Each frame allocates and frees buffers of a few MB. By default glibc serves some of them with
fresh mmap()s and trims the top of the heap when enough is free, so resident memory swings by
~10 MB and creeps towards its high-water mark over an hour, and every re-used page faults in again.
Real-time Linux practice is to turn both off: the heap then grows once, to what the frame path
needs, and stays there (measured in docs/performance.md, "Memory").
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1  # from glibc's malloc.h
_M_MMAP_MAX = -4


def hold_heap() -> bool:
    """Disable heap trimming and mmap'd allocations (glibc only); False where that is not glibc."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        log.debug("heap: no glibc mallopt here; left as it is")
        return False
    return bool(mallopt(_M_TRIM_THRESHOLD, -1)) and bool(mallopt(_M_MMAP_MAX, 0))
