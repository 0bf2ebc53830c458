"""Model files from outside: every crafted or damaged file is a one-line ModelError naming it.

A fault campaign (Hypothesis) rewrites a real model's metadata and bytes; whatever it makes,
listing and loading either work or raise ModelError, and never allocate for what a file only
declares. The crafted cases are the ones issue #19 found: each once crashed `ltsd models`,
`ltsd run`, preloading or the status feed.
"""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors import safe_open
from safetensors.torch import save_file

from ltsd.errors import ModelError
from ltsd.library import ModelLibrary
from ltsd.modelstore import METADATA_KEY, list_models, load_model
from tests.helpers.models import write_constant_model


def original(folder: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    path = write_constant_model(folder, "source", (10, 20, 30))
    with safe_open(str(path), framework="pt") as handle:
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
        metadata = json.loads(handle.metadata()[METADATA_KEY])
    path.unlink()
    return tensors, metadata


def write_crafted(path: Path, tensors: dict[str, torch.Tensor], metadata: Any) -> Path:
    text = metadata if isinstance(metadata, str) else json.dumps(metadata)
    save_file(tensors, str(path), metadata={METADATA_KEY: text})
    return path


def crafted_cases(folder: Path) -> dict[str, Path]:
    tensors, metadata = original(folder)

    def variant(name: str, change) -> Path:
        changed = json.loads(json.dumps(metadata))
        change(changed)
        return write_crafted(folder / f"{name}.safetensors", tensors, changed)

    cases = {
        "name-not-a-string": variant("name-not-a-string", lambda m: m.update(name=["x"])),
        "resolution-bool": variant("resolution-bool", lambda m: m.update(resolution=True)),
        "huge-resolution": variant("huge-resolution", lambda m: m.update(resolution=4096)),
        "very-wide": variant(
            "very-wide", lambda m: m["architecture"].update(ngf=200_000, max_channels=200_000)
        ),
        "depth-string": variant("depth-string", lambda m: m["architecture"].update(depth="8")),
        "ngf-zero": variant("ngf-zero", lambda m: m["architecture"].update(ngf=0)),
        "metadata-a-list": write_crafted(folder / "metadata-a-list.safetensors", tensors, "[1]"),
        "nan-weights": write_crafted(
            folder / "nan-weights.safetensors",
            {
                k: (v.clone().fill_(float("nan")) if v.is_floating_point() else v)
                for k, v in tensors.items()
            },
            metadata,
        ),
        "missing-tensor": write_crafted(
            folder / "missing-tensor.safetensors", dict(list(tensors.items())[1:]), metadata
        ),
    }
    header = folder / "huge-header.safetensors"
    header.write_bytes((2**40).to_bytes(8, "little") + b"{}")
    cases["huge-header"] = header
    dangling = folder / "dangling.safetensors"
    dangling.symlink_to(folder / "gone.safetensors")
    cases["dangling"] = dangling
    loop = folder / "loop.safetensors"
    loop.symlink_to(loop)
    cases["loop"] = loop
    return cases


def test_every_crafted_file_is_listed_with_its_problem_and_refused_with_one_line(tmp_path):
    cases = crafted_cases(tmp_path)
    write_constant_model(tmp_path, "good", (1, 2, 3))
    rows = {row.path.name.removesuffix(".safetensors"): row for row in list_models(tmp_path)}
    assert set(rows) == {*cases, "good"}
    assert rows["good"].info is not None
    for name, path in cases.items():
        if name != "nan-weights":  # listing reads the header only; loading reads the weights
            assert rows[name].info is None and path.name in rows[name].problem, name
        with pytest.raises(ModelError, match=path.name):
            load_model(path)


def test_a_file_declaring_a_giant_network_is_refused_before_allocating(tmp_path):
    path = crafted_cases(tmp_path)["very-wide"]
    before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(ModelError, match="parameters"):
        load_model(path)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before_kb) / 1024
    assert grown_mb < 50, f"refusing it took {grown_mb:.0f} MB"
    assert time.monotonic() - started < 10


def test_preloading_skips_bad_files_and_loads_the_rest(tmp_path):
    crafted_cases(tmp_path)
    write_constant_model(tmp_path, "zz-good", (1, 2, 3))
    library = ModelLibrary(tmp_path, torch.device("cpu"), budget_mb=500)
    library.preload()
    assert library.loaded() == ["zz-good"]


def test_a_renamed_copy_is_known_by_its_file_name(tmp_path):
    write_constant_model(tmp_path, "magenta", (230, 26, 102))
    (tmp_path / "copy.safetensors").write_bytes((tmp_path / "magenta.safetensors").read_bytes())
    library = ModelLibrary(tmp_path, torch.device("cpu"), budget_mb=500)
    assert library.get("copy").name == "copy"
    assert library.get("copy").info.name == "magenta"  # the label inside the file is kept


MUTATIONS = st.one_of(
    st.tuples(st.just("field"), st.sampled_from(["name", "resolution", "description",
              "preprocessing", "provenance", "format_version", "architecture"]),
              st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(),
                        st.text(max_size=20), st.lists(st.integers(), max_size=3),
                        st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))),
    st.tuples(st.just("arch"), st.sampled_from(["in_channels", "out_channels", "ngf",
              "max_channels", "depth", "upsample", "padding", "surprise"]),
              st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(),
                        st.text(max_size=12))),
    st.tuples(st.just("bytes"), st.integers(0, 10_000), st.integers(1, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 10_000), st.just(0)),
)  # fmt: skip


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(mutations=st.lists(MUTATIONS, min_size=1, max_size=3))
def test_no_mutated_model_file_raises_anything_but_a_model_error(tmp_path_factory, mutations):
    folder = tmp_path_factory.mktemp("fuzz")
    tensors, metadata = original(folder)
    path = folder / "m.safetensors"
    for kind, key, value in mutations:
        if kind == "field":
            metadata[key] = value
        elif kind == "arch" and isinstance(metadata.get("architecture"), dict):
            metadata["architecture"][key] = value
    write_crafted(path, tensors, metadata)
    data = bytearray(path.read_bytes())
    for kind, offset, value in mutations:
        if kind == "bytes" and data:
            data[offset % len(data)] ^= value
        elif kind == "truncate":
            data = data[: offset % (len(data) + 1)]
    path.write_bytes(bytes(data))
    try:
        load_model(path)
    except ModelError as error:
        assert "m.safetensors" in str(error) and "\n" not in str(error)
    rows = list_models(folder)
    assert len(rows) == 1 and (rows[0].info is not None or "m.safetensors" in rows[0].problem)
