"""The fault campaign: every decoder of outside data, fed generated bad input (Hypothesis).

Each decoder either works or raises its one-line LtsdError naming the thing; nothing else
escapes. The last test puts a generated batch of damaged stills and clips in front of a running
daemon and checks that output keeps flowing. docs/reliability.md reports the counts.
"""

from __future__ import annotations

import io
import logging
import random
import struct
import time
import warnings

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from ltsd.config import load_config
from ltsd.errors import LtsdError
from ltsd.harness.receiver import NdiReceiver
from ltsd.sources.file import decoded_frames
from ltsd.stills import StillError, decode_still
from tests.helpers.clips import write_clip


def campaign(cases: int) -> settings:
    return settings(max_examples=cases, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip


def still_bytes(kind: str) -> bytes:
    pixels = np.random.default_rng(0).integers(0, 255, (40, 56, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=kind)
    return buffer.getvalue()


def mutated(data: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    """`data` with byte flips, truncations and inserted runs at the given positions."""
    out = bytearray(data)
    for kind, position, value in edits:
        if not out:
            break
        at = position % len(out)
        if kind == "flip":
            out[at] ^= value or 1
        elif kind == "truncate":
            del out[at:]
        else:
            out[at:at] = bytes([value]) * (value % 64 + 1)
    return bytes(out)


EDITS = st.lists(
    st.tuples(st.sampled_from(["flip", "truncate", "insert"]), st.integers(0, 1 << 20),
              st.integers(0, 255)),
    min_size=1, max_size=6,
)  # fmt: skip
STILLS = {kind: still_bytes(kind) for kind in ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP")}


@campaign(300)
@given(kind=st.sampled_from(sorted(STILLS)), edits=EDITS)
def test_damaged_stills_decode_or_are_one_still_error(tmp_path_factory, kind, edits):
    path = tmp_path_factory.mktemp("stills") / f"x.{kind.lower()}"
    path.write_bytes(mutated(STILLS[kind], edits))
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        try:
            pixels = decode_still(path, longest_side=64)
        except StillError as error:
            assert path.name in str(error) and "\n" not in str(error)
        else:
            assert pixels.ndim == 3 and pixels.shape[2] == 3 and max(pixels.shape[:2]) <= 64
    assert not escaped, f"Pillow's warning printed as it is: {escaped[0].message}"


def test_a_still_pillow_only_warns_about_plays_and_is_named_once_in_the_log(tmp_path, caplog):
    """A TIFF whose description claims a megabyte the file does not have: Pillow skips the tag
    and warns (a two-line Python warning naming Pillow's source, not the still); ltsd logs one
    line naming the still, once however often a slideshow decodes it."""
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buffer, "TIFF", description="a" * 40)
    data = bytearray(buffer.getvalue())
    directory = struct.unpack_from("<I", data, 4)[0]  # Pillow writes little-endian ("II")
    for entry in range(struct.unpack_from("<H", data, directory)[0]):
        at = directory + 2 + 12 * entry
        if struct.unpack_from("<H", data, at)[0] == 270:  # ImageDescription
            struct.pack_into("<I", data, at + 4, 1_000_000)  # its length
    path = tmp_path / "described.tiff"
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING), warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        shapes = [decode_still(path).shape for _ in range(3)]
    assert shapes == [(8, 8, 3)] * 3
    assert not escaped
    lines = [
        record.getMessage() for record in caplog.records if "described.tiff" in record.getMessage()
    ]
    assert len(lines) == 1 and "damaged" in lines[0] and "\n" not in lines[0], lines


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory) -> bytes:
    return write_clip(
        tmp_path_factory.mktemp("clip") / "c.mp4", frames=6, size=(64, 36)
    ).read_bytes()


@campaign(400)
@given(edits=EDITS)
def test_damaged_clips_play_what_they_can_or_are_one_source_error(tmp_path_factory, clip_bytes,
                                                                   edits):  # fmt: skip
    path = tmp_path_factory.mktemp("clips") / "c.mp4"
    path.write_bytes(mutated(clip_bytes, edits))
    frames = 0
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        try:
            for pixels, _ in decoded_frames(path):
                assert pixels.ndim == 3 and pixels.shape[2] == 4
                frames += 1
                if frames > 100:
                    break
        except LtsdError as error:
            assert "\n" not in str(error)
    assert not escaped, f"a decoder's warning printed as it is: {escaped[0].message}"


YAML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**66), 2**66) | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner,
                                                                 max_size=3),
    max_leaves=10,
)  # fmt: skip
SECTIONS = st.sampled_from(["source", "synthetic", "model", "output", "params", "osc", "log"])
KEYS = st.sampled_from(
    [
        "spec",
        "width",
        "fps",
        "name",
        "device",
        "sinks",
        "size",
        "mix",
        "fit",
        "port",
        "allow",
        "reply_hosts",
        "media_dirs",
        "level",
        "max_subscribers",
    ]
)


@campaign(300)
@given(document=st.one_of(
    st.dictionaries(SECTIONS, st.dictionaries(KEYS, YAML_VALUES, max_size=4), max_size=4),
    YAML_VALUES,
    st.text(max_size=80),
))  # fmt: skip
def test_any_config_file_loads_or_is_one_config_error(tmp_path_factory, document):
    path = tmp_path_factory.mktemp("config") / "c.yaml"
    if isinstance(document, str):
        path.write_text(document)
    else:
        path.write_text(yaml.safe_dump(document))
    try:
        load_config(path)
    except LtsdError as error:
        assert "\n" not in str(error)


def test_a_running_daemon_plays_through_a_folder_of_damaged_stills_and_clips(
    processes, models_dir, tmp_path
):
    """Generated damage (a fixed seed, so a failure can be replayed) in front of the real daemon:
    a slideshow of 40 damaged stills and one good one, then OSC switches through 15 damaged
    clips. Output never stops and the daemon answers throughout."""
    from tests.test_hardening import frames_until, start_daemon, stop

    rng = random.Random(19)
    media = tmp_path / "media"
    (media / "stills").mkdir(parents=True)
    kinds = sorted(STILLS)
    for index in range(40):
        kind = kinds[index % len(kinds)]
        edits = [(rng.choice(["flip", "truncate", "insert"]), rng.randrange(1 << 20),
                  rng.randrange(256)) for _ in range(rng.randint(1, 4))]  # fmt: skip
        (media / "stills" / f"{index:02d}.{kind.lower()}").write_bytes(mutated(STILLS[kind], edits))
    Image.new("RGB", (96, 64), (90, 140, 200)).save(media / "stills" / "99-good.png")
    good_clip = write_clip(tmp_path / "good.mp4", frames=6, size=(64, 36)).read_bytes()
    for index in range(15):
        edits = [(rng.choice(["flip", "truncate", "insert"]), rng.randrange(1 << 20),
                  rng.randrange(256)) for _ in range(rng.randint(1, 4))]  # fmt: skip
        (media / f"clip{index:02d}.mp4").write_bytes(mutated(good_clip, edits))

    process, output, peer = start_daemon(
        processes, models_dir, tmp_path, f"images:{media / 'stills'}",
        config=f"source:\n  slide_s: 0.05\n  media_dirs: [{str(media)!r}]\n",
    )  # fmt: skip
    receiver = NdiReceiver(output)
    try:
        assert len(receiver.frames(count=60, timeout_s=60, keep_pixels=False)) == 60
        for index in range(15):
            peer.send("/ltsd/source", f"file:clip{index:02d}.mp4")
            peer.messages(until="/ltsd/error", timeout_s=0.3)
            assert frames_until(receiver, lambda f: len(f) >= 5, timeout_s=10), index
        peer.send("/ltsd/source", "synthetic")
        assert peer.status()["/ltsd/status/source"] == "synthetic"
        started = time.monotonic()
        assert frames_until(receiver, lambda f: len(f) >= 10 and f[-1].size == (160, 90), 20)
        assert time.monotonic() - started < 20
    finally:
        receiver.close()
        peer.close()
    log = stop(process)
    assert process.returncode == 0 and "Traceback" not in log, log[-2000:]
