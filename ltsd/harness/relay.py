"""The baseline: NDI in → NDI out with no model, through the same source, hand-off and sink.

    python -m ltsd.harness.relay --source ndi:NAME --ndi-name OUT [--extra-ips 127.0.0.1]

What ltsd adds over this (fps lost, latency gained) is what the model and pre-processing cost.
"""

from __future__ import annotations

import argparse
import signal
import threading

from ltsd.pipeline import LatestSlot
from ltsd.sinks.ndi import NdiSink
from ltsd.sources.ndi import NdiSource


def relay(source: NdiSource, sink: NdiSink, stop: threading.Event) -> None:
    slot = LatestSlot()

    def receive() -> None:
        while not stop.is_set():
            frame = source.read(timeout_s=0.1)
            if frame is not None:
                slot.put(frame)

    receiver = threading.Thread(target=receive, daemon=True)
    receiver.start()
    while not stop.is_set():
        frame = slot.take(timeout_s=0.1)
        if frame is not None:
            sink.send(frame.pixels, frame.timecode, frame.frame_rate)
    receiver.join(timeout=1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description="bare NDI relay (benchmark baseline)")
    parser.add_argument("--source", required=True, help="ndi:NAME")
    parser.add_argument("--ndi-name", required=True)
    parser.add_argument("--extra-ips", default="127.0.0.1")
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    source = NdiSource(args.source.removeprefix("ndi:"), args.extra_ips, lost_after_s=2.0,
                       color="bgrx")  # fmt: skip
    sink = NdiSink(args.ndi_name)
    try:
        relay(source, sink, stop)
    finally:
        source.close()
        sink.close()


if __name__ == "__main__":
    main()
