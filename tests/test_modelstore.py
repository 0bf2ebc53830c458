from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ltsd.errors import ModelError
from ltsd.generator import UNetGenerator
from ltsd.modelstore import METADATA_KEY, ModelInfo, list_models, load_model, read_info
from tests.helpers.models import TINY_SPEC, constant_colour_generator, write_constant_model


def test_saved_model_loads_with_metadata_and_same_output(tmp_path: Path):
    path = write_constant_model(tmp_path, "magenta", (230, 26, 102))
    loaded = load_model(path)
    assert loaded.info.name == "magenta"
    assert loaded.info.architecture == TINY_SPEC
    x = torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        expected = constant_colour_generator((230, 26, 102))(x)
        assert torch.allclose(loaded.generator(x), expected, atol=1e-5)


def test_metadata_reads_without_loading_weights(tmp_path: Path):
    path = write_constant_model(tmp_path, "m", (10, 20, 30))
    assert read_info(path).resolution == 64


def test_file_is_safetensors_not_pickle(tmp_path: Path):
    path = write_constant_model(tmp_path, "m", (10, 20, 30))
    header_length = int.from_bytes(path.read_bytes()[:8], "little")
    assert path.read_bytes()[8:9] == b"{" and header_length > 0  # JSON header, no pickle opcodes


@pytest.mark.parametrize("content", [b"", b"not a model", b"\xff" * 64])
def test_garbage_is_a_model_error_naming_the_file(tmp_path: Path, content: bytes):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(ModelError, match="bad.safetensors"):
        load_model(path)


def test_listing_reports_broken_files_instead_of_failing(tmp_path: Path):
    write_constant_model(tmp_path, "fine", (1, 2, 3))
    (tmp_path / "zz.safetensors").write_bytes(b"nope")
    rows = list_models(tmp_path)
    assert [row.path.name for row in rows] == ["fine.safetensors", "zz.safetensors"]
    assert rows[0].info is not None and rows[0].parameters > 0
    assert rows[1].info is None and "zz.safetensors" in rows[1].problem


def test_a_file_from_before_resize_convolutions_still_loads_and_runs(tmp_path: Path):
    """Models written before `upsample`/`padding` existed have neither key in their metadata:
    they are transposed-convolution, zero-padded U-Nets, and play as they always did."""
    torch.manual_seed(3)
    old = UNetGenerator(TINY_SPEC).eval()
    metadata = json.loads(ModelInfo("old", TINY_SPEC, 64).to_json())
    for key in ("upsample", "padding"):
        del metadata["architecture"][key]
    path = tmp_path / "old.safetensors"
    tensors = {key: value.contiguous() for key, value in old.state_dict().items()}
    save_file(tensors, str(path), metadata={METADATA_KEY: json.dumps(metadata)})

    loaded = load_model(path)
    assert loaded.info.architecture.upsample == "transposed"
    assert loaded.info.architecture.padding == "zeros"
    image = torch.rand(1, 1, 64, 64) * 2 - 1
    with torch.inference_mode():
        assert (loaded.generator(image) - old(image)).abs().max() < 1e-4


def test_an_unknown_architecture_is_a_model_error_naming_the_file(tmp_path: Path):
    path = write_constant_model(tmp_path, "m", (10, 20, 30))
    with safe_open(str(path), framework="pt") as handle:
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
        metadata = json.loads(handle.metadata()[METADATA_KEY])
    metadata["architecture"]["upsample"] = "bilinear"
    save_file(tensors, str(path), metadata={METADATA_KEY: json.dumps(metadata)})
    with pytest.raises(ModelError, match=r"m\.safetensors.*upsample 'bilinear'"):
        read_info(path)
