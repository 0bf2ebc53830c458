"""`ltsd bench --peers`: the generator against the other ways to run the same weights, in one
process, interleaved round by round so that a busy moment of the machine costs every runtime
alike (issue #27).

Runtimes: ltsd's inference form (what `ltsd run` plays), the same in bf16 (`model.precision`,
where the CPU has AVX-512 BF16 or AMX), ltsd via OpenVINO (`model.runtime: openvino`, as the
daemon calls it), torch eager (the trained module in eval mode), and, when installed, ONNX Runtime
(all graph optimisations) and OpenVINO (f32 precision hint, called as its documentation shows) on
the same ONNX export. Each round times every runtime once over `forwards` calls; the
table gives each one's median ms a forward, its median ratio to ltsd's time in the same rounds,
and its largest output difference from the trained form.
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ltsd.inference import precision_problem
from ltsd.modelstore import load_model, load_trained
from ltsd.openvino_runtime import openvino_missing

Forward = Callable[[np.ndarray], np.ndarray]


@dataclass
class PeerTiming:
    runtime: str
    median_ms: float
    ratio_to_ltsd: float
    ratio_to_openvino: float | None  # None when OpenVINO is not installed
    max_difference: float


def runtimes(path: Path, size: int, threads: int) -> dict[str, Forward]:
    """name → forward (numpy (1, C, size, size) float32 → numpy), the ones installed here."""
    info, trained = load_trained(path)
    inference = load_model(path).generator
    found: dict[str, Forward] = {}

    def torch_forward(module: torch.nn.Module) -> Forward:
        def forward(image: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return module(torch.from_numpy(image)).numpy()

        return forward

    found["ltsd"] = torch_forward(inference)
    if precision_problem("bf16", torch.device("cpu")) is None:
        found["ltsd bf16"] = torch_forward(load_model(path, precision="bf16").generator)
    if openvino_missing() is None:
        found["ltsd via OpenVINO"] = torch_forward(load_model(path, runtime="openvino").generator)
    found["torch eager"] = torch_forward(trained.eval())
    onnx = _onnx_bytes(trained, info.architecture.in_channels, size)
    if onnx is None:
        return found
    try:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        session = onnxruntime.InferenceSession(onnx, options, providers=["CPUExecutionProvider"])
        found["ONNX Runtime"] = lambda image: session.run(None, {"image": image})[0]
    except ImportError:
        pass
    try:
        import openvino

        core = openvino.Core()
        compiled = core.compile_model(core.read_model(io.BytesIO(onnx).getvalue()), "CPU", {
            "INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": str(threads),
        })  # fmt: skip
        found["OpenVINO f32"] = lambda image: compiled(image)[0]
    except ImportError:
        pass
    return found


def _onnx_bytes(module: torch.nn.Module, channels: int, size: int) -> bytes | None:
    try:
        import onnxruntime  # noqa: F401 - only worth exporting when a runtime can read it
    except ImportError:
        try:
            import openvino  # noqa: F401
        except ImportError:
            return None
    buffer = io.BytesIO()
    example = torch.zeros(1, channels, size, size)
    torch.onnx.export(module.eval(), (example,), buffer, input_names=["image"],
                      output_names=["world"], dynamo=False)  # fmt: skip
    return buffer.getvalue()


def compare(
    found: dict[str, Forward], channels: int, size: int, rounds: int, forwards: int
) -> list[PeerTiming]:
    rng = np.random.default_rng(0)
    image = (rng.random((1, channels, size, size), dtype=np.float32) * 2 - 1).astype(np.float32)
    reference = found["torch eager"](image)
    differences = {name: float(np.abs(run(image) - reference).max()) for name, run in found.items()}
    times: dict[str, list[float]] = {name: [] for name in found}
    for _ in range(rounds):
        for name, run in found.items():
            began = time.perf_counter()
            for _ in range(forwards):
                run(image)
            times[name].append((time.perf_counter() - began) * 1000 / forwards)

    def ratio(measured: list[float], to: str) -> float | None:
        """The median over rounds of this runtime's time over `to`'s in the same round."""
        if to not in times:
            return None
        pairs = zip(measured, times[to], strict=True)
        return statistics.median(mine / theirs for mine, theirs in pairs)

    rows = []
    for name, measured in times.items():
        to_ltsd, to_openvino = ratio(measured, "ltsd"), ratio(measured, "OpenVINO f32")
        assert to_ltsd is not None
        rows.append(PeerTiming(name, statistics.median(measured), to_ltsd, to_openvino,
                               differences[name]))  # fmt: skip
    return rows


def markdown(rows: list[PeerTiming]) -> str:
    lines = ["| runtime | median ms | ratio to ltsd | ratio to OpenVINO f32 | max difference |",
             "|---|---|---|---|---|"]  # fmt: skip
    for row in rows:
        to_openvino = "–" if row.ratio_to_openvino is None else f"{row.ratio_to_openvino:.2f}"
        lines.append(f"| {row.runtime} | {row.median_ms:.2f} | {row.ratio_to_ltsd:.2f} | "
                     f"{to_openvino} | {row.max_difference:.1e} |")  # fmt: skip
    return "\n".join(lines)


@dataclass
class LoadCost:
    runtime: str
    seconds: float
    resident_mb: float


def load_costs(path: Path) -> list[LoadCost]:
    """What loading the world costs each of ltsd's runtimes: wall time until it can play (the
    first forward included: torch packs its weights, OpenVINO compiles) and the growth of the
    process's resident memory, each in a fresh interpreter so neither inherits the other's."""
    import json
    import subprocess
    import sys

    found = ["torch"] + (["openvino"] if openvino_missing() is None else [])
    costs = []
    for runtime in found:
        script = (
            "import json, time, torch\n"
            "from pathlib import Path\n"
            "from ltsd.modelstore import load_model\n"
            "torch.set_num_threads(1)\n"
            "torch.zeros(1).add_(1)\n"
            "def resident(): return int(open('/proc/self/statm').read().split()[1]) * 4096\n"
            "before, began = resident(), time.perf_counter()\n"
            f"load_model(Path({str(path)!r}), runtime={runtime!r})\n"
            "print(json.dumps([time.perf_counter() - began, resident() - before]))\n"
        )
        # the openvino module imports beforehand, so only the world's own cost is measured
        if runtime == "openvino":
            script = "import openvino, onnx\n" + script
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              check=True)  # fmt: skip
        seconds, grown = json.loads(done.stdout.strip().splitlines()[-1])
        costs.append(LoadCost(runtime, seconds, grown / 1e6))
    return costs


def load_markdown(costs: list[LoadCost]) -> str:
    lines = ["| runtime | load (s, until it plays) | resident memory added (MB) |", "|---|---|---|"]
    lines += [f"| {cost.runtime} | {cost.seconds:.2f} | {cost.resident_mb:.0f} |" for cost in costs]
    return "\n".join(lines)


def bf16_levels(path: Path) -> tuple[float, float]:
    """(mean, max) difference of bf16's pictures from fp32's on the six sample photographs of
    `ltsd.train.evaluate`, in levels of 255, as `ltsd run` would play them."""
    from ltsd.train.evaluate import play, scoring_photographs

    worlds = [load_model(path, precision=precision) for precision in ("fp32", "bf16")]
    differences = []
    for photograph in scoring_photographs(worlds[0].info.resolution).values():
        fp32, bf16 = (play(world, photograph)[1] for world in worlds)
        differences.append(((fp32 - bf16).abs() * 127.5).flatten())
    levels = torch.cat(differences)
    return float(levels.mean()), float(levels.max())
