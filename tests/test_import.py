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
NEUTRAL = """params:
  grayscale: false
  blur_factor: 1.0
  brightness: 0.0
  contrast: 1.0
"""


def reference(name: str) -> np.ndarray:
    """The junyanz network's own eval-mode output, as 8-bit RGB."""
    out = np.load(FIXTURES / f"{name}.out.npy", allow_pickle=False)
    return np.round((out + 1) * 127.5).clip(0, 255)


def photograph(size: int, mode: str) -> np.ndarray:
    image = Image.open(FIXTURES / "input.png").resize((size, size), Image.Resampling.LANCZOS)
    return np.array(image.convert(mode))


def test_a_junyanz_unet_256_through_ltsd_run_gives_the_networks_own_pixels(tmp_path):
    models = tmp_path / "models"
    imported = run_ltsd("import", str(FIXTURES / "unet_256_batch.pth"), "--name", "facades",
                        "--models-dir", str(models))  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    stills = tmp_path / "stills"
    stills.mkdir()
    Image.fromarray(photograph(256, "RGB")).save(stills / "photo.png")
    config = tmp_path / "neutral.yaml"
    config.write_text(NEUTRAL)
    frames = tmp_path / "out"
    frames.mkdir()
    ran = run_ltsd("run", "--config", str(config), "--models-dir", str(models), "--model",
                   "facades", "--source", f"images:{stills}", "--sink",
                   f"file:{frames}/%05d.png", "--frames", "3", "--quiet")  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    made = np.asarray(Image.open(sorted(frames.glob("*.png"))[-1]).convert("RGB"), dtype=float)
    difference = np.abs(made - reference("unet_256_batch"))
    assert difference.mean() <= 1.0, f"{difference.mean():.3f} levels of 255 on average"
    assert reference("unet_256_batch").std() > 5, "the reference is a picture, not a flat field"


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
    assert np.abs(made - reference("unet_128_instance_grey")).mean() <= 1.0


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
    return files


@pytest.mark.parametrize(
    "case", ["pickled", "resnet", "mismatched", "shape", "other", "truncated", "text"]
)
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
