"""TensorFlow's pix2pix generator (Keras), as TF.js layers models (`model.json` + binary shards,
how the seed's web re-make ships its models) or Keras HDF5 files, as ltsd's `keras` layout.

The Keras topology in the file says what was built; this reads the layers in order (nested
`Sequential` blocks flattened) and expects the tutorial's shape with any widths and depth:
encoder levels Conv2D 4×4/2 'same' (+ BatchNormalization) + LeakyReLU, decoder levels
Conv2DTranspose 4×4/2 'same' + BatchNormalization (+ Dropout) + ReLU, each followed by a
Concatenate with the mirrored encoder level, and a last Conv2DTranspose with a bias and tanh.
Layouts to map: Keras kernels are (h, w, in, out), transposed ones (h, w, out, in); torch's are
(out, in, h, w) and (in, out, h, w). Batch norm's epsilon and LeakyReLU's slope come from the file.
"""

from __future__ import annotations

import json
import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ltsd.errors import ModelError, first_line, shown
from ltsd.generator import GeneratorSpec
from ltsd.importers import MAX_WEIGHT_BYTES

MAX_DOCUMENT_BYTES = 16 << 20  # model.json: the topology and the manifest, no weights
MAX_LAYERS = 1000  # depth 12 has about 100; more is not a pix2pix generator
DTYPES = {"float32": np.float32}


@dataclass(frozen=True)
class Layer:
    kind: str  # Keras class name
    name: str
    config: dict[str, Any]


@dataclass(frozen=True)
class ShardGroup:
    paths: list[Path]
    weights: list[tuple[str, tuple[int, ...]]]  # (name, shape) in the order of the bytes

    @property
    def size(self) -> int:
        return sum(_byte_count(shape) for _, shape in self.weights)


def read_tfjs(model_json: Path) -> tuple[dict[str, Any], list[ShardGroup]]:
    """(the Keras model config, the weight groups) of a TF.js layers model; every name, shape
    and shard checked and sized, nothing read but model.json."""
    document = _json_document(model_json)
    topology = document.get("modelTopology") if isinstance(document, dict) else None
    manifest = document.get("weightsManifest") if isinstance(document, dict) else None
    if not isinstance(topology, dict) or not isinstance(manifest, list):
        raise ModelError(f"{model_json}: not a TF.js layers model (no modelTopology or weights)")
    config = topology.get("model_config", topology)
    if not isinstance(config, dict):
        raise ModelError(f"{model_json}: modelTopology has no model config")
    groups = [_shard_group(group, model_json) for group in manifest]
    total = sum(group.size for group in groups)
    if total > MAX_WEIGHT_BYTES:
        raise ModelError(f"{model_json}: its weights would take {total >> 20} MB; ltsd imports "
                         f"generators of at most {MAX_WEIGHT_BYTES >> 20} MB")  # fmt: skip
    return config, groups


def read_tfjs_weights(model_json: Path, groups: list[ShardGroup]) -> dict[str, np.ndarray]:
    """The weights of checked groups (`read_tfjs`), read from their shards."""
    weights: dict[str, np.ndarray] = {}
    for group in groups:
        sizes = [_regular_size(path, model_json) for path in group.paths]
        if sum(sizes) < group.size:
            offset, available = 0, sum(sizes)
            for name, shape in group.weights:
                offset += _byte_count(shape)
                if offset > available:
                    raise ModelError(
                        f"{model_json}: the weight shards end before {name} (truncated?)"
                    )
        if sum(sizes) > group.size:
            raise ModelError(f"{model_json}: {sum(sizes) - group.size} bytes of shards left over")
        data = b"".join(_read_regular(path, size, model_json)
                        for path, size in zip(group.paths, sizes, strict=True))  # fmt: skip
        offset = 0
        for name, shape in group.weights:
            count = _byte_count(shape) // 4
            weights[name] = np.frombuffer(data, np.float32, count, offset).reshape(shape)
            offset += count * 4
    return weights


def _json_document(path: Path) -> Any:
    size = _regular_size(path, path)
    if size > MAX_DOCUMENT_BYTES:
        raise ModelError(f"{path}: {size >> 20} MB is more than a model.json holds")
    try:
        return json.loads(_read_regular(path, size, path).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ModelError(f"{path}: not a TF.js model.json ({first_line(error)[:120]})") from None


def _shard_group(group: Any, model_json: Path) -> ShardGroup:
    """One weightsManifest entry, checked: paths beside model.json, float32 weights with names
    and shapes of whole numbers (their sizes are added up before anything is read)."""
    entries = group.get("weights") if isinstance(group, dict) else None
    paths = group.get("paths") if isinstance(group, dict) else None
    if not isinstance(entries, list) or not isinstance(paths, list) or not paths:
        raise ModelError(f"{model_json}: a weightsManifest entry without paths and weights")
    folder = model_json.parent.resolve()
    shards = []
    for name in paths:
        if not isinstance(name, str):
            raise ModelError(f"{model_json}: a shard path that is not text: {shown(name)}")
        path = (folder / name).resolve()
        if path.parent != folder:
            raise ModelError(f"{model_json}: shard {shown(name)} is not beside model.json")
        shards.append(path)
    weights = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ModelError(f"{model_json}: a weight entry without a name: {shown(entry)}")
        name, shape, dtype = entry["name"], entry.get("shape"), entry.get("dtype")
        if dtype not in DTYPES or "quantization" in entry:
            kind = f"{shown(dtype)}{' quantized' if 'quantization' in entry else ''}"
            raise ModelError(f"{model_json}: weight {shown(name)} is {kind}; ltsd imports float32 "
                             "models (convert without --quantize_*)")  # fmt: skip
        if (
            not isinstance(shape, list)
            or len(shape) > 8
            or not all(type(d) is int and 0 <= d <= MAX_WEIGHT_BYTES for d in shape)
        ):
            raise ModelError(f"{model_json}: weight {shown(name)} has shape {shown(shape)}")
        if _byte_count(tuple(shape)) > MAX_WEIGHT_BYTES:
            raise ModelError(f"{model_json}: weight {shown(name)} alone is over "
                             f"{MAX_WEIGHT_BYTES >> 20} MB")  # fmt: skip
        weights.append((name, tuple(shape)))
    return ShardGroup(shards, weights)


def _byte_count(shape: tuple[int, ...]) -> int:
    return 4 * math.prod(shape)  # Python integers: a shape of 2**40 cannot wrap around


def _regular_size(path: Path, model: Path) -> int:
    """`path`'s size, if it is a regular file (a FIFO would block the import for ever)."""
    try:
        status = path.stat()
    except OSError as error:
        raise ModelError(f"{model}: {path.name} unreadable ({error.strerror})") from None
    if not stat.S_ISREG(status.st_mode):
        raise ModelError(f"{model}: {path.name} is not a regular file")
    return status.st_size


def _read_regular(path: Path, size: int, model: Path) -> bytes:
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(descriptor, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise ModelError(f"{model}: {path.name} is not a regular file")
            data = file.read(size + 1)
    except OSError as error:
        raise ModelError(f"{model}: {path.name} unreadable ({error.strerror})") from None
    if len(data) != size:
        raise ModelError(f"{model}: {path.name} changed while it was read")
    return data


def read_h5_config(path: Path) -> dict[str, Any]:
    """The Keras model config of a Keras HDF5 model (`model.save("generator.h5")`), read with
    h5py when it is installed; no weight is read."""
    h5py = _h5py(path)
    try:
        with h5py.File(path, "r") as handle:
            config = json.loads(handle.attrs["model_config"])
    except (OSError, KeyError, ValueError, TypeError, RecursionError) as error:
        raise ModelError(f"{path}: not a Keras HDF5 model ltsd can read "
                         f"({first_line(error)[:120]})") from None  # fmt: skip
    if not isinstance(config, dict):
        raise ModelError(f"{path}: its model_config is not a Keras model config")
    return config


def read_h5_weights(path: Path) -> dict[str, np.ndarray]:
    """Every dataset under `model_weights`, by its path in the file; their sizes are added up
    from their shapes before any is read."""
    h5py = _h5py(path)
    weights: dict[str, np.ndarray] = {}
    try:
        with h5py.File(path, "r") as handle:
            datasets: dict[str, Any] = {}

            def keep(name: str, item: Any) -> None:  # returning a value would stop the visit
                if isinstance(item, h5py.Dataset):
                    datasets[name] = item

            handle["model_weights"].visititems(keep)
            total = sum(_byte_count(tuple(d.shape or ())) for d in datasets.values())
            if total > MAX_WEIGHT_BYTES:
                raise ModelError(f"{path}: its weights would take {total >> 20} MB; ltsd imports "
                                 f"generators of at most {MAX_WEIGHT_BYTES >> 20} MB")  # fmt: skip
            for name, dataset in datasets.items():
                weights[name] = np.asarray(dataset[()], dtype=np.float32)
    except (OSError, KeyError, ValueError, TypeError, MemoryError) as error:
        raise ModelError(f"{path}: not a Keras HDF5 model ltsd can read "
                         f"({first_line(error)[:120]})") from None  # fmt: skip
    return weights


def _h5py(path: Path) -> Any:
    if path.stat().st_size > MAX_WEIGHT_BYTES + MAX_DOCUMENT_BYTES:
        raise ModelError(f"{path}: a Keras file over {MAX_WEIGHT_BYTES >> 20} MB")
    try:
        import h5py
    except ImportError:
        raise ModelError(f"{path}: reading Keras HDF5 needs h5py (pip install h5py)") from None
    return h5py


def flattened(config: dict[str, Any], source: Path | None = None, depth: int = 0) -> list[Layer]:
    """Every layer in order, nested Sequential/Functional blocks opened up; at most MAX_LAYERS,
    nested at most 8 deep."""
    if depth > 8:
        raise ModelError(f"{source}: model blocks nested more than 8 deep")
    layers = []
    for layer in config.get("config", config).get("layers", []):
        kind, inner = layer.get("class_name"), layer.get("config", {})
        if kind in ("Sequential", "Functional", "Model"):
            layers += flattened(layer, source, depth + 1)
        else:
            layers.append(Layer(kind, inner.get("name", ""), inner))
        if len(layers) > MAX_LAYERS:
            raise ModelError(f"{source}: more than {MAX_LAYERS} layers; not a pix2pix generator")
    return layers


def plan(config: dict[str, Any], source: Path) -> tuple[GeneratorSpec, list[tuple[str, Layer]]]:
    """The ltsd spec of a Keras pix2pix generator, and (ltsd module prefix, Keras layer) pairs."""
    layers = [layer for layer in flattened(config, source)
              if layer.kind not in ("InputLayer", "Dropout")]  # fmt: skip
    downs = [layer for layer in layers if layer.kind == "Conv2D"]
    ups = [layer for layer in layers if layer.kind == "Conv2DTranspose"]
    others = {layer.kind for layer in layers} - {
        "Conv2D", "Conv2DTranspose", "BatchNormalization", "LeakyReLU", "ReLU", "Concatenate",
        "Activation",
    }  # fmt: skip
    if not downs or len(ups) != len(downs) or others:
        found = ", ".join(sorted(others)) or f"{len(downs)} Conv2D and {len(ups)} Conv2DTranspose"
        raise ModelError(f"{source}: not TensorFlow's pix2pix U-Net generator ({found})")
    for layer in downs + ups:
        c = layer.config
        if (
            list(c.get("kernel_size", [])) != [4, 4]
            or list(c.get("strides", [])) != [2, 2]
            or (c.get("padding") != "same")
        ):
            raise ModelError(f"{source}: layer {layer.name} is not 4x4, stride 2, 'same'")
    widths = [layer.config["filters"] for layer in downs]
    ngf, cap = widths[0], max(widths)
    if widths != [min(ngf * 2**i, cap) for i in range(len(widths))]:
        raise ModelError(f"{source}: encoder widths {widths} do not double from ngf to a cap")
    if [layer.config["filters"] for layer in ups[:-1]] != widths[-2::-1]:
        raise ModelError(f"{source}: decoder widths do not mirror the encoder's {widths}")
    last = ups[-1].config
    if not last.get("use_bias", True) or last.get("activation") != "tanh":
        raise ModelError(f"{source}: the last layer is not a Conv2DTranspose with bias and tanh")
    norms = [layer for layer in layers if layer.kind == "BatchNormalization"]
    leaky = [layer for layer in layers if layer.kind == "LeakyReLU"]
    if len(norms) != 2 * len(downs) - 2 or len(leaky) != len(downs):
        raise ModelError(f"{source}: the levels' norms and activations are not the tutorial's")
    slope = leaky[0].config.get("alpha", leaky[0].config.get("negative_slope", 0.3))
    in_channels = _input_channels(config, layers, source)
    try:
        spec = GeneratorSpec(
            in_channels=in_channels, out_channels=last["filters"], ngf=ngf, max_channels=cap,
            depth=len(downs), layout="keras", leaky_slope=float(slope),
            norm_eps=float(norms[0].config.get("epsilon", 1e-3)),
        )  # fmt: skip
    except ValueError as error:
        raise ModelError(f"{source}: {error}") from None
    pairs = _pairs(layers, len(downs))
    return spec, pairs


def _pairs(layers: list[Layer], depth: int) -> list[tuple[str, Layer]]:
    """Each convolution and norm with the ltsd module it becomes, in the order they come."""
    pairs: list[tuple[str, Layer]] = []
    down = up = -1
    inside = ""
    for layer in layers:
        if layer.kind == "Conv2D":
            down += 1
            inside = f"downs.{down}"
            pairs.append((f"{inside}.0", layer))
        elif layer.kind == "Conv2DTranspose":
            up += 1
            inside = f"ups.{up}"
            pairs.append((f"{inside}.0", layer))
        elif layer.kind == "BatchNormalization":
            pairs.append((f"{inside}.1", layer))
    return pairs


def _input_channels(config: dict[str, Any], layers: list[Layer], source: Path) -> int:
    """From the model's input shape, else from the first kernel's shape (read later)."""
    for layer in config.get("config", config).get("layers", []):
        inner = layer.get("config", {})
        shape = inner.get("batch_input_shape") or inner.get("batch_shape")
        if layer.get("class_name") == "InputLayer" and shape:
            return int(shape[-1])
    raise ModelError(f"{source}: the model names no input shape")


def ltsd_state_dict(
    pairs: list[tuple[str, Layer]], weights: dict[str, np.ndarray], source: Path
) -> dict[str, torch.Tensor]:
    weights = _by_layer(weights)
    mapped: dict[str, torch.Tensor] = {}
    for prefix, layer in pairs:
        if layer.kind in ("Conv2D", "Conv2DTranspose"):
            kernel = _weight(weights, layer, "kernel", source)
            # (h, w, in, out) → (out, in, h, w); transposed (h, w, out, in) → (in, out, h, w)
            mapped[f"{prefix}.weight"] = torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy())
            if layer.config.get("use_bias", True):
                mapped[f"{prefix}.bias"] = torch.from_numpy(
                    _weight(weights, layer, "bias", source).copy()
                )
        else:
            count = None
            for ours, theirs, default in (
                ("running_mean", "moving_mean", None), ("running_var", "moving_variance", None),
                ("weight", "gamma", 1.0), ("bias", "beta", 0.0),
            ):  # fmt: skip
                if default is not None and not layer.config.get(
                    "scale" if theirs == "gamma" else "center", True
                ):
                    value = np.full(count, default, np.float32)
                else:
                    value = _weight(weights, layer, theirs, source)
                count = value.shape[0]
                mapped[f"{prefix}.{ours}"] = torch.from_numpy(value.copy())
            mapped[f"{prefix}.num_batches_tracked"] = torch.tensor(0)
    return mapped


def _by_layer(weights: dict[str, np.ndarray]) -> dict[tuple[str, str], list[np.ndarray]]:
    """(a layer name in the weight's path, what it is) → the weights there (`…/conv2d_3/kernel`):
    one pass, so finding each layer's weights costs nothing more (10⁵ layers took 15 s)."""
    index: dict[tuple[str, str], list[np.ndarray]] = {}
    for name, value in weights.items():
        parts = name.split("/")
        what = parts[-1].split(":")[0]
        for folder in set(parts[:-1]):
            index.setdefault((folder, what), []).append(value)
    return index


def _weight(
    weights: dict[tuple[str, str], list[np.ndarray]], layer: Layer, what: str, source: Path
) -> np.ndarray:
    """A layer's weight, found by its layer name in the weight's path (`…/conv2d_3/kernel`)."""
    found = weights.get((layer.name, what), [])
    if len(found) != 1:
        raise ModelError(f"{source}: {'no' if not found else 'several'} {what} for {layer.name}")
    return found[0]
