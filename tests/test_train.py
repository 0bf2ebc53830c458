"""`ltsd train` for real on tiny generated images: export, listing, running, resume, bad input."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ltsd import preprocess
from ltsd.modelstore import load_model
from ltsd.params import LiveParams
from ltsd.train import data as train_data
from ltsd.train.data import Degradation, make_pairs, random_crops
from tests.conftest import run_ltsd

TINY = [
    "--resolution",
    "128",
    "--ngf",
    "4",
    "--max-filters",
    "16",
    "--ndf",
    "8",
    "--batch-size",
    "2",
    "--statistics-batches",  # each save measures the exported batch-norm statistics on 2 batches
    "2",
]


@pytest.fixture
def images_dir(tmp_path: Path) -> Path:
    """Three small pictures (one in a nested folder) and one broken file."""
    folder = tmp_path / "world"
    (folder / "nested").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for index, where in enumerate([folder, folder, folder / "nested"]):
        pixels = rng.integers(0, 256, size=(150, 200, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(where / f"picture_{index}.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    return folder


def test_train_exports_a_model_that_models_lists_and_run_uses(images_dir: Path, tmp_path: Path):
    models = tmp_path / "models"
    trained = run_ltsd("train", str(images_dir), "--name", "tiny", "--models-dir", str(models),
                   "--steps", "3", "--run-dir", str(tmp_path / "run"),
                   "--brightness-jitter", "0.4", "--l1-scale", "2", *TINY)  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert "broken.jpg" in trained.stderr, "the unreadable file must be named"
    info = load_model(models / "tiny.safetensors").info
    assert info.provenance["image_count"] == 3 and info.provenance["steps"] == 3
    assert info.preprocessing["blur_factor"] == 24.0
    assert info.preprocessing["brightness_jitter"] == 0.4  # what it was trained with
    assert info.preprocessing["contrast_jitter"] == 0.15  # the default
    assert info.provenance["features"] == "efficientnet-lite0"  # the default recipe
    assert info.provenance["diff_augment"] and info.provenance["fine_chroma_weight"] > 0
    assert info.provenance["l1_scale"] == 2
    assert info.provenance["statistics_batches"] == 2

    listed = run_ltsd("models", "--models-dir", str(models))
    assert any(line.startswith("tiny") and "128x128" in line for line in listed.stdout.splitlines())

    ran = run_ltsd("run", "--models-dir", str(models), "--model", "tiny", "--frames", "3",
               "--ndi-name", f"train-test-{tmp_path.name}", "--quiet")  # fmt: skip
    assert ran.returncode == 0, ran.stderr


def test_resume_continues_exactly_where_it_stopped(images_dir: Path, tmp_path: Path):
    def run(name: str, steps: int, *extra: str) -> subprocess.CompletedProcess:
        return run_ltsd("train", str(images_dir), "--name", name, "--models-dir", str(tmp_path),
                    "--run-dir", str(tmp_path / f"run-{name}"), "--steps", str(steps),
                    "--checkpoint-every", "2", *TINY, *extra)  # fmt: skip

    assert run("straight", 4).returncode == 0
    assert run("resumed", 2).returncode == 0
    latest = tmp_path / "run-resumed" / "latest" / "resumed.safetensors"
    assert load_model(latest).info.provenance["steps"] == 2  # playable between sittings
    resumed = run("resumed", 4, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed 'resumed' at step 2" in resumed.stderr
    straight = load_model(tmp_path / "straight.safetensors")
    again = load_model(tmp_path / "resumed.safetensors")
    assert again.info.provenance["steps"] == 4
    for (key, a), b in zip(straight.generator.state_dict().items(),
                           again.generator.state_dict().values(), strict=True):  # fmt: skip
        assert torch.equal(a, b), f"{key} differs after resume"
    now = load_model(latest)  # the run folder's world follows the checkpoints
    assert now.info.provenance["steps"] == 4
    for (key, a), b in zip(again.generator.state_dict().items(),
                           now.generator.state_dict().values(), strict=True):  # fmt: skip
        assert torch.equal(a, b), f"{key}: the run folder's latest world is not the exported one"
    frame = torch.rand(1, 1, 128, 128) * 2 - 1
    assert torch.isfinite(now.generator(frame)).all()


def test_a_carried_run_is_small_and_goes_on_close_to_where_it_stopped(
    images_dir: Path, tmp_path: Path
):
    def run(name: str, steps: int, run_dir: Path, *extra: str) -> subprocess.CompletedProcess:
        return run_ltsd("train", str(images_dir), "--name", name, "--models-dir", str(tmp_path),
                    "--run-dir", str(run_dir), "--steps", str(steps), "--checkpoint-every", "2",
                    *TINY, *extra)  # fmt: skip

    assert run("straight", 3, tmp_path / "run-straight").returncode == 0
    assert run("stopped", 2, tmp_path / "run-stopped").returncode == 0
    carried_dir = tmp_path / "run-carried"
    carried = subprocess.run(
        [sys.executable, "-m", "ltsd.train.carry", str(tmp_path / "run-stopped"), str(carried_dir)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert carried.returncode == 0, carried.stderr
    full = (tmp_path / "run-stopped" / "checkpoint.safetensors").stat().st_size
    slim = (carried_dir / "checkpoint.safetensors").stat().st_size
    assert slim < full / 3, f"carried {slim} bytes of {full}"

    resumed = run("carried", 3, carried_dir, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed 'carried' at step 2" in resumed.stderr and "start afresh" in resumed.stderr
    straight = load_model(tmp_path / "straight.safetensors").generator.state_dict()
    again = load_model(tmp_path / "carried.safetensors").generator.state_dict()
    stopped = load_model(tmp_path / "stopped.safetensors").generator.state_dict()
    weights = [key for key, value in straight.items() if value.is_floating_point()]

    def distance(a: dict, b: dict) -> float:
        return sum((a[key].float() - b[key].float()).abs().sum().item() for key in weights)

    # the third step happened (it moved from step 2), and from step 2's weights, not from scratch
    assert distance(again, stopped) > 0
    assert distance(again, straight) < distance(stopped, straight)


def test_carry_without_a_checkpoint_is_a_one_line_error(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "ltsd.train.carry", str(tmp_path), str(tmp_path / "to")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert "no checkpoint.safetensors" in result.stderr and "Traceback" not in result.stderr


def test_empty_folder_is_a_one_line_error(tmp_path: Path):
    result = run_ltsd("train", str(tmp_path), "--name", "nothing", "--models-dir", str(tmp_path))
    assert result.returncode == 2
    assert "no readable images" in result.stderr and "Traceback" not in result.stderr


def test_trainer_and_daemon_share_one_degradation():
    assert train_data.degrade is preprocess.degrade
    image = torch.rand(1, 3, 64, 64)
    params = LiveParams(blur_factor=24.0, brightness=0.1, contrast=1.1)
    daemon_input = preprocess.prepare(image, params, 64, 64, 1)
    trainer_style = preprocess.degrade(image, True, 24.0, 0.1, 1.1) * 2 - 1
    assert torch.allclose(daemon_input, trainer_style)


def test_training_jitter_stays_within_brightness_and_contrast_bounds():
    recipe = Degradation(blur_factor=1.0)
    targets = torch.zeros(256, 3, 2, 2)
    targets[:, :, 0] = 0.4  # top row 0.4, bottom row 0.6: difference 0.2, mean 0.5
    targets[:, :, 1] = 0.6
    inputs, _ = make_pairs(targets, recipe, torch.Generator().manual_seed(0))
    grey = (inputs + 1) / 2
    shift = grey.mean(dim=(1, 2, 3)) - 0.5
    gain = (grey[:, 0, 1, 0] - grey[:, 0, 0, 0]) / 0.2
    assert shift.abs().max() <= 0.2 + 1e-5 and shift.abs().max() > 0.15
    assert (gain - 1).abs().max() <= 0.15 + 1e-4 and (gain - 1).abs().max() > 0.1


def test_darken_makes_darker_photographs_of_the_world_not_only_darker_inputs():
    """Each pair is darkened whole, by a gain from 1 − darken to 1: the input and the target
    alike, the two views of a pan by the same gain."""
    recipe = Degradation(blur_factor=1.0, brightness_jitter=0.0, contrast_jitter=0.0, darken=0.6)
    photographs = torch.full((128, 3, 4, 4), 0.8)
    inputs, targets = make_pairs(photographs, recipe, torch.Generator().manual_seed(0), views=2)
    target_grey, input_grey = (targets.mean((1, 2, 3)) + 1) / 2, (inputs.mean((1, 2, 3)) + 1) / 2
    assert torch.allclose(input_grey, target_grey, atol=1e-5)
    assert target_grey.min() >= 0.8 * 0.4 - 1e-5 and target_grey.min() < 0.8 * 0.45
    assert target_grey.max() <= 0.8 + 1e-5 and target_grey.max() > 0.8 * 0.95
    first, second = target_grey.chunk(2)
    assert torch.equal(first, second)


def test_mirror_flips_left_right_but_never_upside_down():
    """A sea or a sky has a top: `mirror` may swap left and right, `flips` also top and bottom."""
    image = torch.zeros(3, 8, 8, dtype=torch.uint8)
    image[:, :4, :2] = 255  # a bright corner: top left

    def corners(recipe: Degradation) -> set[tuple[bool, bool]]:
        crops = random_crops([image], 64, 8, recipe, torch.Generator().manual_seed(0))
        top, left = crops[:, 0, :4].mean((1, 2)) > 0, crops[:, 0, :, :2].mean((1, 2)) > 0
        return set(zip(top.tolist(), left.tolist(), strict=True))

    plain = Degradation(scale_range=(1.0, 1.0))
    assert corners(plain) == {(True, True)}
    assert corners(dataclasses.replace(plain, mirror=True)) == {(True, True), (True, False)}
    assert len(corners(dataclasses.replace(plain, flips=True))) == 4


def test_the_same_command_trains_under_torchrun_with_ddp(images_dir: Path, tmp_path: Path):
    torchrun = Path(sys.executable).with_name("torchrun")
    result = subprocess.run(
        [str(torchrun), "--nproc_per_node", "2", "-m", "ltsd.cli", "train", str(images_dir),
         "--name", "ddp", "--models-dir", str(tmp_path), "--run-dir", str(tmp_path / "run"),
         "--steps", "2", "--fine-texture-weight", "1", *TINY],  # every judge, DDP-wrapped
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "rank 1 of 2" in result.stderr
    assert result.stdout.count("wrote") == 1, "only rank 0 exports"
    assert load_model(tmp_path / "ddp.safetensors").info.provenance["steps"] == 2


def test_ctrl_c_checkpoints_exports_and_exits_cleanly(images_dir: Path, tmp_path: Path):
    import signal
    import time

    run_dir = tmp_path / "run"
    trainer = subprocess.Popen(
        [sys.executable, "-m", "ltsd.cli", "train", str(images_dir), "--name", "stopped",
         "--models-dir", str(tmp_path), "--run-dir", str(run_dir), "--steps", "100000",
         "--checkpoint-every", "1", *TINY],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and trainer.poll() is None:  # wait for a step's checkpoint
        if (run_dir / "checkpoint.safetensors").is_file():
            break
        time.sleep(0.2)
    time.sleep(0.5)  # mid-way through a later step, on a loaded machine too
    trainer.send_signal(signal.SIGINT)
    _, rest = trainer.communicate(timeout=60)
    assert trainer.returncode == 0, rest
    assert "Traceback" not in rest
    assert "interrupted at step" in rest  # stopped by the Ctrl-C, not by finishing
    assert (run_dir / "checkpoint.safetensors").is_file()
    steps = load_model(tmp_path / "stopped.safetensors").info.provenance["steps"]
    assert 0 < steps < 100000


def test_coarse_l1_leaves_the_finest_detail_alone_but_not_the_layout():
    """`--l1-scale 4`: a difference only in 1-px detail (a checkerboard of ±0.2, which averages
    out over 4×4 pixels) costs nothing; a difference in brightness costs what it costs at 1."""
    from ltsd.train.trainer import coarse_l1

    torch.manual_seed(0)
    image = torch.rand(2, 3, 32, 32) * 2 - 1
    rows, columns = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    checker = ((rows + columns) % 2 * 2 - 1).float() * 0.2
    detailed, brighter = image + checker, image + 0.2
    assert coarse_l1(image, detailed, 1) == pytest.approx(0.2)
    assert coarse_l1(image, detailed, 4) == pytest.approx(0.0, abs=1e-6)
    for scale in (1, 2, 4):
        assert coarse_l1(image, brighter, scale) == pytest.approx(0.2, abs=1e-6)
