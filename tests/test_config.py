from __future__ import annotations

from pathlib import Path

import pytest

from ltsd.config import Config, load_config
from ltsd.errors import ConfigError
from tests.conftest import REPO


def test_default_yaml_documents_exactly_the_built_in_defaults():
    assert load_config(REPO / "config" / "default.yaml") == Config()


def test_flags_override_the_file(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text("output:\n  ndi_name: from-file\nsynthetic:\n  fps: 25\n")
    config = load_config(path, {"output": {"ndi_name": "from-flag"}})
    assert config.output.ndi_name == "from-flag"
    assert config.synthetic.fps == 25.0


def test_integer_is_accepted_for_a_float_but_not_a_bool():
    assert load_config(None, {"params": {"contrast": 2}}).params.contrast == 2.0
    with pytest.raises(ConfigError, match="params.grayscale"):
        load_config(None, {"params": {"grayscale": 1}})


@pytest.mark.parametrize("size", ["source", "1280x720"])
def test_output_size_accepts_source_or_dimensions(size: str):
    config = load_config(None, {"output": {"size": size}})
    assert config.output.fixed_size() == (None if size == "source" else (1280, 720))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -0.5, 5.0])
def test_out_of_range_and_non_finite_values_are_refused(bad: float):
    with pytest.raises(ConfigError, match="params.contrast"):
        load_config(None, {"params": {"contrast": bad}})
