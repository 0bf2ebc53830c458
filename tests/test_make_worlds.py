"""models/make_worlds.py's recipes are what `ltsd train` accepts, and say what each shipped
world's metadata says: a recipe the CLI refuses, or one that no longer makes the shipped file's
generator, would only show when someone rebuilds the worlds, hours later."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from ltsd.cli import build_parser
from ltsd.modelstore import load_trained

REPO = Path(__file__).resolve().parent.parent


def make_worlds():
    spec = importlib.util.spec_from_file_location("make_worlds", REPO / "models" / "make_worlds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["clouds", "ocean", "space", "flowers", "fire"])
def test_every_stage_parses_and_the_last_makes_the_shipped_generator(name: str):
    script = make_worlds()
    parser = build_parser()
    parsed = [
        parser.parse_args(["train", f"runs/data/{name}", "--name", name, *script.COMMON,
                           *script.stage_arguments(name, stage, Path("runs/data"))])
        for stage in script.WORLDS[name]
    ]  # fmt: skip
    info = load_trained(REPO / "models" / f"{name}.safetensors")[0]
    last = parsed[-1]
    shipped = info.architecture
    assert (last.ngf, last.max_filters, last.upsample, last.padding, last.chroma) == (
        shipped.ngf, shipped.max_channels, shipped.upsample, shipped.padding, shipped.chroma
    )  # fmt: skip
    assert last.steps == info.provenance["steps"]
    assert last.seed == info.provenance["seed"]  # a stage may name its own (the later one wins)
    init_from = info.provenance.get("init_from")
    assert (last.init_from is not None) == (init_from is not None)


def test_the_sea_held_out_folder_keeps_the_sea_photographs_and_drops_the_wallpaper_crops(
    tmp_path: Path,
):
    script = make_worlds()
    ocean = tmp_path / "ocean"
    held = script.held_out(ocean)
    held.mkdir(parents=True)
    for name in ("sea4.jpg", "water2.jpg", "beach3.jpg", "summer_1am_00.jpg", "sky1.jpg"):
        (held / name).write_bytes(name.encode())
    stale = tmp_path / "ocean-sea-heldout"
    stale.mkdir()
    (stale / "sea9.jpg").write_bytes(b"from an earlier split")

    sea = script.sea_held_out(ocean)

    assert sea == stale
    assert sorted(path.name for path in sea.iterdir()) == ["beach3.jpg", "sea4.jpg", "water2.jpg"]
    assert (sea / "sea4.jpg").read_bytes() == b"sea4.jpg"
