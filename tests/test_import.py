"""`ltsd import`: models made by other tools reproduce their own framework's outputs.

The fixtures (tests/fixtures/make_junyanz.py) are junyanz-layout U-Nets with trained-like batch
norm statistics and their own eval-mode outputs on a photograph, saved as that repository saves
them; CI needs neither the repository nor anything beyond torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ltsd.importers import ImportOptions, import_model
from ltsd.modelstore import load_model, read_info
from tests.conftest import run_ltsd, unique_name

FIXTURES = Path(__file__).parent / "fixtures" / "junyanz"
KERAS = Path(__file__).parent / "fixtures" / "keras"
PHOTOGRAPH = Path(__file__).parent / "fixtures" / "input.png"
NEUTRAL = """params:
  grayscale: false
  blur_factor: 1.0
  brightness: 0.0
  contrast: 1.0
"""


def reference(path: Path) -> np.ndarray:
    """A source framework's own eval-mode output, as 8-bit RGB."""
    out = np.load(path, allow_pickle=False)
    return np.round((out + 1) * 127.5).clip(0, 255)


def photograph(size: int, mode: str) -> np.ndarray:
    image = Image.open(PHOTOGRAPH).resize((size, size), Image.Resampling.LANCZOS)
    return np.array(image.convert(mode))


def played_through_ltsd_run(source: Path, tmp_path: Path) -> np.ndarray:
    """`ltsd import SOURCE`, then the photograph through `ltsd run` with neutral
    pre-processing, written losslessly: what ltsd makes of it, as 8-bit RGB."""
    models = tmp_path / "models"
    imported = run_ltsd("import", str(source), "--name", "imported", "--models-dir", str(models))
    assert imported.returncode == 0, imported.stderr
    size = read_info(models / "imported.safetensors").resolution
    stills, frames = tmp_path / "stills", tmp_path / "out"
    stills.mkdir()
    frames.mkdir()
    Image.fromarray(photograph(size, "RGB")).save(stills / "photo.png")
    config = tmp_path / "neutral.yaml"
    config.write_text(NEUTRAL)
    ran = run_ltsd("run", "--config", str(config), "--models-dir", str(models), "--model",
                   "imported", "--source", f"images:{stills}", "--sink",
                   f"file:{frames}/%05d.png", "--frames", "3", "--quiet")  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    return np.asarray(Image.open(sorted(frames.glob("*.png"))[-1]).convert("RGB"), dtype=float)


def test_a_junyanz_unet_256_through_ltsd_run_gives_the_networks_own_pixels(tmp_path):
    made = played_through_ltsd_run(FIXTURES / "unet_256_batch.pth", tmp_path)
    difference = np.abs(made - reference(FIXTURES / "unet_256_batch.out.npy"))
    assert difference.mean() <= 1.0, f"{difference.mean():.3f} levels of 255 on average"
    assert reference(FIXTURES / "unet_256_batch.out.npy").std() > 5, "a picture, not a flat field"


def test_a_keras_pix2pix_converted_by_tensorflowjs_gives_tensorflows_pixels(tmp_path):
    made = played_through_ltsd_run(KERAS / "pix2pix_256" / "model.json", tmp_path)
    expected = reference(KERAS / "pix2pix_256.out.npy")
    assert np.abs(made - expected).mean() <= 1.0 and expected.std() > 5


@pytest.mark.parametrize(
    ("source", "name"),
    [("pix2pix_256", "pix2pix_256"), ("pix2pix_128_depth7", "pix2pix_128_depth7"),
     ("pix2pix_128_depth7.h5", "pix2pix_128_depth7")],
)  # fmt: skip
def test_keras_layouts_map_exactly_whatever_the_width_depth_and_file(tmp_path, source, name):
    path = import_model(KERAS / source, "keras", tmp_path, ImportOptions())  # a TF.js folder too
    model = load_model(path)
    spec, size = model.info.architecture, model.info.resolution
    assert spec.layout == "keras" and spec.norm_eps == pytest.approx(1e-3)
    assert spec.leaky_slope == pytest.approx(0.3) and size == 2**spec.depth
    image = torch.from_numpy(photograph(size, "RGB")).float().div(127.5).sub(1)
    with torch.inference_mode():
        out = model.generator(
            image.permute(2, 0, 1)[None].contiguous(memory_format=torch.channels_last)
        )
    made = np.round((out[0].permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255)
    assert np.abs(made - reference(KERAS / f"{name}.out.npy")).mean() <= 1.0


def test_an_instance_norm_grey_unet_128_matches_its_framework(tmp_path):
    path = import_model(FIXTURES / "unet_128_instance_grey.pth", "grey", tmp_path, ImportOptions())
    model = load_model(path)
    spec = model.info.architecture
    assert (spec.in_channels, spec.depth, spec.norm, model.info.resolution) == (
        1,
        7,
        "instance",
        128,
    )
    grey = torch.from_numpy(photograph(128, "L")).float().div(127.5).sub(1)[None, None]
    with torch.inference_mode():
        out = model.generator(grey.contiguous(memory_format=torch.channels_last))
    made = np.round((out[0].permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255)
    assert np.abs(made - reference(FIXTURES / "unet_128_instance_grey.out.npy")).mean() <= 1.0


def test_an_imported_model_says_where_it_came_from_and_what_it_expects(tmp_path):
    source = FIXTURES / "unet_128_instance_grey.pth"
    path = import_model(source, "grey", tmp_path, ImportOptions(blur_factor=8.0))
    info = read_info(path)
    assert info.provenance["format"] == "junyanz/pytorch-CycleGAN-and-pix2pix"
    assert info.provenance["file"] == source.name and len(info.provenance["sha256"]) == 64
    assert info.preprocessing["grayscale"] is True and info.preprocessing["blur_factor"] == 8.0
    listed = run_ltsd("models", "--models-dir", str(tmp_path))
    assert listed.returncode == 0 and "grey" in listed.stdout and "imported" in listed.stdout


class Smuggled:
    """An object a pickle would have to construct: torch.load(weights_only=True) refuses it."""

    def __reduce__(self):
        return (print, ("this must never run",))


def bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """name → (file, what its error line must say)."""
    state = torch.load(FIXTURES / "unet_256_batch.pth", weights_only=True)
    files: dict[str, tuple[Path, str]] = {}

    def saved(name: str, obj: object, expected: str) -> None:
        torch.save(obj, folder / f"{name}.pth")
        files[name] = (folder / f"{name}.pth", expected)

    saved("pickled", {"model.model.0.weight": Smuggled()}, "unpickle")
    resnet = {f"model.{i}.conv_block.1.weight": torch.zeros(8, 8, 3, 3) for i in range(10, 19)}
    saved("resnet", {"model.model.0.weight": torch.zeros(8, 3, 7, 7), **resnet}, "unet_256")
    wrong = dict(state)
    wrong["model.model.1.model.1.weight"] = torch.zeros(9, 4, 4, 4)
    saved("mismatched", wrong, "do not double")
    shape = dict(state)
    key = "model.model.1.model.3.model.5.weight"
    shape[key] = shape[key][:, :3]
    saved("shape", shape, "shape")
    saved("other", {"encoder.weight": torch.zeros(3)}, "model.model.0.weight")
    truncated = folder / "truncated.pth"
    truncated.write_bytes((FIXTURES / "unet_256_batch.pth").read_bytes()[:300_000])
    files["truncated"] = (truncated, "not a PyTorch file")
    text = folder / "notes.txt"
    text.write_text("hello")
    files["text"] = (text, "not a format ltsd imports")
    files.update(bad_tfjs_models(folder))
    return files


def bad_tfjs_models(folder: Path) -> dict[str, tuple[Path, str]]:
    import json
    import shutil

    files = {}

    def copied(name: str) -> tuple[Path, dict]:
        target = folder / name
        shutil.copytree(KERAS / "pix2pix_128_depth7", target)
        return target, json.loads((target / "model.json").read_text())

    target, _ = copied("tfjs-truncated")
    shard = target / "group1-shard1of1.bin"
    shard.write_bytes(shard.read_bytes()[:100_000])
    files["tfjs-truncated"] = (target / "model.json", "truncated")
    target, document = copied("tfjs-quantized")
    document["weightsManifest"][0]["weights"][0]["dtype"] = "uint8"
    (target / "model.json").write_text(json.dumps(document))
    files["tfjs-quantized"] = (target / "model.json", "float32")
    target, document = copied("tfjs-dense")
    layers = document["modelTopology"]["model_config"]["config"]["layers"]
    layers.append({"class_name": "Dense", "config": {"name": "dense", "units": 10}})
    (target / "model.json").write_text(json.dumps(document))
    files["tfjs-dense"] = (target / "model.json", "Dense")
    target, document = copied("tfjs-escape")
    document["weightsManifest"][0]["paths"] = ["../../etc/passwd"]
    (target / "model.json").write_text(json.dumps(document))
    files["tfjs-escape"] = (target / "model.json", "not beside model.json")
    return files


@pytest.mark.parametrize(
    "case",
    ["pickled", "resnet", "mismatched", "shape", "other", "truncated", "text", "tfjs-truncated",
     "tfjs-quantized", "tfjs-dense", "tfjs-escape"],
)  # fmt: skip
def test_bad_or_unsupported_files_are_one_line_and_exit_2(tmp_path, case):
    path, expected = bad_files(tmp_path)[case]
    models = tmp_path / "models"
    result = run_ltsd("import", str(path), "--name", unique_name("bad"), "--models-dir",
                      str(models))  # fmt: skip
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert expected in lines[0] and "Traceback" not in result.stderr
    assert "this must never run" not in result.stdout + result.stderr
    assert not list(models.glob("*.safetensors")), "nothing is left behind"
