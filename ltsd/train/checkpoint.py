"""Training checkpoints as safetensors (never pickle): weights, optimizer moments and RNG states.

Optimizer state dicts are flattened to `prefix.<param index>.<name>` tensors plus JSON for the
param groups, so resuming restores Adam exactly and the run continues as if never stopped.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ltsd.errors import LtsdError

log = logging.getLogger(__name__)


def save_checkpoint(
    path: Path,
    modules: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    rng_states: dict[str, torch.Tensor],
    progress: dict[str, Any],
) -> None:
    tensors: dict[str, torch.Tensor] = {}
    groups: dict[str, Any] = {}
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            tensors[f"{name}.{key}"] = value.detach().cpu().contiguous()
    for name, optimizer in optimizers.items():
        state = optimizer.state_dict()
        groups[name] = state["param_groups"]
        for index, slots in state["state"].items():
            for slot, value in slots.items():
                tensors[f"{name}.{index}.{slot}"] = torch.as_tensor(value).detach().cpu().clone()
    for name, value in rng_states.items():
        tensors[f"rng.{name}"] = value.cpu().clone()
    write_checkpoint(
        path, tensors, {"progress": json.dumps(progress), "param_groups": json.dumps(groups)}
    )


def write_checkpoint(
    path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]
) -> None:
    """Write atomically: a run stopped mid-write keeps its previous checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    save_file(tensors, str(partial), metadata=metadata)
    partial.replace(path)


def read_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str], dict[str, Any]]:
    """(tensors, metadata, optimizers' param groups); an unreadable file is one LtsdError."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
        json.loads(metadata["progress"])
        groups = json.loads(metadata["param_groups"])
    except (SafetensorError, OSError, KeyError, ValueError) as error:
        raise LtsdError(f"{path}: unreadable checkpoint ({error})") from None
    return tensors, metadata, groups


# what every run has; the others (the feature discriminator and its Adam) may be added on resume
REQUIRED = ("generator", "generator_average", "discriminator", "generator_optimizer",
            "discriminator_optimizer")  # fmt: skip


def load_checkpoint(
    path: Path,
    modules: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Restore modules and optimizers in place; return (rng states, progress)."""
    if not path.is_file():
        raise LtsdError(f"{path}: no checkpoint to resume from")
    tensors, metadata, groups = read_checkpoint(path)
    progress = json.loads(metadata["progress"])
    for name, module in modules.items():
        prefix = f"{name}."
        weights = {k.removeprefix(prefix): v for k, v in tensors.items() if k.startswith(prefix)}
        if not weights and name not in REQUIRED:  # a run going on with a network it lacked
            log.info("%s: no %s in the checkpoint; it starts untrained", path, name)
            continue
        try:
            module.load_state_dict(weights)
        except RuntimeError as error:  # another --ngf, --ndf, --d-scales … than the run's
            detail = str(error).strip().splitlines()[-1].strip()
            raise LtsdError(
                f"{path}: its {name} does not fit this run's options (resume with the ones it "
                f"was started with): {detail}"
            ) from None
    for name, optimizer in optimizers.items():
        if name not in groups:
            if name in REQUIRED:
                raise LtsdError(f"{path}: unreadable checkpoint (no {name})")
            continue  # its network started untrained above
        state: dict[int, dict[str, torch.Tensor]] = {}
        prefix = f"{name}."
        for key, value in tensors.items():
            if key.startswith(prefix) and key.count(".") == 2:
                _, index, slot = key.split(".")
                state.setdefault(int(index), {})[slot] = value
        optimizer.load_state_dict({"state": state, "param_groups": groups[name]})
    if "carried" in metadata:  # `ltsd.train.carry`: no moments in it
        log.info("%s: a carried checkpoint; Adam's moments start afresh", path)
    rng = {k.removeprefix("rng."): v for k, v in tensors.items() if k.startswith("rng.")}
    return rng, progress
