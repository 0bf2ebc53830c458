"""The generator on OpenVINO (`model.runtime: openvino`, the `[openvino]` extra), for CPUs.

Each runtime runs the part it runs best (measured per layer, docs/performance.md):
- OpenVINO runs the encoder and the inner decoder levels — many small convolutions — as one
  compiled graph. Its convolutions are the same oneDNN kernels as torch's, but it builds each
  once, where every call into torch's oneDNN op pays ~20 µs of set-up: ~0.3 ms a frame at 256².
- ltsd's phase convolutions (`ltsd.inference.PhaseUp`) run the two outermost decoder levels,
  which OpenVINO runs as transposed convolutions at about twice their time (few output
  channels leave most vector lanes empty).
OpenVINO hands the inner part's result over channels-last, with the ReLU, the skip and the
border already on, so the phase levels start at once. The inner part is exported to ONNX from
the trained form (the function the tests pin) and compiled once per input shape. Worlds whose
outer levels are not phase convolutions (the keras layout, instance norms) run on OpenVINO
whole. Only the CPU; when OpenVINO is not installed `ltsd.daemon.pick_runtime` says so in one
line and torch runs instead.
"""

from __future__ import annotations

import io
import threading
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ltsd.generator import GeneratorSpec, UNetGenerator, finish
from ltsd.inference import PRECISIONS, PhaseUp, for_inference

RUNTIMES = ("torch", "openvino")
# the outer decoder levels ltsd runs itself (OpenVINO took 445 and 813 µs for them at 256²,
# ngf 8; the phase convolutions 267 and 392)
TAIL_LEVELS = 2
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
    """A trained generator run by OpenVINO and ltsd's phase levels: called like the inference
    form, with a (B, in, H, W) float32 tensor in [-1, 1], returning (B, out, H, W) float32. Safe
    to call from several threads (one inference at a time)."""

    def __init__(self, trained: UNetGenerator, precision: str, threads: int) -> None:
        import openvino

        self.dtype = PRECISIONS[precision]
        self.spec = trained.spec
        self.tail = tail = _phase_tail(trained, precision)  # empty: OpenVINO runs it whole
        self._core = openvino.Core()
        self._config = {
            "INFERENCE_PRECISION_HINT": _HINTS[self.dtype],
            "INFERENCE_NUM_THREADS": str(threads),
            "PERFORMANCE_HINT": "LATENCY",
            "ENABLE_CPU_PINNING": "NO",  # NDI's and ltsd's own threads share these cores
        }
        head = _Head(trained, len(tail), tail[0].input_padded) if tail else trained
        outputs = max(1, len(tail))  # the first level's input and the others' skips, or the image
        model = self._core.read_model(_onnx(head, trained.spec, outputs))
        if tail:  # hand the phase levels their inputs channels-last, as they run
            steps = openvino.preprocess.PrePostProcessor(model)
            for index in range(len(model.outputs)):
                steps.output(index).tensor().set_layout(openvino.Layout("NHWC"))
                steps.output(index).model().set_layout(openvino.Layout("NCHW"))
            model = steps.build()
        self._model = model
        self._weight_bytes = sum(4 * value.numel() for value in trained.state_dict().values())
        self._requests: dict[tuple[int, ...], object] = {}
        self._lock = threading.Lock()

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        pixels = np.ascontiguousarray(image.detach().to("cpu", torch.float32).numpy())
        with self._lock:
            request = self._requests.get(pixels.shape) or self._compile(pixels.shape)
            if not self.tail:
                return torch.from_numpy(request.infer({0: pixels}, share_inputs=True)[0])
            # shared outputs are OpenVINO's own buffers: read before the next inference
            handed = request.infer({0: pixels}, share_inputs=True, share_outputs=True)
            features, *skips = (
                torch.from_numpy(handed[index]).permute(0, 3, 1, 2).to(self.dtype)
                for index in range(len(handed))
            )
            for level, skip in zip(self.tail, [*skips, None], strict=True):
                features = level(features, skip)
            return finish(self.spec, features.float())

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


def _phase_tail(trained: UNetGenerator, precision: str) -> list[PhaseUp]:
    """The inference form's last TAIL_LEVELS decoder levels, when they are phase convolutions
    of the pix2pix layout; none when the world runs on OpenVINO whole."""
    if trained.spec.layout != "pix2pix" or len(trained.ups) <= TAIL_LEVELS:
        return []
    tail = list(for_inference(trained, precision).ups[-TAIL_LEVELS:])
    if not all(isinstance(level, PhaseUp) for level in tail):
        return []
    return tail  # type: ignore[return-value]


class _Head(nn.Module):
    """The trained generator up to its last `tail` decoder levels: returns the first of them's
    input (the ReLU of the features joined with their skip, with a one-pixel replicated border
    when `pad`), then the skips the later ones join."""

    def __init__(self, trained: UNetGenerator, tail: int, pad: bool) -> None:
        super().__init__()
        self.trained, self.tail, self.pad = trained, tail, pad

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        skips = self.trained.encode(image)
        levels = len(self.trained.ups)
        first = levels - self.tail  # decoder level k joins skips[-1 - k]
        features = self.trained.decode(skips, first)
        handed = F.relu(torch.cat([features, skips[-1 - first]], dim=1))
        if self.pad:
            handed = F.pad(handed, (1, 1, 1, 1), mode="replicate")
        return (handed, *(skips[-1 - level] for level in range(first + 1, levels)))


def _onnx(module: nn.Module, spec: GeneratorSpec, outputs: int) -> bytes:
    """`module` (a generator of `spec`, or its head) as ONNX, batch and size left open (the
    first call fixes them)."""
    buffer = io.BytesIO()
    side = max(256, 2**spec.depth)  # any size the U-Net divides
    names = ["world"] if outputs == 1 else [f"handed{index}" for index in range(outputs)]
    axes = {0: "batch", 2: "height", 3: "width"}
    with warnings.catch_warnings():  # the exporter's notes on tracing are for its developers
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(), (torch.zeros(1, spec.in_channels, side, side),), buffer,
            input_names=["image"], output_names=names,
            dynamic_axes={name: axes for name in ["image", *names]}, dynamo=False,
        )  # fmt: skip
    return buffer.getvalue()
