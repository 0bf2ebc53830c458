"""User mistakes end in one line naming the thing, exit code 2, no traceback, nothing started."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import child_environment, run_ltsd
from tests.helpers.models import write_random_model


def assert_user_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize(
    ("yaml_text", "needles"),
    [
        ("source:\n  colour: red\n", ["source.colour", "unknown key", "spec"]),
        ("synthetic:\n  fps: fast\n", ["synthetic.fps", "from 1 to 240"]),
        ("synthetic:\n  width: 5\n", ["synthetic.width", "from 16 to 7680"]),
        ("params:\n  fit: stretch\n", ["params.fit", "crop, letterbox"]),
        ("output:\n  on_source_lost: panic\n", ["output.on_source_lost", "hold, black"]),
        ("model: [1, 2]\n", ["model", "mapping"]),
        ("source: {spec: synthetic\n", ["not valid YAML"]),
    ],
)
def test_bad_config_file_is_one_line_exit_2(tmp_path: Path, yaml_text: str, needles: list[str]):
    config = tmp_path / "bad.yaml"
    config.write_text(yaml_text)
    assert_user_error(run_ltsd("run", "--config", str(config), "--frames", "1"), *needles)


def test_bad_flag_value_is_validated_like_the_file():
    assert_user_error(
        run_ltsd("run", "--device", "gpu", "--frames", "1"), "model.device", "auto, cpu, cuda"
    )


def test_missing_config_file_is_named(tmp_path: Path):
    assert_user_error(run_ltsd("run", "--config", str(tmp_path / "nope.yaml")), "nope.yaml")


def test_missing_model_is_named(tmp_path: Path):
    assert_user_error(
        run_ltsd("run", "--models-dir", str(tmp_path), "--model", "ocean", "--frames", "1"),
        "ocean.safetensors", "not found",
    )  # fmt: skip


def test_a_misspelt_world_is_answered_with_the_closest_and_the_list(tmp_path: Path):
    for name in ("ocean", "space", "clouds"):
        write_random_model(tmp_path, name)
    assert_user_error(
        run_ltsd("run", "--models-dir", str(tmp_path), "--model", "oecan", "--frames", "1"),
        "oecan.safetensors: model file not found", "did you mean 'ocean'?",
        "clouds, ocean, space",
    )  # fmt: skip
    assert_user_error(
        run_ltsd("run", "--models-dir", str(tmp_path), "--model", "zzz", "--frames", "1"),
        "zzz.safetensors: model file not found (worlds in",
    )  # fmt: skip


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_says_what_to_use_instead():
    assert_user_error(
        run_ltsd("run", "--device", "cuda", "--frames", "1"), "no CUDA device", "--device auto"
    )


def test_corrupt_model_is_named(tmp_path: Path):
    (tmp_path / "broken.safetensors").write_bytes(b"\x00\x01 this is not a model")
    assert_user_error(
        run_ltsd("run", "--models-dir", str(tmp_path), "--model", "broken", "--frames", "1"),
        "broken.safetensors",
    )  # fmt: skip


def test_truncated_model_is_named(tmp_path: Path):
    path = write_random_model(tmp_path, "cut")
    path.write_bytes(path.read_bytes()[:-1000])
    assert_user_error(
        run_ltsd("run", "--models-dir", str(tmp_path), "--model", "cut", "--frames", "1"),
        "cut.safetensors",
    )  # fmt: skip


def test_model_whose_weights_mismatch_its_metadata_is_named(tmp_path: Path):
    from safetensors import safe_open
    from safetensors.torch import save_file

    path = write_random_model(tmp_path, "liar")
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    tensors.pop(sorted(tensors)[0])
    save_file(tensors, str(path), metadata=metadata)
    assert_user_error(
        run_ltsd("run", "--models-dir", str(tmp_path), "--model", "liar", "--frames", "1"),
        "liar.safetensors", "do not match",
    )  # fmt: skip


def test_models_lists_good_models_and_names_broken_ones(tmp_path: Path):
    write_random_model(tmp_path, "good")
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    result = run_ltsd("models", "--models-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    good = next(line for line in result.stdout.splitlines() if line.startswith("good"))
    assert "64x64" in good
    junk = next(line for line in result.stdout.splitlines() if line.startswith("junk"))
    assert "unusable" in junk


def test_run_help_lists_every_kind_of_source_the_readme_tours():
    shown = " ".join(run_ltsd("run", "--help").stdout.split())  # argparse wraps lines
    for kind in ("synthetic", "browser", "ndi:NAME", "file:PATH", "images:DIR", "camera:DEVICE",
                 "syphon:NAME", "spout:NAME"):  # fmt: skip
        assert kind in shown, kind


def test_listening_beyond_loopback_with_no_allow_list_says_so_once(tmp_path: Path):
    """No traffic leaves the machine: the web server (and so mDNS) is off, nothing is sent."""
    from tests.conftest import free_udp_port

    port = str(free_udp_port())
    opened = run_ltsd("run", "--osc-host", "0.0.0.0", "--osc-port", port, "--oscquery-port", "0",
                      "--sink", "null", "--frames", "2")  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    warnings = [line for line in opened.stderr.splitlines() if "every host on the network" in line]
    assert len(warnings) == 1 and "osc.allow" in warnings[0]
    config = tmp_path / "allow.yaml"
    config.write_text("osc:\n  allow: [127.0.0.0/8]\n")
    narrowed = run_ltsd("run", "--config", str(config), "--osc-host", "0.0.0.0",
                        "--osc-port", port, "--oscquery-port", "0", "--sink", "null",
                        "--frames", "2")  # fmt: skip
    assert narrowed.returncode == 0 and "every host on the network" not in narrowed.stderr
    loopback = run_ltsd("run", "--osc-port", port, "--oscquery-port", "0", "--sink", "null",
                        "--frames", "2")  # fmt: skip
    assert "every host on the network" not in loopback.stderr


TOOL_ARGUMENTS = {
    "ltsd.train.evaluate": [],
    "ltsd.train.sheet": ["--output", "sheet.png"],
    "ltsd.train.fit_levels": ["images", "--camera", "camera"],
}


@pytest.mark.parametrize("module", sorted(TOOL_ARGUMENTS))
def test_the_training_tools_name_a_missing_world_in_one_line(tmp_path: Path, module: str):
    extra = [str(tmp_path / a) if "--" not in a else a for a in TOOL_ARGUMENTS[module]]
    ran = subprocess.run(
        [sys.executable, "-m", module, "--model", "nowhere", "--models-dir", str(tmp_path), *extra],
        capture_output=True, text=True, timeout=120, env=child_environment(),
    )  # fmt: skip
    assert ran.returncode == 2, ran.stderr
    assert ran.stderr.strip().splitlines() == [
        f"{module}: error: {tmp_path / 'nowhere.safetensors'}: model file not found "
        f"({tmp_path} holds no worlds)"
    ]
