"""`model.runtime: openvino`: the trained form compiled by OpenVINO computes the same world, and
where OpenVINO cannot run, ltsd says so in one line and plays on torch."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from ltsd.daemon import pick_runtime
from ltsd.generator import GeneratorSpec
from ltsd.inference import precision_problem
from ltsd.modelstore import ModelInfo, load_model, save_model
from ltsd.openvino_runtime import OpenVinoGenerator, openvino_missing
from tests.conftest import REPO, child_environment, free_udp_port
from tests.test_inference import trained_like

SHIPPED = GeneratorSpec(
    1, 3, ngf=8, max_channels=128, depth=8, upsample="nearest", padding="reflect"
)  # the shipped worlds' architecture
MISSING = openvino_missing()
needs_openvino = pytest.mark.skipif(MISSING is not None, reason=f"OpenVINO runtime: {MISSING}")


@needs_openvino
@pytest.mark.parametrize(
    ("spec", "side"),
    [
        (SHIPPED, 256),
        (
            GeneratorSpec(
                1, 3, ngf=4, max_channels=16, depth=5, upsample="nearest", padding="reflect"
            ),
            32,
        ),  # a 1×1 bottleneck
        (GeneratorSpec(3, 3, ngf=4, max_channels=16, depth=6), 64),  # zero padding
        (GeneratorSpec(3, 3, ngf=4, max_channels=16, depth=5, norm="instance"), 32),
        (GeneratorSpec(3, 3, ngf=4, max_channels=16, depth=5, layout="keras"), 32),
        (replace(SHIPPED, chroma="half"), 256),  # colour at half resolution
        (GeneratorSpec(3, 3, ngf=4, max_channels=16, depth=5, chroma="half"), 32),  # whole
    ],
)
def test_openvino_computes_what_the_trained_generator_does(spec, side):
    trained = trained_like(spec, seed=side)
    compiled = OpenVinoGenerator(trained, "fp32", threads=1)
    # the outer levels run as ltsd's phase convolutions where the world has them, else OpenVINO
    # runs it whole
    split = spec.layout == "pix2pix" and spec.norm == "batch"
    assert len(compiled.tail) == (2 if split else 0)
    for batch in (1, 2):  # a second shape compiles again and stays right
        image = torch.rand(batch, spec.in_channels, side, side).mul(2).sub(1)
        with torch.inference_mode():
            expected = trained(image.contiguous(memory_format=torch.channels_last))
            made = compiled(image.contiguous(memory_format=torch.channels_last))
        assert made.shape == expected.shape and made.dtype == torch.float32
        assert (made - expected).abs().max() < 1e-4


def shipped_like(folder: Path) -> Path:
    path = folder / "sea.safetensors"
    save_model(path, trained_like(SHIPPED, seed=3), ModelInfo("sea", SHIPPED, 256), torch.float32)
    return path


@needs_openvino
def test_a_world_loaded_for_openvino_plays_the_torch_worlds_picture(tmp_path):
    path = shipped_like(tmp_path)
    on_torch, on_openvino = load_model(path), load_model(path, runtime="openvino")
    assert (on_torch.runtime, on_openvino.runtime) == ("torch", "openvino")
    assert on_openvino.precision == "fp32" and on_openvino.generator.memory_bytes() > 0
    image = torch.rand(1, 1, 256, 256).mul(2).sub(1)
    with torch.inference_mode():
        difference = (on_openvino.generator(image) - on_torch.generator(image)).abs().max()
    assert difference < 1e-4
    if precision_problem("bf16", torch.device("cpu")) is None:
        in_bf16 = load_model(path, precision="bf16", runtime="openvino")
        assert in_bf16.precision == "bf16"
        with torch.inference_mode():
            levels = (in_bf16.generator(image) - on_torch.generator(image)).abs().mul(127.5)
        assert levels.mean() < 2 and levels.max() < 32


def test_openvino_on_a_gpu_falls_back_to_torch_in_one_line(caplog):
    assert pick_runtime("torch", torch.device("cpu")) == "torch"
    assert pick_runtime("openvino", torch.device("cuda")) == "torch"
    assert "openvino not used (it runs on the CPU, not cuda)" in caplog.text
    if MISSING is None:
        assert pick_runtime("openvino", torch.device("cpu")) == "openvino"


def test_the_daemon_without_openvino_installed_plays_on_torch_and_says_why(tmp_path):
    """OpenVINO made unimportable in a real `ltsd run` (as on a machine without the extra)."""
    shipped_like(tmp_path)
    run = (
        "import sys; sys.modules['openvino'] = None; from ltsd.cli import main; "
        f"sys.exit(main(['run', '--models-dir', {str(tmp_path)!r}, '--model', 'sea', "
        f"'--runtime', 'openvino', '--frames', '3', '--sink', 'null', "
        f"'--osc-port', '{free_udp_port()}', '--oscquery-port', '0']))"
    )
    done = subprocess.run([sys.executable, "-c", run], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env=child_environment())  # fmt: skip
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "openvino not used" in line]
    assert len(warnings) == 1 and "pip install -e '.[openvino]'" in warnings[0]
    assert "Traceback" not in done.stderr
    assert "via openvino" not in done.stderr


@needs_openvino
def test_the_daemon_says_it_plays_via_openvino(tmp_path):
    shipped_like(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "ltsd.cli", "run", "--models-dir", str(tmp_path), "--model", "sea",
         "--runtime", "openvino", "--precision", "fp32", "--frames", "3", "--sink", "null",
         "--osc-port", str(free_udp_port()), "--oscquery-port", "0"],
        cwd=REPO, capture_output=True, text=True, timeout=120, env=child_environment(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "model 'sea' (256x256) on cpu in fp32 via openvino" in done.stderr
