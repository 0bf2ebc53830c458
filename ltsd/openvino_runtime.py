"""The generator on OpenVINO (`model.runtime: openvino`, the `[openvino]` extra), for CPUs.

On a 2-core CPU at 256², batch 1, OpenVINO runs the trained U-Net in about 0.9 of the time of
ltsd's own inference form (`ltsd bench --peers`, docs/performance.md): its convolutions are the
same oneDNN kernels, but it builds each one once where every call into torch's oneDNN op pays
~20 µs of set-up. The world is exported to ONNX from its trained form (the function the tests
pin) and compiled once per input shape: loading a world takes ~0.4 s longer than on torch.

Only the CPU: on a GPU torch's own path is the one to use. When OpenVINO is not installed,
`pick_runtime` says so in one line and torch runs instead.
"""

from __future__ import annotations

import io
import logging
import threading
import warnings

import numpy as np
import torch

from ltsd.generator import UNetGenerator

log = logging.getLogger(__name__)

RUNTIMES = ("torch", "openvino")
_HINTS = {torch.float32: "f32", torch.bfloat16: "bf16"}


def openvino_missing() -> str | None:
    """Why the OpenVINO runtime cannot be used here (one line), or None when it can."""
    try:
        import onnx  # noqa: F401 - torch's ONNX exporter needs it
        import openvino  # noqa: F401
    except ImportError as error:
        return f"{error.name} is not installed (pip install -e '.[openvino]')"
    return None


class OpenVinoGenerator:
    """A trained generator compiled by OpenVINO: called like the inference form, with a
    (B, in, H, W) float32 tensor in [-1, 1], returning (B, out, H, W) float32. Safe to call from
    several threads (one inference at a time)."""

    def __init__(self, trained: UNetGenerator, dtype: torch.dtype, threads: int) -> None:
        import openvino

        self.dtype = dtype
        self._core = openvino.Core()
        self._config = {
            "INFERENCE_PRECISION_HINT": _HINTS[dtype],
            "INFERENCE_NUM_THREADS": str(threads),
            "PERFORMANCE_HINT": "LATENCY",
            "ENABLE_CPU_PINNING": "NO",  # NDI's and ltsd's own threads share these cores
        }
        self._model = self._core.read_model(_onnx(trained))
        self._weight_bytes = sum(4 * value.numel() for value in trained.state_dict().values())
        self._requests: dict[tuple[int, ...], object] = {}
        self._lock = threading.Lock()

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        pixels = np.ascontiguousarray(image.detach().to("cpu", torch.float32).numpy())
        with self._lock:
            request = self._requests.get(pixels.shape) or self._compile(pixels.shape)
            result = request.infer({0: pixels}, share_inputs=True)[0]  # type: ignore[attr-defined]
        return torch.from_numpy(result)

    def memory_bytes(self) -> int:
        """About what the compiled weights take: OpenVINO keeps a copy for each input shape."""
        return self._weight_bytes * max(1, len(self._requests))

    def _compile(self, shape: tuple[int, ...]) -> object:
        import openvino

        self._model.reshape({0: openvino.PartialShape(list(shape))})
        compiled = self._core.compile_model(self._model, "CPU", self._config)
        request = compiled.create_infer_request()
        self._requests[shape] = request
        return request


def _onnx(trained: UNetGenerator) -> bytes:
    """The trained form as ONNX, batch and size left open (the first call fixes them)."""
    channels = trained.spec.in_channels
    buffer = io.BytesIO()
    axes = {0: "batch", 2: "height", 3: "width"}
    with warnings.catch_warnings():  # the exporter's notes on tracing are for its developers
        warnings.simplefilter("ignore")
        torch.onnx.export(
            trained.eval(), (torch.zeros(1, channels, 256, 256),), buffer,
            input_names=["image"], output_names=["world"],
            dynamic_axes={"image": axes, "world": axes}, dynamo=False,
        )  # fmt: skip
    return buffer.getvalue()
