"""`/metrics`: the daemon's health in Prometheus's text format, for a venue's monitoring.

Plain text (version 0.0.4 of the exposition format), made here from `Controls.status()` and
`Controls.health()`: no client library in the daemon. A scraper alarms on what visitors would
notice first — a lost input, a dead output, a falling frame rate, memory that grows.
"""

from __future__ import annotations

from ltsd.control.commands import Health, Status

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def metrics_text(status: Status, health: Health) -> str:
    lines: list[str] = []

    def metric(name: str, kind: str, about: str, value: float, labels: str = "") -> None:
        lines.extend((f"# HELP ltsd_{name} {about}", f"# TYPE ltsd_{name} {kind}",
                      f"ltsd_{name}{labels} {value:g}"))  # fmt: skip

    metric("info", "gauge", "the world and the source that play", 1,
           labels(model=status.model, source=status.source))  # fmt: skip
    metric("uptime_seconds", "gauge", "seconds since ltsd started", round(health.uptime_s, 3))
    metric("output_fps", "gauge", "frames a second going out, held ones too", status.fps)
    metric("input_fps", "gauge", "frames a second arriving from the source", status.input_fps)
    metric("input_live", "gauge", "1 while the source sends, 0 while lost", int(status.input_live))
    metric("latency_milliseconds", "gauge", "camera frame in to world frame out",
           status.latency_ms)  # fmt: skip
    metric("frames_in_total", "counter", "frames received from sources", health.frames_in)
    metric("frames_out_total", "counter", "frames sent to the outputs", health.frames_out)
    metric("frames_held_total", "counter", "frames sent again while the input was lost",
           health.frames_held)  # fmt: skip
    metric("frames_failed_total", "counter", "frames dropped because processing failed",
           health.frames_failed)  # fmt: skip
    metric("source_losses_total", "counter", "times the input was lost", health.source_losses)
    metric("resident_memory_bytes", "gauge", "resident memory of the process",
           health.memory_bytes)  # fmt: skip
    metric("last_problem_timestamp_seconds", "gauge", "Unix time of the newest warning or error "
           "(0: none)", round(health.last_problem_at, 3),
           labels(message=health.last_problem))  # fmt: skip
    lines += ["# HELP ltsd_sink_up 1 while the output runs, 0 once it stopped",
              "# TYPE ltsd_sink_up gauge"]  # fmt: skip
    for sink, up in health.sinks.items():
        lines.append(f"ltsd_sink_up{labels(sink=sink)} {int(up)}")
    return "\n".join(lines) + "\n"


def labels(**values: str) -> str:
    """`{name="value",…}` with the format's escapes (backslash, quote, newline)."""
    escaped = [(name, value.translate(ESCAPES)) for name, value in values.items()]
    return "{" + ",".join(f'{name}="{value}"' for name, value in escaped) + "}"


ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n"})
