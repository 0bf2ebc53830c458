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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ltsd.errors import ModelError
from ltsd.generator import GeneratorSpec

MAX_SHARD_BYTES = 1 << 30  # 1 GB: the paper's generator is 218 MB in float32
DTYPES = {"float32": np.float32}


@dataclass(frozen=True)
class Layer:
    kind: str  # Keras class name
    name: str
    config: dict[str, Any]


def read_tfjs(model_json: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(the Keras model config, weights by name) of a TF.js layers model."""
    try:
        document = json.loads(model_json.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ModelError(f"{model_json}: not a TF.js model.json ({error})") from None
    topology = document.get("modelTopology") if isinstance(document, dict) else None
    manifest = document.get("weightsManifest") if isinstance(document, dict) else None
    if not isinstance(topology, dict) or not isinstance(manifest, list):
        raise ModelError(f"{model_json}: not a TF.js layers model (no modelTopology or weights)")
    config = topology.get("model_config", topology)
    weights: dict[str, np.ndarray] = {}
    for group in manifest:
        data = b"".join(_shard(model_json.parent, path, model_json) for path in group["paths"])
        offset = 0
        for entry in group["weights"]:
            name, shape, dtype = entry["name"], tuple(entry["shape"]), entry["dtype"]
            if dtype not in DTYPES or "quantization" in entry:
                kind = f"{dtype}{' quantized' if 'quantization' in entry else ''}"
                raise ModelError(f"{model_json}: weight {name} is {kind}; ltsd imports float32 "
                                 "models (convert without --quantize_*)")  # fmt: skip
            size = int(np.prod(shape)) * np.dtype(DTYPES[dtype]).itemsize
            if offset + size > len(data):
                raise ModelError(f"{model_json}: the weight shards end before {name} (truncated?)")
            weights[name] = np.frombuffer(data, DTYPES[dtype], int(np.prod(shape)), offset)
            weights[name] = weights[name].reshape(shape)
            offset += size
        if offset != len(data):
            raise ModelError(f"{model_json}: {len(data) - offset} bytes of shards left over")
    return config, weights


def read_h5(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(the Keras model config, weights by their path in the file) of a Keras HDF5 model
    (`model.save("generator.h5")`), read with h5py when it is installed."""
    try:
        import h5py
    except ImportError:
        raise ModelError(f"{path}: reading Keras HDF5 needs h5py (pip install h5py)") from None
    if path.stat().st_size > MAX_SHARD_BYTES:
        raise ModelError(f"{path}: a Keras file over 1 GB")
    weights: dict[str, np.ndarray] = {}

    def keep(name: str, item: Any) -> None:
        if isinstance(item, h5py.Dataset):
            weights[name] = np.asarray(item[()], dtype=np.float32)

    try:
        with h5py.File(path, "r") as handle:
            config = json.loads(handle.attrs["model_config"])
            handle["model_weights"].visititems(keep)
    except (OSError, KeyError, ValueError, TypeError) as error:
        raise ModelError(f"{path}: not a Keras HDF5 model ltsd can read ({error})") from None
    return config, weights


def _shard(folder: Path, name: str, model_json: Path) -> bytes:
    path = (folder / name).resolve()
    if path.parent != folder.resolve():
        raise ModelError(f"{model_json}: shard {name!r} is not beside model.json")
    try:
        if path.stat().st_size > MAX_SHARD_BYTES:
            raise ModelError(f"{path}: a weight shard over 1 GB")
        return path.read_bytes()
    except OSError as error:
        raise ModelError(f"{model_json}: shard {name} unreadable ({error.strerror})") from None


def flattened(config: dict[str, Any]) -> list[Layer]:
    """Every layer in order, nested Sequential/Functional blocks opened up."""
    layers = []
    for layer in config.get("config", config).get("layers", []):
        kind, inner = layer.get("class_name"), layer.get("config", {})
        if kind in ("Sequential", "Functional", "Model"):
            layers += flattened(layer)
        else:
            layers.append(Layer(kind, inner.get("name", ""), inner))
    return layers


def plan(config: dict[str, Any], source: Path) -> tuple[GeneratorSpec, list[tuple[str, Layer]]]:
    """The ltsd spec of a Keras pix2pix generator, and (ltsd module prefix, Keras layer) pairs."""
    layers = [layer for layer in flattened(config) if layer.kind not in ("InputLayer", "Dropout")]
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


def _weight(weights: dict[str, np.ndarray], layer: Layer, what: str, source: Path) -> np.ndarray:
    """A layer's weight, found by its layer name in the weight's path (`…/conv2d_3/kernel`)."""
    found = [value for name, value in weights.items()
             if name.split("/")[-1].split(":")[0] == what
             and layer.name in name.split("/")[:-1]]  # fmt: skip
    if len(found) != 1:
        raise ModelError(f"{source}: {'no' if not found else 'several'} {what} for {layer.name}")
    return found[0]
