"""The daemon's configuration: typed sections from YAML, overridden by flags, validated once.

Every key, its type and its allowed values are declared here (live parameters in ltsd/params.py);
config/default.yaml documents the same defaults and a test keeps the two equal.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ltsd.errors import ConfigError
from ltsd.params import LiveParams
from ltsd.schema import build, setting
from ltsd.sinks import SINK_PATTERN

PACKAGE_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


@dataclass(frozen=True, slots=True)
class SourceConfig:
    spec: str = setting(
        "synthetic",
        pattern=r"synthetic|browser|ndi:.+|file:.+|images:.+|camera:.+|syphon:.+|spout:.+",
        doc="where frames come from: synthetic, browser (the web page's camera), ndi:NAME, "
        "file:PATH (a video), images:DIR, "
        "camera:DEVICE (a camera on this machine), syphon:NAME (macOS) or spout:NAME (Windows)",
    )
    extra_ips: str = setting(
        "", doc="comma list of IPs NDI discovery also asks (for networks without mDNS)"
    )
    loop: bool = setting(True, doc="file: sources start again at the end")
    slide_s: float = setting(
        3.0, 0.04, 3600.0, unit="s", doc="images: sources show each image this long"
    )
    lost_after_s: float = setting(
        1.0, 0.1, 60.0, unit="s", doc="no frame for this long means the source is gone"
    )
    media_dirs: tuple[str, ...] = setting(
        (), pattern=r".+", doc="folders OSC may open file: and images: sources from (none if empty)"
    )


@dataclass(frozen=True, slots=True)
class SyntheticConfig:
    width: int = setting(640, 16, 7680, unit="px", doc="width of the built-in scene")
    height: int = setting(360, 16, 4320, unit="px", doc="height of the built-in scene")
    fps: float = setting(30.0, 1.0, 240.0, unit="fps", doc="frame rate of the built-in scene")
    seed: int = setting(0, 0, 2**31 - 1, doc="the same seed always draws the same scene")


@dataclass(frozen=True, slots=True)
class ModelConfig:
    name: str = setting("clouds", doc="model to load from models_dir (file name without suffix)")
    models_dir: str = setting("", doc="folder of .safetensors models; empty = the models/ shipped")
    device: str = setting(
        "auto",
        choices=("auto", "cpu", "cuda", "mps"),
        doc="auto uses CUDA when present, else Apple's Metal (MPS), else the CPU",
    )
    precision: str = setting(
        "auto",
        choices=("auto", "fp32", "bf16"),
        doc="bf16 computes in bfloat16: on a CPU with AVX-512 BF16 or AMX 0.8 of fp32's time, "
        "the picture within a few levels of 255 (docs/performance.md); auto = bf16 on such a "
        "CPU, else fp32",
    )
    runtime: str = setting(
        "torch",
        choices=("torch", "openvino"),
        doc="openvino runs the world on OpenVINO and ltsd's outer levels (CPU only, the "
        "[openvino] extra): fp32 in 0.83-0.91 of torch's time (docs/performance.md); falls back "
        "to torch, saying so, where it cannot",
    )
    cpu_threads: int = setting(
        0, 0, 256, doc="torch threads for CPU inference; 0 = half the cores (NDI needs the rest)"
    )
    memory_budget_mb: float = setting(
        512.0, 0.0, 65536.0, unit="MB", doc="models kept loaded for instant switching (LRU beyond)"
    )

    def models_path(self) -> Path:
        return Path(self.models_dir) if self.models_dir else PACKAGE_MODELS_DIR


@dataclass(frozen=True, slots=True)
class OutputConfig:
    sinks: tuple[str, ...] = setting(
        ("ndi",),
        pattern=SINK_PATTERN,
        doc="outputs, several at once: ndi, null, file:PATH, syphon, spout",
    )
    ndi_name: str = setting(
        "ltsd", pattern=r".+", doc="name of the published output (NDI, Syphon, Spout)"
    )
    size: str = setting(
        "source",
        pattern=r"source|[1-9][0-9]*x[1-9][0-9]*",
        doc="'source' follows the input's size, or WIDTHxHEIGHT",
    )
    on_source_lost: str = setting(
        "hold", choices=("hold", "black"), doc="what to send while the source is gone"
    )

    def fixed_size(self) -> tuple[int, int] | None:
        """(width, height) when a size is forced, None when the output follows the source."""
        if self.size == "source":
            return None
        width, height = self.size.split("x")
        return int(width), int(height)


@dataclass(frozen=True, slots=True)
class OscConfig:
    enabled: bool = setting(True, doc="listen for OSC control messages")
    host: str = setting("127.0.0.1", pattern=r".+", doc="address to listen on (0.0.0.0 for LAN)")
    port: int = setting(9000, 1, 65535, doc="UDP port for OSC")
    prefix: str = setting("/ltsd", pattern=r"(/[A-Za-z0-9_.-]+)+", doc="address prefix")
    allow: tuple[str, ...] = setting(
        (), pattern=r"[0-9A-Fa-f:.]+(/[0-9]+)?", doc="client networks (CIDR) allowed; empty = all"
    )
    feedback: tuple[str, ...] = setting(
        (), pattern=r".+:[0-9]+", doc="host:port targets that always receive feedback"
    )
    reply_hosts: tuple[str, ...] = setting(
        (), pattern=r"[0-9A-Fa-f:.]+(/[0-9]+)?",
        doc="networks (CIDR) /subscribe may send to besides the sender's address; empty = none",
    )  # fmt: skip
    max_subscribers: int = setting(32, 0, 1024, doc="feedback targets /subscribe may add")
    takeover: str = setting(
        "pickup", choices=("pickup", "jump"),
        doc="0..1 knobs (/norm addresses) after ltsd changed a value: pickup = move it only once "
        "the knob reaches or crosses it (soft takeover); jump = at once",
    )  # fmt: skip
    booleans: str = setting(
        "numbers", choices=("numbers", "tags"),
        doc="how replies carry a boolean: numbers 0/1 (CHOP-style clients) or OSC's T/F tags",
    )  # fmt: skip
    oscquery_port: int = setting(
        9001, 0, 65535, doc="HTTP port of OSCQuery, its WebSocket and the web page (0 = off)"
    )


@dataclass(frozen=True, slots=True)
class WebConfig:
    """The page served on osc.oscquery_port: what its live preview may cost."""

    preview_width: int = setting(640, 64, 3840, unit="px", doc="widest preview image sent")
    preview_fps: float = setting(15.0, 1.0, 60.0, unit="fps", doc="most preview images a second")
    preview_quality: int = setting(75, 10, 95, doc="JPEG quality of the preview images")
    tls: bool = setting(False, doc="also serve the page over HTTPS (phones lend a camera only so)")
    tls_port: int = setting(9443, 1, 65535, doc="HTTPS port of the page when tls is on")
    tls_cert: str = setting(
        "", doc="PEM certificate for HTTPS; empty = a self-signed one made on first use"
    )
    tls_key: str = setting("", doc="PEM private key of tls_cert")
    allowed_hosts: tuple[str, ...] = setting(
        (), pattern=r"[A-Za-z0-9_.-]+",
        doc="names besides this machine's and loopback that a request's Host may carry "
        "(a DNS name you gave this machine); addresses are always accepted",
    )  # fmt: skip
    token: str = setting(
        "", doc="the access token other machines need for the previews, the camera and changes "
        "from a browser (at least 16 characters); empty = LTSD_TOKEN, else one generated into "
        "~/.config/ltsd/token; only used when listening beyond loopback",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ScenesConfig:
    path: str = setting(
        "", doc="the scenes file (YAML); empty = scenes.yaml beside the config file, or "
        "~/.config/ltsd/scenes.yaml without one",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ScheduleConfig:
    entries: tuple[str, ...] = setting(
        (), pattern=r"[^\n]{1,200}",
        doc="'[DAYS] HH:MM ACTION' or 'every Nm ACTION'; ACTION: scene NAME|N [SECONDS], "
        "world NAME, next world, standby, wake (docs/installations.md)",
    )  # fmt: skip
    timezone: str = setting("", doc="IANA time zone of the entries; empty = this machine's")


@dataclass(frozen=True, slots=True)
class LogConfig:
    level: str = setting("info", choices=("quiet", "info", "verbose"), doc="how much to print")
    status_interval_s: float = setting(
        5.0, 0.5, 3600.0, unit="s", doc="period of status log lines when not on a terminal"
    )


@dataclass(frozen=True, slots=True)
class Config:
    source: SourceConfig = field(default_factory=SourceConfig)
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    params: LiveParams = field(default_factory=LiveParams)
    osc: OscConfig = field(default_factory=OscConfig)
    web: WebConfig = field(default_factory=WebConfig)
    scenes: ScenesConfig = field(default_factory=ScenesConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    log: LogConfig = field(default_factory=LogConfig)


MAX_CONFIG_BYTES = 1 << 20  # a config file is a few kB; PyYAML's cost grows faster than its size


def read_yaml(path: Path) -> dict[str, Any]:
    """The mapping in a YAML config file; a missing, huge, special or malformed file is a
    ConfigError (a FIFO or a device would block or never end: only regular files are read)."""
    try:
        with open(path, "rb", opener=_open_nonblocking) as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise ConfigError(f"{path}: not a regular file")
            raw = file.read(MAX_CONFIG_BYTES + 1)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read config file ({error.strerror})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES >> 20} MB; not a config file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text (byte {error.start})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise ConfigError(f"{path}: not valid YAML{line}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections, got {type(data).__name__}")
    return data


def _open_nonblocking(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NONBLOCK)


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Nested dict merge: overrides win key by key."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config(path: Path | None, overrides: dict[str, Any] | None = None) -> Config:
    """Defaults, then the file, then the flags; validated as one: nothing starts half-configured."""
    values = read_yaml(path) if path is not None else {}
    return build(Config, merge(values, overrides or {}))
