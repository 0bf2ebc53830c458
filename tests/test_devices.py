"""Devices (issue #28): the choice of `--device`, its refusal lines, the GPU check in its CPU
mode, and the CUDA-marked tests that the GPU check runs where there is a GPU."""

from __future__ import annotations

import sys
from fractions import Fraction

import pytest
import torch

from ltsd.daemon import mps_available, pick_device
from ltsd.errors import ConfigError
from tests.conftest import REPO, run_ltsd

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")


def test_auto_picks_cuda_then_mps_then_the_cpu():
    expected = "cuda" if torch.cuda.is_available() else "mps" if mps_available() else "cpu"
    assert pick_device("auto").type == expected
    assert pick_device("cpu").type == "cpu"


@pytest.mark.skipif(mps_available(), reason="this machine has MPS")
def test_mps_where_there_is_none_is_one_line_that_says_what_to_use(tmp_path):
    with pytest.raises(ConfigError) as refused:
        pick_device("mps")
    assert "--device auto" in str(refused.value) and "\n" not in str(refused.value)
    for command in (["run", "--frames", "1"], ["bench", "--runs", "1"],
                    ["render", "in.mp4", str(tmp_path / "out.mp4")],
                    ["train", str(tmp_path), "--name", "x", "--steps", "1"]):  # fmt: skip
        result = run_ltsd(*command, "--device", "mps", timeout_s=60)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1, (command, result.stderr[-500:])
        assert "mps" in lines[0] and "Traceback" not in result.stderr


def test_the_gpu_check_runs_on_the_cpu_and_writes_its_table(tmp_path):
    import subprocess

    table = tmp_path / "gpu.md"
    done = subprocess.run(
        [sys.executable, "-m", "ltsd.harness.gpu_check", "--device", "cpu", "--runs", "2",
         "--train-steps", "2", "--output", str(table)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    text = table.read_text()
    assert "| generator ocean 256² float32 | ok |" in text
    assert "| CPU/cpu agreement, ocean | ok | max 0.00 of 255 levels |" in text
    assert "train 2 steps" in text and "FAILED" not in text
    if not torch.cuda.is_available():
        assert "| end to end | skipped: no CUDA |" in text


@pytest.mark.cuda
@needs_cuda
def test_a_frame_goes_through_the_pipeline_on_cuda():
    import numpy as np

    from ltsd.frame import Frame
    from ltsd.modelstore import load_model, model_path
    from ltsd.params import LiveParams, ParamStore
    from ltsd.pipeline import FrameProcessor

    device = torch.device("cuda")
    model = load_model(model_path(REPO / "models", "ocean"), device)
    processor = FrameProcessor(model, ParamStore(LiveParams()), device)
    pixels = np.random.default_rng(0).integers(0, 256, (1080, 1920, 4), dtype=np.uint8)
    out = processor.process(Frame(pixels, 0, Fraction(60), 0), LiveParams())
    assert out.shape == (1080, 1920, 4) and out.dtype == np.uint8 and out[:, :, :3].std() > 1


@pytest.mark.cuda
@needs_cuda
def test_cuda_and_cpu_draw_the_same_world_within_two_levels():
    from ltsd.harness.gpu_check import agreement_row

    (row,) = agreement_row("ocean", torch.device("cuda"))
    assert row.result == "ok", row.figure
