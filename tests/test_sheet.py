"""Sample sheets: each column is what it says, and a candidate world sits beside the one it would
replace."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ltsd.modelstore import load_model, model_path
from ltsd.train.sheet import dim_rows, sheet_rows
from tests.conftest import child_environment
from tests.helpers.models import MAGENTA, TEAL, two_constant_worlds, write_random_model


def test_a_world_beside_another_gets_a_fourth_column_of_its_own_output(tmp_path: Path):
    folder = two_constant_worlds(tmp_path)
    magenta = load_model(model_path(folder, "magenta"))
    teal = load_model(model_path(folder, "teal"))
    frames = [
        torch.rand(1, 3, 90, 120, generator=torch.Generator().manual_seed(i)) for i in range(2)
    ]
    alone, paired = sheet_rows(magenta, frames), sheet_rows(magenta, frames, beside=teal)
    size = magenta.info.resolution
    assert alone.shape == (2 * size, 3 * size, 3) and paired.shape == (2 * size, 4 * size, 3)
    assert (paired[:, : 3 * size] == alone).all()  # the first three columns are unchanged
    made, other = paired[:, 2 * size : 3 * size], paired[:, 3 * size :]
    assert (abs(made.astype(int) - MAGENTA) <= 2).all()
    assert (abs(other.astype(int) - TEAL) <= 2).all()


def test_a_missing_world_to_show_beside_is_named_in_one_line(tmp_path: Path):
    folder = two_constant_worlds(tmp_path)
    missing = tmp_path / "elsewhere" / "candidate.safetensors"
    ran = subprocess.run(
        [sys.executable, "-m", "ltsd.train.sheet", "--model", "magenta", "--models-dir",
         str(folder), "--beside", str(missing), "--output", str(tmp_path / "sheet.png")],
        capture_output=True, text=True, timeout=120, env=child_environment(),
    )  # fmt: skip
    assert ran.returncode == 2, ran.stderr
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1 and str(missing) in lines[0], lines
    assert not (tmp_path / "sheet.png").exists()


def test_a_dim_sheet_shows_the_dimmed_camera_and_what_auto_exposure_changes(tmp_path: Path):
    world = load_model(write_random_model(tmp_path, "world"))
    size = world.info.resolution
    frame = torch.full((1, 3, size, size), 0.6)
    frame[..., ::2] = 0.4  # a picture, not a flat field
    rows = dim_rows(world, [frame], light=0.3)
    assert rows.shape == (size, 3 * size, 3)
    camera, world_alone, exposed = (
        rows[:, i * size : (i + 1) * size].astype(float) for i in range(3)
    )
    assert abs(camera.mean() - 0.3 * 0.5 * 255) < 2
    assert abs(exposed - world_alone).mean() > 1  # the world was shown another grey
    unchanged = dim_rows(world, [frame * 0.9], light=1.0)  # already a well-exposed 0.45
    assert abs(unchanged[:, size : 2 * size].astype(float) - unchanged[:, 2 * size :]).mean() < 1


@pytest.mark.parametrize(
    ("flags", "named"),
    [(["--dim", "0"], "--dim:"), (["--dim", "0.3", "--beside", "x"], "--beside")],
)
def test_a_dim_sheet_asked_for_wrongly_is_one_line_before_any_work(tmp_path: Path, flags, named):
    folder = two_constant_worlds(tmp_path)
    ran = subprocess.run(
        [sys.executable, "-m", "ltsd.train.sheet", "--model", "magenta", "--models-dir",
         str(folder), *flags, "--output", str(tmp_path / "sheet.png")],
        capture_output=True, text=True, timeout=120, env=child_environment(),
    )  # fmt: skip
    assert ran.returncode == 2, ran.stderr
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], lines
    assert not (tmp_path / "sheet.png").exists()
