"""A training run small enough to carry: its checkpoint without Adam's moments, weights in fp16.

Why: a world trains for hours over several sittings, and a run folder's checkpoint (every
network, both moments of every Adam, fp32) is 66 MB for the shipped size — too large to keep in a
repository or send along with a session, so a run dies with the machine it was on. The weights
alone in fp16 are a fifth of that. `ltsd train --resume` goes on from this file: the networks
where they were, the step, the learning-rate schedule and the random streams as they were, and
Adam's moments afresh (they fill again within a few hundred steps), so the run is no longer
bit-identical with an uninterrupted one — only close to it.

    python -m ltsd.train.carry runs/ocean runs/ocean-carried
    ltsd train … --resume --run-dir runs/ocean-carried
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ltsd.errors import LtsdError, run_command
from ltsd.train.checkpoint import read_checkpoint, write_checkpoint

CHECKPOINT = "checkpoint.safetensors"


def carry_checkpoint(source: Path, target: Path) -> tuple[int, int]:
    """Write `source`'s networks, random states and progress to `target` without the optimizers'
    moments, floating weights in fp16; return (bytes before, bytes after)."""
    tensors, metadata, groups = read_checkpoint(source)
    moments = tuple(f"{name}." for name in groups)
    slim = {
        key: value.half() if value.is_floating_point() and not key.startswith("rng.") else value
        for key, value in tensors.items()
        if not key.startswith(moments)
    }
    metadata = {**metadata, "carried": "weights in fp16; Adam's moments start afresh on resume"}
    write_checkpoint(target, slim, metadata)
    return source.stat().st_size, target.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path, help="the run folder whose checkpoint to carry")
    parser.add_argument(
        "to", type=Path, help="a new run folder, for `ltsd train --resume --run-dir`"
    )
    args = parser.parse_args()
    source, target = args.run_dir / CHECKPOINT, args.to / CHECKPOINT
    if not source.is_file():
        raise LtsdError(f"{args.run_dir}: no {CHECKPOINT} in it")
    if target.resolve() == source.resolve():
        raise LtsdError(f"{args.to}: is the run folder itself; carry it to another folder")
    before, after = carry_checkpoint(source, target)
    print(f"wrote {target}: {after / 1e6:.1f} MB (was {before / 1e6:.1f} MB)")


if __name__ == "__main__":
    run_command(main, "ltsd.train.carry")
