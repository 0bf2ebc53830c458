"""`ltsd import`: pix2pix generators made by other tools, as ordinary ltsd models.

The format is read from the file; each importer maps its layout onto ltsd's U-Net (a table of
names and one permutation), and the result is checked by loading it the way `ltsd run` does.
Imported weights keep float32: they are compared against their source framework's outputs.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch

from ltsd.errors import ModelError, first_line
from ltsd.generator import GeneratorSpec, UNetGenerator
from ltsd.modelstore import ModelInfo, load_model, model_path, save_model

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
T = TypeVar("T")
# all of one import's weights, added up before any is read: the paper's generator is 218 MB
MAX_WEIGHT_BYTES = 512 << 20


@dataclass(frozen=True)
class ImportOptions:
    """What a file cannot tell: the size it was trained at and the pre-processing it expects."""

    resolution: int | None = None  # None: the smallest its depth allows (256 for unet_256)
    grayscale: bool | None = None  # None: grey when it takes one channel
    blur_factor: float = 1.0  # pix2pix datasets are not blurred; Learning to See's are


def import_model(source: Path, name: str, models_dir: Path, options: ImportOptions) -> Path:
    """Write `models_dir/NAME.safetensors` from `source`; a ModelError says what is wrong."""
    if not NAME.fullmatch(name):
        raise ModelError(f"--name: {name[:100]!r} is not a plain model name (letters, digits, _.-)")
    if source.is_dir() and (source / "model.json").is_file():
        source = source / "model.json"  # a TF.js model's folder
    if not source.is_file():
        raise ModelError(f"{source}: no such file")
    generator, source_format = _read(source)
    spec = generator.spec
    resolution = options.resolution or 2**spec.depth
    if resolution % 2**spec.depth:
        raise ModelError(f"--resolution {resolution}: must be a multiple of {2**spec.depth}")
    grayscale = spec.in_channels == 1 if options.grayscale is None else options.grayscale
    info = ModelInfo(
        name=name,
        architecture=spec,
        resolution=resolution,
        description=f"imported from {source.name} ({source_format})",
        preprocessing={
            "grayscale": grayscale,
            "blur_factor": options.blur_factor,
            "brightness": 0.0,
            "contrast": 1.0,
        },
        provenance={"format": source_format, "file": source.name, "sha256": _sha256(source)},
    )
    path = model_path(models_dir, name)
    save_model(path, generator, info, dtype=torch.float32)
    try:
        load_model(path)  # as `ltsd run` will: a file that cannot play is not left behind
    except ModelError:
        path.unlink(missing_ok=True)
        raise
    return path


def _read(source: Path) -> tuple[UNetGenerator, str]:
    if source.suffix == ".keras":
        raise ModelError(f"{source}: Keras 3 archives are not read yet; save as .h5 or TF.js")
    if source.suffix in (".pth", ".pt") or zipfile.is_zipfile(source):
        from ltsd.importers import junyanz

        state = junyanz.read_state_dict(source)
        if not junyanz.is_junyanz(state):
            raise ModelError(
                f"{source}: a state dict, but not of junyanz's pix2pix generator (no "
                "model.model.0.weight); ltsd imports its unet_128 and unet_256"
            )
        found = junyanz.levels(state, source)
        spec = junyanz.spec_of(state, found, source)
        mapped = junyanz.ltsd_state_dict(state, found, spec)
        return _built(spec, mapped, source), "junyanz/pytorch-CycleGAN-and-pix2pix"
    if source.suffix in (".json", ".h5", ".hdf5"):
        from ltsd.importers import keras

        # the topology is checked, and every size added up, before a weight is read
        if source.suffix == ".json":
            config, groups = keras.read_tfjs(source)
            spec, pairs = _planned(keras.plan, config, source)
            weights = keras.read_tfjs_weights(source, groups)
            kind = "TensorFlow.js layers model (Keras pix2pix)"
        else:
            config = keras.read_h5_config(source)
            spec, pairs = _planned(keras.plan, config, source)
            weights = keras.read_h5_weights(source)
            kind = "Keras HDF5 (TensorFlow pix2pix)"
        mapped = keras.ltsd_state_dict(pairs, weights, source)
        return _built(spec, mapped, source), kind
    raise ModelError(
        f"{source}: not a format ltsd imports (a .pth state dict from "
        "junyanz/pytorch-CycleGAN-and-pix2pix; a TF.js model.json or a Keras .h5 of "
        "TensorFlow's pix2pix)"
    )


def _planned(plan: Callable[[Any, Path], T], config: Any, source: Path) -> T:
    """A Keras topology read into ltsd's plan; a config of the wrong shape (a layer that is a
    number, a kernel size that is not a pair) is one line, not a traceback."""
    try:
        return plan(config, source)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as error:
        reason = f"{type(error).__name__} {first_line(error)[:80]}"
        raise ModelError(
            f"{source}: not TensorFlow's pix2pix U-Net generator (a malformed model config: "
            f"{reason})"
        ) from None


def _built(spec: GeneratorSpec, mapped: dict[str, torch.Tensor], source: Path) -> UNetGenerator:
    """ltsd's U-Net holding `mapped`; every name and shape checked, nothing left over."""
    generator = UNetGenerator(spec)
    expected = generator.state_dict()
    for key, value in mapped.items():
        if key not in expected:
            raise ModelError(f"{source}: unexpected tensor for {key}")
        if tuple(value.shape) != tuple(expected[key].shape):
            raise ModelError(
                f"{source}: {key} has shape {tuple(value.shape)}, the architecture needs "
                f"{tuple(expected[key].shape)}"
            )
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise ModelError(f"{source}: {key} contains NaN or infinite values")
    missing = sorted(set(expected) - set(mapped))
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise ModelError(f"{source}: missing {missing[0]}{more}")
    try:
        generator.load_state_dict({k: v.float() if v.is_floating_point() else v
                                   for k, v in mapped.items()})  # fmt: skip
    except RuntimeError as error:
        raise ModelError(f"{source}: {first_line(error)}") from None
    return generator.eval()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
