"""What an OSC message costs the daemon, in-process: four knobs turning, at several batch sizes.

The server is the real one (routes, checks, coalescing, an echo to one subscriber) over a real
idle pipeline; datagrams are handed to it directly, so only ltsd's own work is timed.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from pythonosc.osc_message_builder import OscMessageBuilder

from ltsd.config import Config, OscConfig
from ltsd.control.commands import Controls
from ltsd.control.osc import OscServer
from ltsd.harness.e2e import KNOBS
from ltsd.library import ModelLibrary
from ltsd.params import LiveParams, ParamStore
from ltsd.pipeline import OutputPlan, Pipeline
from ltsd.sinks.null import NullSink
from ltsd.sources import open_source


def osc_costs(
    models_dir: Path, model: str, batches: list[int], messages: int
) -> list[tuple[int, float]]:
    """(batch size, microseconds per message) for `messages` knob messages at each batch size."""
    config = Config()
    library = ModelLibrary(models_dir, torch.device("cpu"), 64.0)
    params = ParamStore(LiveParams())
    pipeline = Pipeline(open_source(config), library.get(model), params, NullSink(),
                        OutputPlan(None, "hold", 1.0), torch.device("cpu"))  # fmt: skip
    server = OscServer(OscConfig(port=0), Controls(pipeline, library, params, config, open_source))
    server.start()  # a socket to echo from
    server.subscribe(("127.0.0.1", 9))  # the discard port: echoes cost a real sendto()
    client = ("127.0.0.1", 9)
    datagrams = []
    for index in range(messages):
        builder = OscMessageBuilder(KNOBS[index % len(KNOBS)])
        builder.add_arg(0.4 + (index % 100) / 500)
        datagrams.append((builder.build().dgram, client))
    rows = []
    try:
        for size in batches:
            started = time.perf_counter()
            for first in range(0, messages, size):
                server.handle_datagrams(datagrams[first : first + size])
            rows.append((size, (time.perf_counter() - started) / messages * 1e6))
    finally:
        server.stop()
    return rows


def markdown(rows: list[tuple[int, float]]) -> str:
    lines = [
        "| datagrams per batch | µs per message | messages/s one core can take |",
        "|---|---|---|",
    ]
    lines += [f"| {size} | {micros:.1f} | {1e6 / micros:,.0f} |" for size, micros in rows]
    return "\n".join(lines)
