"""Hypothesis strategies for what hostile or sloppy OSC clients send."""

from __future__ import annotations

import struct

from hypothesis import strategies as st
from pythonosc.osc_message_builder import OscMessageBuilder

from ltsd.control.osc import param_address
from ltsd.params import PARAMS

KNOWN_ADDRESSES = [
    *(param_address("/ltsd", info) for info in PARAMS.values()),
    *(param_address("/ltsd", info) + "/norm" for info in PARAMS.values()),
    "/ltsd/model", "/ltsd/model/index", "/ltsd/model/next", "/ltsd/model/prev", "/ltsd/source",
    "/ltsd/reset", "/ltsd/status", "/ltsd/subscribe", "/ltsd/unsubscribe",
]  # fmt: skip

# OSC strings are NUL-terminated: a NUL inside one cannot be encoded (raw bytes cover that case)
osc_characters = st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"])
arguments = st.one_of(
    st.integers(-(2**31), 2**31 - 1),
    st.floats(width=32),  # NaN and infinities included
    st.text(osc_characters, max_size=40),
    st.text(osc_characters, min_size=5000, max_size=6000),
    st.booleans(),
    st.binary(min_size=1, max_size=64),  # python-osc cannot encode an empty blob
    st.sampled_from(["T", "F", "true", "off", "1e9", "-0", "nan", "inf", "teal", "letterbox"]),
)
addresses = st.one_of(
    st.sampled_from(KNOWN_ADDRESSES), st.text(osc_characters, max_size=60).map(lambda t: "/" + t)
)


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    builder = OscMessageBuilder(draw(addresses))
    for value in draw(st.lists(arguments, max_size=4)):
        builder.add_arg(value)
    return builder.build().dgram


def bundle_of(contents: list[bytes], timetag: int = 1) -> bytes:
    """An OSC bundle (spec 1.0 layout) around already-encoded messages or bundles; timetag 1 means
    "immediately", and a far-future one tests that ltsd never waits for it."""
    parts = [b"#bundle\x00", struct.pack(">Q", timetag)]
    for content in contents:
        parts += [struct.pack(">i", len(content)), content]
    return b"".join(parts)


timetags = st.sampled_from([1, 0, 2**64 - 1, 2**63])
bundles = st.recursive(
    messages(),
    lambda inner: st.builds(bundle_of, st.lists(inner, max_size=3), timetags),
    max_leaves=12,
)
datagrams = st.one_of(st.binary(max_size=1500), messages(), bundles)


def deep_bundle(depth: int) -> bytes:
    """A bundle nested `depth` levels deep around one real message."""
    datagram = OscMessageBuilder("/ltsd/mix").build().dgram
    for _ in range(depth):
        datagram = bundle_of([datagram])
    return datagram
