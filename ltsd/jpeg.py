"""The one rule every JPEG from outside passes before it is decoded: a bounded number of scans.

A progressive JPEG is drawn in scans, and a decoder does the work of every scan it is given.
Nothing in the format limits their number, so 132 kB whose last scan is repeated 10,000 times is
a valid 1920×1080 picture that froze the live input for 14.5 s (a 4 MB one, minutes; issue #29);
its header looks like any other. Cameras and encoders write 1 (baseline) to about 10 scans
(libjpeg's progressive script), mozjpeg's tuned scripts a few more; MAX_SCANS is far above them.

Counting is one pass in C (`bytes.count`): inside entropy-coded data every 0xFF byte is followed
by 0x00 or a restart marker, so FF DA appears only as a start-of-scan marker — or inside an
APPn payload such as an EXIF thumbnail, which can only overcount by a few.
"""

from __future__ import annotations

MAX_SCANS = 100
START_OF_IMAGE = b"\xff\xd8"
START_OF_SCAN = b"\xff\xda"


def is_jpeg(data: bytes) -> bool:
    return data[:2] == START_OF_IMAGE


def too_many_scans(data: bytes) -> int | None:
    """The JPEG's scan count when it is over MAX_SCANS; None when it may be decoded."""
    if not is_jpeg(data):
        return None
    scans = data.count(START_OF_SCAN)
    return scans if scans > MAX_SCANS else None
