"""`/metrics`: the daemon's health in Prometheus's text format, for a venue's monitoring.

Plain text (version 0.0.4 of the exposition format), made here from the same `Controls.status()`
that `/ltsd/status` reports, so the two always agree; no client library in the daemon. A scraper
alarms on what visitors would notice first — a lost input, a dead output, a falling frame rate,
memory that grows.
"""

from __future__ import annotations

from ltsd.control.commands import Status

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def metrics_text(status: Status) -> str:
    lines: list[str] = []

    def metric(name: str, kind: str, about: str, value: float, labels: str = "") -> None:
        lines.extend((f"# HELP ltsd_{name} {about}", f"# TYPE ltsd_{name} {kind}",
                      f"ltsd_{name}{labels} {value:g}"))  # fmt: skip

    metric("info", "gauge", "the world and the source that play", 1,
           labels(model=status.model, source=status.source))  # fmt: skip
    metric("uptime_seconds", "gauge", "seconds since ltsd started", status.uptime_s)
    metric("output_fps", "gauge", "frames a second going out, held ones too", status.fps)
    metric("input_fps", "gauge", "frames a second arriving from the source", status.input_fps)
    metric("input_live", "gauge", "1 while the source sends, 0 while lost", int(status.input_live))
    metric("latency_milliseconds", "gauge", "camera frame in to world frame out",
           status.latency_ms)  # fmt: skip
    metric("frames_in_total", "counter", "frames received from sources", status.frames_in)
    metric("frames_out_total", "counter", "frames sent to the outputs", status.frames_out)
    metric("frames_held_total", "counter", "frames sent again while the input was lost",
           status.frames_held)  # fmt: skip
    metric("frames_failed_total", "counter", "frames dropped because processing failed",
           status.frames_dropped)  # fmt: skip
    metric("source_losses_total", "counter", "times the input was lost", status.source_losses)
    metric("resident_memory_bytes", "gauge", "resident memory of the process",
           status.memory_bytes)  # fmt: skip
    metric("last_problem_timestamp_seconds", "gauge", "Unix time of the newest warning or error "
           "(0: none)", round(status.last_error_at, 3),
           labels(message=status.last_error))  # fmt: skip
    lines += ["# HELP ltsd_sink_up 1 while the output runs, 0 once it stopped",
              "# TYPE ltsd_sink_up gauge"]  # fmt: skip
    for sink, up in status.outputs.items():
        lines.append(f"ltsd_sink_up{labels(sink=sink)} {int(up)}")
    return "\n".join(lines) + "\n"


def labels(**values: str) -> str:
    """`{name="value",…}` with the format's escapes (backslash, quote, newline)."""
    escaped = [(name, value.translate(ESCAPES)) for name, value in values.items()]
    return "{" + ",".join(f'{name}="{value}"' for name, value in escaped) + "}"


ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n"})
