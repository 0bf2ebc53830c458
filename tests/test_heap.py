"""The daemon keeps freed frame buffers resident instead of returning them to the kernel."""

import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")

# in a fresh interpreter: in the test process, earlier tests leave freed heap resident, and a
# new buffer may reuse it instead of growing the heap (CI once saw +21 MB of 64)
FREED_BUFFER = """
import numpy as np
from ltsd.harness.soak import rss_bytes
from ltsd.heap import hold_heap
held = {hold}
assert not held or hold_heap()
before = rss_bytes()
frame = np.ones(64 * 1024 * 1024, dtype=np.uint8)  # a default glibc would mmap and unmap it
del frame
print(rss_bytes() - before)
"""


def kept_after_free(hold: bool) -> int:
    done = subprocess.run([sys.executable, "-c", FREED_BUFFER.format(hold=hold)],
                          capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    return int(done.stdout.split()[-1])


def test_a_freed_frame_sized_buffer_stays_resident_once_the_heap_is_held() -> None:
    assert kept_after_free(hold=True) > 48 * 1024 * 1024
    assert kept_after_free(hold=False) < 16 * 1024 * 1024  # without it, glibc gives it back
