"""A stand-in NDI camera for tests and benchmarks: a moving gradient, frame counter as timecode.

    python -m ltsd.harness.camera --name NAME [--width 160 --height 90 --fps 30]
        [--seconds 60] [--first-timecode 0] [--send-times FILE]

Runs until --seconds pass or it is killed; frame i carries timecode first_timecode + i. It prints
`started` after its first frame. With --send-times it appends `TIMECODE MONOTONIC_NS` for every
frame the moment its send call returns, on a clock every process on the machine shares: a clocked
NDI sender waits out the frame interval inside the call and then hands the frame over, so the
return is when the frame left (latency is measured from there, frame by frame, not extrapolated
from the first frame — NDI's clock absorbs a slow start, which put tens of ms into such estimates).
"""

from __future__ import annotations

import argparse
import time

import NDIlib as ndi
import numpy as np

from ltsd.ndi import ensure_initialized


def camera_frame(index: int, width: int, height: int) -> np.ndarray:
    """(height, width, 4) BGRX: a diagonal gradient that drifts with the frame index."""
    ys, xs = np.mgrid[0:height, 0:width]
    ramp = ((xs + ys + 2 * index) * 255 // (width + height)) % 256
    frame = np.empty((height, width, 4), np.uint8)
    frame[:, :, 0] = ramp
    frame[:, :, 1] = 255 - ramp
    frame[:, :, 2] = 128
    frame[:, :, 3] = 255
    return frame


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--width", type=int, default=160)
    parser.add_argument("--height", type=int, default=90)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--first-timecode", type=int, default=0)
    parser.add_argument("--send-times", help="append 'TIMECODE MONOTONIC_NS' per frame sent")
    args = parser.parse_args()

    ensure_initialized()
    settings = ndi.SendCreate()
    settings.ndi_name = args.name
    settings.clock_video = True  # NDI paces send calls at the frame rate, like a real camera
    sender = ndi.send_create(settings)
    video = ndi.VideoFrameV2()
    video.FourCC = ndi.FOURCC_VIDEO_TYPE_BGRX
    video.frame_rate_N, video.frame_rate_D = args.fps, 1
    frames = [camera_frame(i, args.width, args.height) for i in range(16)]
    deadline = time.monotonic() + args.seconds
    # Line-buffered, so every complete line is on disk when the harness kills the camera.
    send_times = open(args.send_times, "a", buffering=1) if args.send_times else None  # noqa: SIM115
    index = 0
    while time.monotonic() < deadline:
        video.data = frames[index % len(frames)]
        video.timecode = args.first_timecode + index
        ndi.send_send_video_v2(sender, video)
        if send_times is not None:
            send_times.write(f"{video.timecode} {time.monotonic_ns()}\n")
        if index == 0:
            print("started", flush=True)
        index += 1
    ndi.send_destroy(sender)


if __name__ == "__main__":
    main()
