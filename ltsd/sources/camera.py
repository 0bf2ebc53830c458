"""A camera plugged into the ltsd machine — the original installation's USB camera above the
table — read through PyAV: v4l2 on Linux (`camera:/dev/video0`, or `camera:0`), avfoundation on
macOS (`camera:0`, a device index), dshow on Windows (`camera:Logitech BRIO`, the device name).

Frames are taken as the camera delivers them (it paces itself). If the camera is unplugged, the
read fails and the source is reopened by its supervisor until the camera is back.
"""

from __future__ import annotations

import sys
import time
from fractions import Fraction
from pathlib import Path

import av

from ltsd.errors import SourceError, first_line
from ltsd.frame import Frame

TIMECODE_UNITS_PER_S = 10_000_000


def camera_input(device: str, platform: str = sys.platform) -> tuple[str, str]:
    """(FFmpeg input name, input format) for `device` on `platform`."""
    if platform.startswith("linux"):
        return (f"/dev/video{device}" if device.isdigit() else device), "v4l2"
    if platform == "darwin":
        return f"{device}:none", "avfoundation"  # video device, no audio
    if platform == "win32":
        return f"video={device}", "dshow"
    raise SourceError(f"camera:{device}: cameras are read on Linux, macOS and Windows only")


def list_cameras(platform: str = sys.platform) -> list[str]:
    """Camera specs `ltsd sources` can show: the v4l2 devices on Linux; elsewhere FFmpeg has no
    listing call, so none (the docs say how to find the name)."""
    if not platform.startswith("linux"):
        return []
    return [f"camera:{path}" for path in sorted(Path("/dev").glob("video[0-9]*"))]


class CameraSource:
    def __init__(self, device: str) -> None:
        self.description = f"camera:{device}"
        name, kind = camera_input(device)
        try:
            self._container = av.open(name, format=kind, options={"framerate": "30"}, timeout=5)
        except (av.FFmpegError, OSError, ValueError) as error:
            raise SourceError(f"camera:{device}: cannot open it ({first_line(error)})") from None
        stream = self._container.streams.video[0]
        self.frame_rate = Fraction(stream.average_rate or 30).limit_denominator(1001)
        self._frames = self._container.decode(video=0)
        self._index = 0

    def read(self, timeout_s: float) -> Frame | None:
        frame = next(self._frames, None)  # the camera paces itself (one frame per period)
        if frame is None:
            raise SourceError(f"{self.description}: the camera stopped sending")
        timecode = round(self._index * TIMECODE_UNITS_PER_S / self.frame_rate)
        self._index += 1
        return Frame(frame.to_ndarray(format="bgra"), timecode, self.frame_rate,
                     time.monotonic_ns())  # fmt: skip

    def close(self) -> None:
        self._container.close()
