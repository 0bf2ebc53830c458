"""The daemon keeps freed frame buffers resident instead of returning them to the kernel."""

import platform

import numpy as np
import pytest

from ltsd.harness.soak import rss_bytes
from ltsd.heap import hold_heap

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")


def test_a_freed_frame_sized_buffer_stays_resident_once_the_heap_is_held() -> None:
    assert hold_heap()
    before = rss_bytes()
    frame = np.ones(64 * 1024 * 1024, dtype=np.uint8)  # a default glibc would mmap and unmap it
    del frame
    assert rss_bytes() - before > 32 * 1024 * 1024  # some may reuse heap already resident
