"""ltsd.train.band_check: each change costs the bands it should, and only those."""

from __future__ import annotations

import subprocess
import sys

from ltsd.train import band_check
from tests.test_realism import crops, photograph


def test_a_blur_costs_the_finest_band_and_leaves_the_layout():
    photographs = crops(photograph("chelsea"), 24)  # fur: detail at every fine scale
    costs = band_check.band_costs(photographs, seeds=1)
    own = costs["as they are"]
    blur = costs["blur σ 2 px"]
    assert blur[0] > 2 * own[0]  # the 1–2 px band is gone
    assert abs(blur[-1] - own[-1]) < 0.1 * own[-1]  # the layout is the same


def test_half_resolution_colour_costs_far_less_than_half_resolution():
    photographs = crops(photograph("chelsea"), 24)  # natural detail is mostly luma
    costs = band_check.band_costs(photographs, seeds=1)
    own, colour = costs["as they are"][0], costs["colour at half resolution"][0]
    whole = costs["half resolution, nearest back"][0]
    assert whole - own > 4 * abs(colour - own)


def test_the_command_prints_a_row_per_change_and_the_training_photographs(tmp_path):
    from PIL import Image

    for name in ("astronaut", "coffee"):
        (tmp_path / name).mkdir()
        picture = (photograph(name)[0].permute(1, 2, 0) * 255).byte().numpy()
        Image.fromarray(picture).save(tmp_path / name / f"{name}.png")
    result = subprocess.run(
        [sys.executable, "-m", "ltsd.train.band_check", str(tmp_path / "astronaut"),
         "--training", str(tmp_path / "coffee"), "--crops", "16", "--size", "64"],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    rows = dict(line.split(" | ") for line in result.stdout.splitlines()[1:])
    assert list(rows) == [*band_check.CHANGES, band_check.TRAINING]
    distances = {name: [float(v) for v in row.split(" / ")] for name, row in rows.items()}
    assert all(len(values) == 3 for values in distances.values())  # 64 px: 2 bands + the rest
    # another photograph is further from the astronaut's halves than they are from each other
    assert sum(distances[band_check.TRAINING]) > 1.5 * sum(distances["as they are"])
