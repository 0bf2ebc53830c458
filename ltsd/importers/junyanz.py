"""junyanz/pytorch-CycleGAN-and-pix2pix generators (`latest_net_G.pth`) as ltsd U-Nets.

That repository's `UnetGenerator` is ltsd's U-Net, nested instead of listed: block `P` holds its
down convolution, its norm, the next block (`P.…model.`) and its up convolution, under fixed
indices. Two facts to map, not code to copy:
- a block returns `cat([x, up(x)])` — the skip first — where ltsd concatenates `[up, skip]`: each
  decoder convolution but the innermost takes its input channels in the other order, so their
  halves are swapped;
- with `--norm instance` its convolutions have biases and its norms no parameters.
Only `torch.load(weights_only=True)`: a file that needs to unpickle objects is refused.
"""

from __future__ import annotations

import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from ltsd.errors import ModelError, first_line
from ltsd.generator import GeneratorSpec
from ltsd.importers import MAX_WEIGHT_BYTES

BATCH_NORM_KEYS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


@dataclass(frozen=True)
class Level:
    """Where one level's layers sit in the junyanz state dict (None: that block has none)."""

    down: str
    down_norm: str | None
    up: str
    up_norm: str | None


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a `.pth` saved with `torch.save(net.state_dict())`; nothing else loads.
    Their size is added up from the archive's directory before anything is inflated."""
    check_size(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise ModelError(
            f"{path}: needs to unpickle objects, which ltsd never does "
            f"({first_line(error)[:120]}); save the generator's state_dict() instead"
        ) from None
    except (RuntimeError, OSError, EOFError, ValueError) as error:
        reason = first_line(error)
        raise ModelError(f"{path}: not a PyTorch file ltsd can read ({reason})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ModelError(f"{path}: not a state dict (a mapping of names to tensors)")
    return {key.removeprefix("module."): value for key, value in state.items()}


def check_size(path: Path) -> None:
    """A one-line ModelError when `path` is not a regular file or would unpack to more than
    MAX_WEIGHT_BYTES (a 1 MB deflated archive can hold a 1 GB tensor)."""
    if not path.is_file():
        raise ModelError(f"{path}: not a regular file")
    size = path.stat().st_size
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                size = sum(entry.file_size for entry in archive.infolist())
        except (zipfile.BadZipFile, OSError, ValueError) as error:
            raise ModelError(f"{path}: a damaged archive ({first_line(error)[:80]})") from None
    if size > MAX_WEIGHT_BYTES:
        raise ModelError(f"{path}: its tensors would take {size >> 20} MB; ltsd imports "
                         f"generators of at most {MAX_WEIGHT_BYTES >> 20} MB")  # fmt: skip


def is_junyanz(state: dict[str, torch.Tensor]) -> bool:
    return "model.model.0.weight" in state


def levels(state: dict[str, torch.Tensor], path: Path) -> list[Level]:
    """The U-Net's levels, outermost first, found by walking the nested blocks."""
    if "model.model.1.model.1.weight" not in state:
        kinds = "resnet_6blocks/resnet_9blocks" if "model.10.conv_block.1.weight" in state else ""
        raise ModelError(
            f"{path}: not a U-Net generator{f' ({kinds})' if kinds else ''}; ltsd imports "
            "junyanz's unet_128 and unet_256 (any ngf, batch or instance norm)"
        )
    found = [Level("model.model.0", None, "model.model.3", None)]
    block = "model.model.1.model"
    while True:
        if any(key.startswith(f"{block}.3.model.") for key in state):  # a middle block
            found.append(Level(f"{block}.1", f"{block}.2", f"{block}.5", f"{block}.6"))
            block = f"{block}.3.model"
        else:  # the innermost: no norm after its down convolution
            found.append(Level(f"{block}.1", None, f"{block}.3", f"{block}.4"))
            return found


def spec_of(state: dict[str, torch.Tensor], found: list[Level], path: Path) -> GeneratorSpec:
    first = _weight(state, found[0].down, path)
    widths = [_weight(state, level.down, path).shape[0] for level in found]
    ngf, cap = widths[0], max(widths)
    if widths != [min(ngf * 2**i, cap) for i in range(len(widths))]:
        raise ModelError(f"{path}: encoder widths {widths} do not double from ngf to a cap")
    norm = "batch" if f"{found[1].down_norm}.running_mean" in state else "instance"
    if norm == "instance" and f"{found[1].down}.bias" not in state:
        raise ModelError(f"{path}: a U-Net without norms (--norm none) is not supported")
    if norm == "instance" and f"{found[1].down_norm}.weight" in state:
        raise ModelError(f"{path}: instance norms with learnt parameters are not supported")
    out_channels = _weight(state, found[0].up, path).shape[1]
    try:
        return GeneratorSpec(in_channels=first.shape[1], out_channels=out_channels, ngf=ngf,
                             max_channels=cap, depth=len(found), norm=norm)  # fmt: skip
    except ValueError as error:
        raise ModelError(f"{path}: {error}") from None


def ltsd_state_dict(
    state: dict[str, torch.Tensor], found: list[Level], spec: GeneratorSpec
) -> dict[str, torch.Tensor]:
    """The junyanz tensors under ltsd's names (`UNetGenerator`), skip halves swapped."""
    depth = len(found)
    mapped: dict[str, torch.Tensor] = {}
    for index, level in enumerate(found):
        down = "downs.0" if index == 0 else f"downs.{index}.1"
        _copy_conv(state, level.down, mapped, down)
        if level.down_norm is not None and spec.norm == "batch":
            _copy_norm(state, level.down_norm, mapped, f"downs.{index}.2")
        up_index = depth - 1 - index  # ltsd lists the decoder innermost first
        up = f"ups.{up_index}.1"
        _copy_conv(state, level.up, mapped, up)
        if index != depth - 1:  # every decoder level but the innermost reads [skip, up]
            mapped[f"{up}.weight"] = _swap_halves(mapped[f"{up}.weight"])
        if level.up_norm is not None and spec.norm == "batch":
            _copy_norm(state, level.up_norm, mapped, f"ups.{up_index}.2")
    return mapped


def _copy_conv(state: dict, source: str, mapped: dict, target: str) -> None:
    mapped[f"{target}.weight"] = state[f"{source}.weight"]
    if f"{source}.bias" in state:
        mapped[f"{target}.bias"] = state[f"{source}.bias"]


def _copy_norm(state: dict, source: str, mapped: dict, target: str) -> None:
    for key in BATCH_NORM_KEYS:
        if f"{source}.{key}" in state:
            mapped[f"{target}.{key}"] = state[f"{source}.{key}"]


def _swap_halves(weight: torch.Tensor) -> torch.Tensor:
    """A transposed convolution's (in, out, kh, kw) weight with its two input halves swapped."""
    half = weight.shape[0] // 2
    return torch.cat([weight[half:], weight[:half]], dim=0)


def _weight(state: dict[str, torch.Tensor], layer: str, path: Path) -> torch.Tensor:
    weight = state.get(f"{layer}.weight")
    if weight is None or weight.dim() != 4:
        raise ModelError(f"{path}: {layer}.weight is missing or not a convolution's")
    return weight
