"""Video files in: the file: source with `ltsd run`, and `ltsd render`, read back with PyAV."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image

from ltsd.inference import precision_problem
from tests.conftest import MODEL_RGB, run_ltsd
from tests.helpers.clips import write_clip


def probe(path: Path) -> dict:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        audio = bool(container.streams.audio)
        return {"fps": float(stream.average_rate), "size": (stream.width, stream.height),
                "frames": frames, "audio": audio}  # fmt: skip


def model_coloured(frame: np.ndarray) -> bool:
    return bool(np.allclose(frame.reshape(-1, 3).mean(axis=0), MODEL_RGB, atol=6))


def test_run_from_a_file_source_to_a_file_sink(models_dir: Path, tmp_path: Path):
    clip = write_clip(tmp_path / "in.mp4", frames=20, fps=20)
    out = tmp_path / "out.mp4"
    result = run_ltsd("run", "--source", f"file:{clip}", "--sink", f"file:{out}", "--frames", "30",
                      "--models-dir", str(models_dir), "--model", "magenta", "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    video = probe(out)
    assert (video["fps"], video["size"], len(video["frames"])) == (20.0, (160, 90), 30)  # looped
    assert all(model_coloured(frame) for frame in video["frames"])


def test_render_writes_every_frame_deterministically_with_audio(models_dir: Path, tmp_path: Path):
    clip = write_clip(tmp_path / "in.mp4", frames=24, fps=12, audio=True)
    first, second = tmp_path / "a.mp4", tmp_path / "b.mp4"
    for out in (first, second):
        result = run_ltsd("render", str(clip), str(out), "--models-dir", str(models_dir),
                          "--model", "magenta", "--quiet")  # fmt: skip
        assert result.returncode == 0, result.stderr
    a, b = probe(first), probe(second)
    assert (a["fps"], a["size"], len(a["frames"]), a["audio"]) == (12.0, (160, 90), 24, True)
    assert all(np.array_equal(x, y) for x, y in zip(a["frames"], b["frames"], strict=True))
    assert model_coloured(a["frames"][-1])


def test_render_in_bf16_draws_the_same_world(models_dir: Path, tmp_path: Path):
    """Where the CPU computes bf16, it renders what fp32 does; where it does not, the render is
    refused in one line (emulated bf16 would be several times slower), as `ltsd run` refuses it."""
    clip = write_clip(tmp_path / "in.mp4", frames=6, fps=12)
    native = precision_problem("bf16", torch.device("cpu")) is None
    frames = {}
    for precision in ("fp32", "bf16"):
        out = tmp_path / f"{precision}.mp4"
        result = run_ltsd("render", str(clip), str(out), "--models-dir", str(models_dir),
                          "--model", "magenta", "--precision", precision, "--quiet")  # fmt: skip
        if precision == "bf16" and not native:
            assert result.returncode != 0 and "model.precision: bf16 needs" in result.stderr
            assert "Traceback" not in result.stderr and not out.exists()
            continue
        assert result.returncode == 0, result.stderr
        frames[precision] = np.stack(probe(out)["frames"]).astype(int)
    if native:
        assert frames["fp32"].shape == frames["bf16"].shape == (6, 90, 160, 3)
        assert np.abs(frames["fp32"] - frames["bf16"]).mean() < 2.0  # as H.264 decodes them
    result = run_ltsd("render", str(clip), str(tmp_path / "x.mp4"), "--precision", "fp16")
    assert result.returncode != 0 and "precision" in result.stderr
    assert "Traceback" not in result.stderr


def test_render_resamples_to_a_new_rate_and_size(models_dir: Path, tmp_path: Path):
    clip = write_clip(tmp_path / "in.mp4", frames=20, fps=20)  # one second
    out = tmp_path / "out.mp4"
    result = run_ltsd("render", str(clip), str(out), "--fps", "30", "--size", "320x180",
                      "--models-dir", str(models_dir), "--model", "magenta", "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    video = probe(out)
    assert (video["fps"], video["size"], len(video["frames"])) == (30.0, (320, 180), 30)


def test_render_an_image_folder(models_dir: Path, tmp_path: Path):
    folder = tmp_path / "stills"
    folder.mkdir()
    for index in range(3):
        Image.new("RGB", (100, 60), (index * 80, 50, 50)).save(folder / f"{index}.png")
    out = tmp_path / "out.mp4"
    result = run_ltsd("render", str(folder), str(out), "--fps", "10",
                      "--models-dir", str(models_dir), "--model", "magenta", "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    video = probe(out)
    assert (video["fps"], video["size"], len(video["frames"])) == (10.0, (100, 60), 3)


@pytest.mark.parametrize("command", ["run", "render"])
def test_missing_corrupt_and_unwritable_files_are_one_line_errors(command, models_dir, tmp_path):
    good = write_clip(tmp_path / "good.mp4")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(good.read_bytes()[:2000])
    model = ["--models-dir", str(models_dir), "--model", "magenta"]

    def attempt(source: Path, output: Path) -> str:
        if command == "run":
            args = [
                "run",
                "--source",
                f"file:{source}",
                "--sink",
                f"file:{output}",
                "--frames",
                "1",
            ]
        else:
            args = ["render", str(source), str(output), "--quiet"]
        result = run_ltsd(*args, *model)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
        return lines[0]

    assert "no such file" in attempt(tmp_path / "absent.mp4", tmp_path / "o.mp4")
    assert "broken.mp4" in attempt(broken, tmp_path / "o.mp4")
    assert "does not exist" in attempt(good, tmp_path / "no" / "o.mp4")
