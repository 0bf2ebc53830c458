"""Models on disk: safetensors weights plus JSON metadata in the same file. Never pickle.

A model is `<models_dir>/<name>.safetensors`; its header's `__metadata__["ltsd"]` holds a ModelInfo
as JSON (architecture, resolution, the pre-processing it was trained with, provenance), so one file
is the whole world and nothing executable is ever loaded.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ltsd.errors import ModelError, first_line
from ltsd.generator import GeneratorSpec, UNetGenerator
from ltsd.inference import PRECISIONS, InferenceGenerator, for_inference
from ltsd.levels import InputLevels
from ltsd.openvino_runtime import OpenVinoGenerator

SUFFIX = ".safetensors"
METADATA_KEY = "ltsd"
FORMAT_VERSION = 1
# Limits checked before anything is allocated. The paper's generator (ngf 64, 512 wide, 256²)
# has 54.4 M parameters; a live model at more than 1024² cannot keep a frame rate anywhere.
MAX_PARAMETERS = 120_000_000
MAX_RESOLUTION = 1024
MAX_HEADER_BYTES = 1_000_000  # ltsd's own headers are a few kB


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Everything about a model except its weights."""

    name: str
    architecture: GeneratorSpec
    resolution: int
    description: str = ""
    preprocessing: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    levels: InputLevels = field(default_factory=InputLevels)  # none in older files: the knobs

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @staticmethod
    def from_json(text: str) -> ModelInfo:
        """Parse and type-check metadata: it comes from outside, and a name that is not a string
        once broke the status feed. Raises ValueError/TypeError/KeyError naming the field."""
        raw = json.loads(text)
        if not isinstance(raw, dict) or not isinstance(raw.get("architecture"), dict):
            raise ValueError("metadata is not an object with an architecture")
        fields = {
            "name": str, "resolution": int, "description": str, "preprocessing": dict,
            "provenance": dict, "format_version": int,
        }  # fmt: skip
        for key, kind in fields.items():
            if key in raw and (not isinstance(raw[key], kind) or isinstance(raw[key], bool)):
                raise TypeError(f"{key} must be {kind.__name__}, not {type(raw[key]).__name__}")
        raw["architecture"] = GeneratorSpec(**raw["architecture"])
        if "levels" in raw:
            raw["levels"] = InputLevels.from_metadata(raw["levels"])
        return ModelInfo(**raw)


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A model ready to run: its generator is the inference form (`ltsd.inference`), or the
    trained form compiled by OpenVINO (`ltsd.openvino_runtime`)."""

    info: ModelInfo
    generator: InferenceGenerator | OpenVinoGenerator
    path: Path

    @property
    def name(self) -> str:
        """Its file name without the suffix: what lists, switches and status call it. The name
        inside the file is only a label (a copied or renamed file keeps its old one)."""
        return name_of(self.path)

    @property
    def precision(self) -> str:
        """What its generator computes in: a key of `ltsd.inference.PRECISIONS`."""
        dtype = self.generator.dtype
        return next(name for name, kind in PRECISIONS.items() if kind == dtype)

    @property
    def runtime(self) -> str:
        """What runs its generator: a key of `ltsd.openvino_runtime.RUNTIMES`."""
        return "openvino" if isinstance(self.generator, OpenVinoGenerator) else "torch"


@dataclass(frozen=True, slots=True)
class ModelListing:
    """One row of `ltsd models`: a valid model, or the reason a file is not one."""

    path: Path
    size_bytes: int
    info: ModelInfo | None
    parameters: int
    problem: str = ""


def model_path(models_dir: Path, name: str) -> Path:
    return models_dir / f"{name}{SUFFIX}"


def name_of(path: Path) -> str:
    return path.name.removesuffix(SUFFIX)


def not_found(path: Path) -> ModelError:
    """'PATH: model file not found', with the closest world's name and the worlds there, so a
    typo's fix is in the same line."""
    folder = path.parent
    names = sorted(name_of(p) for p in folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []
    message = f"{path}: model file not found"
    close = difflib.get_close_matches(name_of(path), names, n=1, cutoff=0.6)
    if close:
        message += f"; did you mean {close[0]!r}?"
    if names:
        shown = ", ".join(names[:12]) + (", …" if len(names) > 12 else "")
        message += f" (worlds in {folder}: {shown})"
    else:
        message += f" ({folder} holds no worlds)"
    return ModelError(message)


def save_model(
    path: Path, generator: UNetGenerator, info: ModelInfo, dtype: torch.dtype = torch.float16
) -> None:
    """Write weights (floating tensors cast to `dtype`) and metadata to `path`, atomically."""
    tensors = {
        key: (value.to(dtype) if value.is_floating_point() else value).detach().cpu().contiguous()
        for key, value in generator.state_dict().items()
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, tensors, info)


def write_levels(path: Path, levels: InputLevels) -> ModelInfo:
    """Give a model file its input levels; its weights are written back byte for byte."""
    with _open(path) as handle:
        info = dataclasses.replace(_info_from(handle, path), levels=levels)
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    _write(path, tensors, info)
    return info


def _write(path: Path, tensors: dict[str, torch.Tensor], info: ModelInfo) -> None:
    """Weights and metadata to `path`, atomically: a reader sees the old file or the new."""
    partial = path.with_suffix(path.suffix + ".partial")
    save_file(tensors, str(partial), metadata={METADATA_KEY: info.to_json()})
    partial.chmod(0o644)  # a model is meant to be shared and shipped, not private
    partial.replace(path)


def read_info(path: Path) -> ModelInfo:
    """The metadata of a model file, without loading the weights."""
    with _open(path) as handle:
        info = _info_from(handle, path)
        _check_shapes(handle, info, path)
        return info


def load_model(
    path: Path, device: torch.device | str = "cpu", precision: str = "fp32", runtime: str = "torch"
) -> LoadedModel:
    """Load a model to run: channels-last, in `ltsd.inference`'s form, on `device`, computing in
    `precision` (fp32 or bf16; images in and out are float32 either way); with `runtime`
    "openvino" (CPU only, `ltsd.daemon.pick_runtime` decides) compiled by OpenVINO instead.

    A missing file, a corrupt one, or weights that do not match the metadata's architecture raise
    ModelError naming the file.
    """
    try:
        info, trained = load_trained(path, device)
        generator: InferenceGenerator | OpenVinoGenerator
        if runtime == "openvino":
            generator = OpenVinoGenerator(trained, precision, torch.get_num_threads())
        else:
            generator = for_inference(trained, precision)
        side = info.resolution
        frame = torch.zeros(1, info.architecture.in_channels, side, side, device=device)
        with torch.inference_mode():  # packs (compiles) now, not in the frame thread on first use
            generator(frame.contiguous(memory_format=torch.channels_last))
    except ModelError:
        raise
    except Exception as error:  # a file from outside must never take the daemon down
        raise ModelError(f"{path}: cannot be loaded ({first_line(error)})") from None
    return LoadedModel(info, generator, path)


def load_trained(path: Path, device: torch.device | str = "cpu") -> tuple[ModelInfo, UNetGenerator]:
    """A model file's metadata and its generator as trained (eval mode, channels-last): what
    `load_model` rewrites for inference, and what benchmarks compare that with."""
    with _open(path) as handle:
        info = _info_from(handle, path)
        expected = _check_shapes(handle, info, path)  # from the header, before a tensor is read
        try:
            state = {key: handle.get_tensor(key) for key in expected}
        except (SafetensorError, OSError, RuntimeError) as error:
            raise ModelError(f"{path}: corrupt weights ({first_line(error)})") from None
    generator = UNetGenerator(info.architecture)
    if not all(torch.isfinite(value).all() for value in state.values()):
        raise ModelError(f"{path}: weights contain NaN or infinite values")
    generator.load_state_dict({key: value.float() for key, value in state.items()})
    # channels-last convolutions measured 13 % faster on the CPU (docs/performance.md)
    generator = generator.to(device, memory_format=torch.channels_last)
    return info, generator.eval().requires_grad_(False)


def list_models(models_dir: Path) -> list[ModelListing]:
    """Every .safetensors file in `models_dir`, sorted by name; broken files carry their problem."""
    if not models_dir.is_dir():
        raise ModelError(f"{models_dir}: models folder not found")
    rows = []
    for path in sorted(models_dir.glob(f"*{SUFFIX}")):
        try:
            size = path.stat().st_size
        except OSError as error:  # a dangling symlink, a symlink loop, no permission
            rows.append(ModelListing(path, 0, None, 0, f"{path}: unreadable ({error.strerror})"))
            continue
        try:
            info = read_info(path)
            count = declared_parameters(info.architecture)
            rows.append(ModelListing(path, size, info, count))
        except ModelError as error:
            rows.append(ModelListing(path, size, None, 0, str(error)))
    return rows


@functools.lru_cache(maxsize=32)
def expected_shapes(spec: GeneratorSpec) -> Mapping[str, tuple[int, ...]]:
    """Every weight's shape for `spec`, from a generator built on the meta device: no memory is
    allocated, so a file declaring an absurdly wide network costs nothing to check. Cached:
    listing, checking and loading a file all ask, and a folder's worlds share a few specs."""
    with torch.device("meta"):
        generator = UNetGenerator(spec)
    return MappingProxyType({key: tuple(v.shape) for key, v in generator.state_dict().items()})


def declared_parameters(spec: GeneratorSpec) -> int:
    return sum(math.prod(shape) for shape in expected_shapes(spec).values())


def _open(path: Path) -> Any:
    if not path.is_file():
        raise not_found(path)
    try:
        with path.open("rb") as raw:
            header_bytes = int.from_bytes(raw.read(8), "little")
    except OSError as error:
        raise ModelError(f"{path}: unreadable ({error.strerror})") from None
    if header_bytes > MAX_HEADER_BYTES:
        raise ModelError(f"{path}: not a valid safetensors model (header of {header_bytes} bytes)")
    try:
        return safe_open(str(path), framework="pt", device="cpu")
    except (SafetensorError, OSError, RuntimeError, ValueError) as error:
        raise ModelError(f"{path}: not a valid safetensors model ({first_line(error)})") from None


def _info_from(handle: Any, path: Path) -> ModelInfo:
    metadata = handle.metadata() or {}
    if METADATA_KEY not in metadata:
        raise ModelError(f"{path}: no ltsd metadata in the file (not made by ltsd train?)")
    try:
        info = ModelInfo.from_json(metadata[METADATA_KEY])
    except (ValueError, TypeError, KeyError) as error:
        raise ModelError(f"{path}: unreadable ltsd metadata ({first_line(error)})") from None
    if info.format_version != FORMAT_VERSION:
        raise ModelError(
            f"{path}: model format {info.format_version}, this ltsd reads {FORMAT_VERSION}"
        )
    spec = info.architecture
    if not 2**spec.depth <= info.resolution <= MAX_RESOLUTION:
        raise ModelError(f"{path}: resolution {info.resolution} is outside "
                         f"{2**spec.depth}..{MAX_RESOLUTION}")  # fmt: skip
    if info.resolution % (2**spec.depth) != 0:
        raise ModelError(
            f"{path}: resolution {info.resolution} is not divisible by 2**{spec.depth}"
        )
    parameters = declared_parameters(spec)
    if parameters > MAX_PARAMETERS:
        raise ModelError(f"{path}: {parameters:,} parameters is more than the "
                         f"{MAX_PARAMETERS:,} a live model may have")  # fmt: skip
    return info


def _check_shapes(handle: Any, info: ModelInfo, path: Path) -> Mapping[str, tuple[int, ...]]:
    """The weights' names and shapes the architecture needs, checked against the file's header."""
    expected = expected_shapes(info.architecture)
    try:
        stored = {key: tuple(handle.get_slice(key).get_shape()) for key in list(handle.keys())}
    except (SafetensorError, OSError, RuntimeError) as error:
        raise ModelError(f"{path}: corrupt weights ({first_line(error)})") from None
    if stored != expected:
        raise ModelError(f"{path}: weights do not match the architecture in its metadata")
    return expected
