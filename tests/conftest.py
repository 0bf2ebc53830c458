"""Shared fixtures: tiny real models, an NDI camera process, and `ltsd run` as a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.models import MAGENTA, write_constant_model
from tests.helpers.osc_client import OscPeer

REPO = Path(__file__).resolve().parent.parent
MODEL_RGB = MAGENTA  # what the "magenta" test world paints


def eventually(check: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    """Poll `check` until it holds or `timeout_s` passes: a daemon answers in its own time,
    and a fixed sleep before looking is a race a busy machine loses."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def unique_name(prefix: str) -> str:
    """NDI names must not collide with other tests or other runs on the machine."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


_EPHEMERAL = _ephemeral_range()
_HANDED_OUT: set[int] = set()
_NEXT_PORT = [20000 + (os.getpid() * 7919) % 12000]  # side-by-side runs start apart


def free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1, below the kernel's ephemeral range and
    never handed out twice in this run. A port the kernel picked for `bind(0)` and we then
    released can be picked again by the next socket that binds 0 (our OSC client's first
    send, NDI, a page load) before the daemon binds it: CI saw exactly that."""
    for _ in range(2000):
        port = _NEXT_PORT[0]
        _NEXT_PORT[0] = 20000 + (port - 20000 + 1) % 12000
        if port in _HANDED_OUT or _EPHEMERAL[0] <= port <= _EPHEMERAL[1]:
            continue
        try:
            with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                tcp.bind(("127.0.0.1", port))
                udp.bind(("127.0.0.1", port))
        except OSError:
            continue
        _HANDED_OUT.add(port)
        return port
    with socket.socket() as probe:  # the ephemeral range covers ours: let the kernel pick
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


free_tcp_port = free_udp_port = free_port


def with_free_ports(args: tuple[str, ...]) -> tuple[str, ...]:
    """`ltsd run` gets a free OSC port unless the test names one: daemons run side by side."""
    if args[:1] == ("run",) and "--osc-port" not in args:
        return (*args, "--osc-port", str(free_udp_port()), "--oscquery-port", "0")
    return args


# ltsd writes the access token and a scenes file under ~/.config/ltsd: the tests' daemons get
# a folder of their own instead of the home of whoever runs the tests
CONFIG_HOME = tempfile.mkdtemp(prefix="ltsd-tests-config-")


# the suite runs several pytest workers (pyproject: -n 2): each worker, and each process a test
# starts, gets its share of the cores, so that the workers' torch thread pools do not
# oversubscribe the CPU and turn a test's 30 s into minutes when two heavy files run together
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
THREADS_PER_WORKER = max(1, (os.cpu_count() or 2) // WORKERS)
if WORKERS > 1:
    import torch

    torch.set_num_threads(THREADS_PER_WORKER)


def child_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": str(THREADS_PER_WORKER),
            "XDG_CONFIG_HOME": CONFIG_HOME, **(extra or {})}  # fmt: skip


def run_ltsd(*args: str, cwd: Path = REPO, timeout_s: float = 300) -> subprocess.CompletedProcess:
    """`ltsd ARGS...` to completion, as a user would run it, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "ltsd.cli", *with_free_ports(args)],
        cwd=cwd, capture_output=True, text=True, timeout=timeout_s, env=child_environment(),
    )  # fmt: skip


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    write_constant_model(folder, "magenta", MODEL_RGB)
    return folder


@dataclass
class Controlled:
    """A running `ltsd run` and an OSC peer talking to it."""

    process: subprocess.Popen
    peer: OscPeer
    osc_port: int
    web_port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"


class Processes:
    """Starts child processes and makes sure none outlives the test."""

    def __init__(self) -> None:
        self.children: list[subprocess.Popen] = []

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        env = child_environment({"PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1", **(env or {})})
        child = subprocess.Popen(
            [sys.executable, *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.children.append(child)
        return child

    def camera(self, name: str, *extra: str) -> subprocess.Popen:
        return self.start("-m", "ltsd.harness.camera", "--name", name, *extra)

    def ltsd(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        return self.start("-m", "ltsd.cli", *with_free_ports(args), env=env)

    def controlled(self, *args: str, env: dict[str, str] | None = None,
                   timeout_s: float = 30.0) -> Controlled:  # fmt: skip
        """`ltsd run ARGS` on its own OSC and web ports, once it answers OSC and its web port
        takes connections (the web server starts beside OSC, not before it)."""
        osc_port, web_port = free_udp_port(), free_tcp_port()
        process = self.ltsd("run", *args, "--osc-port", str(osc_port),
                            "--oscquery-port", str(web_port), env=env)  # fmt: skip
        peer = OscPeer(osc_port)
        try:
            peer.wait_for(process, timeout_s)
            _wait_for_listening(web_port, process, timeout_s)
        except BaseException:
            peer.close()
            raise
        return Controlled(process, peer, osc_port, web_port)

    def small(self, folder: Path, name: str, *args: str, **options: Any) -> Controlled:
        """`controlled` on the two constant test worlds (magenta plays) and a 160x90 scene."""
        from tests.helpers.models import two_constant_worlds

        two_constant_worlds(folder / "models")
        config = folder / "small.yaml"
        config.write_text("synthetic:\n  width: 160\n  height: 90\n")
        return self.controlled("--config", str(config), "--models-dir", str(folder / "models"),
                               "--model", "magenta", "--ndi-name", unique_name(name), *args,
                               **options)  # fmt: skip

    def stop_all(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGKILL)
            child.communicate(timeout=10)


def _wait_for_listening(port: int, process: subprocess.Popen, timeout_s: float) -> None:
    """Until 127.0.0.1:port accepts a TCP connection (bounded; fails if the process ends)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"nothing listens on web port {port}") from None
            time.sleep(0.05)


@pytest.fixture
def processes() -> Iterator[Processes]:
    spawned = Processes()
    yield spawned
    spawned.stop_all()
