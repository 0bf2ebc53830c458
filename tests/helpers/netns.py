"""A second host for network tests: a network namespace joined to this one by a veth pair.

Everything it makes lives inside the test's sandbox (a namespace, a veth pair, addresses in a
/24 used by nothing else) and is removed when the `with` block ends. Without root or `ip`, the
test that asks for one skips with one line saying so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

# this machine's end is .1; the second host answers as .2 and .3. One /24 per pytest-xdist
# worker ("gw0", "gw1", ...), so that two workers' second hosts never share an address.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
SUBNET = f"10.251.{37 + _WORKER}"


@dataclass(frozen=True, slots=True)
class SecondHost:
    namespace: str
    server_address: str  # this machine, as the second host reaches it
    addresses: tuple[str, ...]  # the second host's own addresses

    def python(self, code: str, *args: str, timeout_s: float = 60) -> str:
        """Run `code` with this interpreter inside the namespace; its stdout."""
        done = subprocess.run(
            ["ip", "netns", "exec", self.namespace, sys.executable, "-c", code, *args],
            capture_output=True, text=True, timeout=timeout_s,
        )  # fmt: skip
        if done.returncode != 0:
            raise AssertionError(f"second host: {done.stderr.strip()[-2000:]}")
        return done.stdout


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)


@contextmanager
def second_host() -> Iterator[SecondHost]:
    if shutil.which("ip") is None:
        pytest.skip("no second host: the 'ip' command (iproute2) is not installed")
    tag = uuid.uuid4().hex[:6]
    namespace, outside, inside = f"ltsd-{tag}", f"ltsd{tag}a", f"ltsd{tag}b"
    made = _ip("netns", "add", namespace)
    if made.returncode != 0:
        pytest.skip(f"no second host: cannot make a network namespace ({made.stderr.strip()})")
    try:
        steps = [
            ("link", "add", outside, "type", "veth", "peer", "name", inside),
            ("link", "set", inside, "netns", namespace),
            ("addr", "add", f"{SUBNET}.1/24", "dev", outside),
            ("link", "set", outside, "up"),
            ("-n", namespace, "addr", "add", f"{SUBNET}.2/24", "dev", inside),
            ("-n", namespace, "addr", "add", f"{SUBNET}.3/24", "dev", inside),
            ("-n", namespace, "link", "set", inside, "up"),
            ("-n", namespace, "link", "set", "lo", "up"),
        ]
        for step in steps:
            done = _ip(*step)
            if done.returncode != 0:
                pytest.skip(f"no second host: ip {' '.join(step)}: {done.stderr.strip()}")
        yield SecondHost(namespace, f"{SUBNET}.1", (f"{SUBNET}.2", f"{SUBNET}.3"))
    finally:
        _ip("link", "del", outside)  # removes both ends
        _ip("netns", "del", namespace)
