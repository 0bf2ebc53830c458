"""Outputs beside NDI: files read back with PyAV, several sinks at once, platform errors."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from ltsd.harness.receiver import NdiReceiver
from ltsd.pixels import bgrx_to_rgba, rgba_to_bgrx
from tests.conftest import MODEL_RGB, Processes, run_ltsd, unique_name


def read_video(path: Path) -> tuple[float, int, int, list[np.ndarray]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
        return float(stream.average_rate), stream.width, stream.height, frames


def test_file_sink_writes_every_frame_at_the_source_size_and_rate(models_dir: Path, tmp_path):
    out = tmp_path / "world.mp4"
    result = run_ltsd("run", "--models-dir", str(models_dir), "--model", "magenta",
                      "--sink", f"file:{out}", "--frames", "45", "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    rate, width, height, frames = read_video(out)
    assert (rate, width, height, len(frames)) == (30.0, 640, 360, 45)
    assert np.allclose(frames[-1].reshape(-1, 3).mean(axis=0), MODEL_RGB, atol=6)


def test_ndi_and_file_sinks_are_fed_at_once(models_dir: Path, tmp_path, processes: Processes):
    out, name = tmp_path / "both.mp4", unique_name("both")
    daemon = processes.ltsd("run", "--models-dir", str(models_dir), "--model", "magenta",
                            "--sink", "ndi", "--sink", f"file:{out}", "--ndi-name", name,
                            "--frames", "240")  # fmt: skip
    receiver = NdiReceiver(name)
    received = receiver.frames(count=20, timeout_s=20)
    receiver.close()
    assert daemon.wait(timeout=60) == 0
    assert len(received) == 20
    assert len(read_video(out)[3]) == 240


def test_image_sequence_sink_writes_numbered_pictures(models_dir: Path, tmp_path):
    pattern = tmp_path / "frame_%03d.png"
    result = run_ltsd("run", "--models-dir", str(models_dir), "--model", "magenta",
                      "--sink", f"file:{pattern}", "--frames", "5", "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.glob("frame_*.png")) == [
        f"frame_{i:03d}.png" for i in range(5)
    ]


def test_unwritable_outputs_and_foreign_platform_sinks_are_one_line_errors(tmp_path):
    for spec, needle in [
        (f"file:{tmp_path / 'missing' / 'x.mp4'}", "does not exist"),
        (f"file:{tmp_path}", "records H.264"),  # a folder, not a video name
        ("syphon", "only on macOS"),
        ("spout", "only on Windows"),
        ("webrtc", "sinks"),
    ]:
        result = run_ltsd("run", "--sink", spec, "--frames", "1")
        assert result.returncode == 2, (spec, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.stderr


def test_bgrx_becomes_opaque_rgba_with_optional_bottom_up_rows():
    bgrx = np.zeros((2, 1, 4), np.uint8)
    bgrx[0, 0] = (10, 20, 30, 0)  # top pixel: blue 10, green 20, red 30, unused X
    bgrx[1, 0] = (40, 50, 60, 7)
    assert bgrx_to_rgba(bgrx)[:, 0].tolist() == [[30, 20, 10, 255], [60, 50, 40, 255]]
    flipped = bgrx_to_rgba(bgrx, flip_rows=True)
    assert flipped[:, 0].tolist() == [[60, 50, 40, 255], [30, 20, 10, 255]]
    assert flipped.flags["C_CONTIGUOUS"]


def test_rgba_from_syphon_or_spout_becomes_opaque_bgrx():
    rgba = np.array([[[30, 20, 10, 0], [60, 50, 40, 128]]], np.uint8)  # red, green, blue, alpha
    bgrx = rgba_to_bgrx(rgba)
    assert bgrx.tolist() == [[[10, 20, 30, 255], [40, 50, 60, 255]]]
    assert bgrx.flags["C_CONTIGUOUS"] and rgba[0, 0, 3] == 0  # the texture's copy is untouched
    assert (rgba_to_bgrx(bgrx_to_rgba(bgrx)) == bgrx).all()


def test_foreign_platform_sources_are_one_line_errors():
    for spec, needle in [("syphon:Resolume", "only on macOS"), ("spout:TD", "only on Windows")]:
        result = run_ltsd("run", "--source", spec, "--frames", "1")
        assert result.returncode == 2, (spec, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.stderr
        assert f"source {spec.split(':')[0]}" in lines[0]


def test_the_start_line_names_the_outputs_actually_opened(models_dir: Path):
    alone = run_ltsd("run", "--models-dir", str(models_dir), "--model", "magenta",
                     "--sink", "null", "--frames", "2")  # fmt: skip
    assert alone.returncode == 0, alone.stderr
    start = next(line for line in alone.stderr.splitlines() if "→ model" in line)
    assert start.endswith("→ null") and "NDI" not in start and "ndi:" not in start
    name = unique_name("start-line")
    both = run_ltsd("run", "--models-dir", str(models_dir), "--model", "magenta", "--sink",
                    "null", "--sink", "ndi", "--ndi-name", name, "--frames", "2")  # fmt: skip
    assert both.returncode == 0, both.stderr
    assert f"→ null + ndi:{name}" in both.stderr
