"""The generator as it runs live: a trained U-Net rewritten for inference, same function.

Each rewrite is exact up to float rounding and each is measured (docs/performance.md):
- every batch norm is folded into the convolution before it (eval mode makes it a per-channel
  scale and shift), so each feature map is written once, not twice;
- each encoder level's leaky ReLU is computed by its convolution (a oneDNN post-op) as it writes,
  not by a pass of its own: the decoder reads the same maps through a ReLU, and
  relu(leaky_relu(x)) == relu(x);
- the final tanh becomes 2·sigmoid(2x) − 1, the same function, with the 2x folded into the last
  layer's weights (torch's CPU sigmoid is about three times faster than its tanh);
- the outer decoder levels (`PHASE_LEVELS`, the last among them) run as phase convolutions
  (`PhaseUp`): a 4×4 stride-2 transposed convolution is one 2×2 convolution to its four output
  phases, read back interleaved — straight into the next level's input, with the ReLU, the
  concatenated skip and the next level's border in the same writes, so no concatenation,
  activation or padding pass follows. On few output channels oneDNN's transposed convolution
  leaves most of the CPU's vector lanes empty; four times the channels fill them;
- on a CPU with oneDNN, each convolution's weights are packed once into oneDNN's blocked layout
  for the input shape it sees, instead of on every call: most of the cost of the U-Net's small
  inner layers was that reordering.
A resize-convolution level becomes the transposed convolution it equals
(`ltsd.generator.nearest_as_transposed`); with reflect padding, its input is first padded by one
replicated pixel, which is what reflecting the upsampled image does at its border.
The packed path uses torch's oneDNN ops (`torch.ops.mkldnn`, what torch.compile's CPU backend
calls). Each layer checks its first packed result against the plain convolution and keeps the
plain one if they differ or the ops are missing, so another torch can only make it slower.

`precision` "bf16" runs the same form in bfloat16 (weights and activations; the image comes back
as float32): for CPUs with AVX-512 BF16 or AMX, and GPUs. Its speed and error are measured
(`ltsd bench --peers`, docs/performance.md); fp32 stays the default, the reference picture.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ltsd.errors import first_line
from ltsd.generator import (
    GeneratorSpec,
    ResizeConv,
    UNetGenerator,
    finish,
    nearest_as_transposed,
)

log = logging.getLogger(__name__)

_DILATION = [1, 1]
# a sub-pixel phase → the 4×4 transposed kernel's rows for its 2×2 window's two rows; columns alike
_PHASE_TAPS = {0: (3, 1), 1: (2, 0)}
# the outermost decoder levels run as PhaseUps: there the transposed convolution has many pixels
# and few output channels (measured at 256², ngf 8: the last three levels, docs/performance.md)
PHASE_LEVELS = 3
PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16}


class FoldedConv(nn.Module):
    """A convolution (or transposed convolution) with its batch norm folded in.

    The U-Net's are 4×4 with stride 2: (B, C_in, H, W) → (B, C_out, H/2, W/2), or (2H, 2W) when
    transposed. `edge` "reflect" or "replicate" pads the input by one pixel that way first (then
    `padding` is the convolution's own, on the padded input). `activation` ("sigmoid", "relu",
    or "leaky_relu" with `slope`) is applied to the result (fused in when packed).
    """

    def __init__(
        self,
        weight: torch.Tensor,
        bias: torch.Tensor,
        transposed: bool,
        stride: int = 2,
        activation: str = "none",
        padding: int = 1,
        edge: str = "zeros",
        slope: float = 0.2,
    ) -> None:
        super().__init__()
        self.register_buffer("weight", weight.detach().clone())
        self.register_buffer("bias", bias.detach().clone())
        self.transposed = transposed
        self.stride, self.padding = [stride, stride], [padding, padding]
        self.edge = edge
        self.activation = activation
        self._scalars = [slope] if activation == "leaky_relu" else []
        self._packed: torch.Tensor | None = None
        self._packed_for: tuple[int, ...] | None = None
        self._packing = _packing_available()

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if self.edge != "zeros":
            features = F.pad(features, (1, 1, 1, 1), mode=self.edge)
        if self._packing and features.device.type == "cpu" and not torch.is_grad_enabled():
            if self._packed_for != tuple(features.shape):
                self._pack(features)
            if self._packed is not None:
                return self._packed_call(features)
        return self._plain_call(features)

    def packed_bytes(self) -> int:
        """What oneDNN's packed copy of the weights takes (0 before packing or when plain)."""
        packed = self._packed
        return 0 if packed is None else packed.numel() * packed.element_size()

    def _plain_call(self, features: torch.Tensor) -> torch.Tensor:
        if self.transposed:
            out = F.conv_transpose2d(features, self.weight, self.bias, self.stride, self.padding)
        else:
            out = F.conv2d(features, self.weight, self.bias, self.stride, self.padding)
        if self.activation == "sigmoid":
            return torch.sigmoid(out)
        if self.activation == "relu":
            return F.relu(out)
        if self.activation == "leaky_relu":
            return F.leaky_relu(out, self._scalars[0])
        return out

    def _packed_call(self, features: torch.Tensor) -> torch.Tensor:
        mkldnn = torch.ops.mkldnn
        if self.transposed:
            return mkldnn._convolution_transpose_pointwise(
                features, self._packed, self.bias, self.padding, [0, 0], self.stride, _DILATION, 1,
                self.activation, self._scalars, "",
            )  # fmt: skip
        return mkldnn._convolution_pointwise(
            features, self._packed, self.bias, self.padding, self.stride, _DILATION, 1,
            self.activation, self._scalars, "",
        )  # fmt: skip

    def _pack(self, features: torch.Tensor) -> None:
        """Pack the weights for this input shape; keep the plain call if the packed one is not
        the same convolution (another torch, another CPU)."""
        shape = list(features.shape)
        self._packed_for = tuple(shape)
        try:
            mkldnn = torch.ops.mkldnn
            if self.transposed:
                self._packed = mkldnn._reorder_convolution_transpose_weight(
                    self.weight, self.padding, [0, 0], self.stride, _DILATION, 1, shape
                )
            else:
                self._packed = mkldnn._reorder_convolution_weight(
                    self.weight, self.padding, self.stride, _DILATION, 1, shape
                )
            # the same sums in another order: a few units in the last place (bfloat16's is 2⁻⁷)
            slack = 4 * torch.finfo(features.dtype).eps
            same = torch.allclose(
                self._packed_call(features), self._plain_call(features),
                rtol=max(1e-3, slack), atol=max(1e-4, slack),
            )  # fmt: skip
        except (AttributeError, RuntimeError) as error:
            same, reason = False, first_line(error)
        else:
            reason = "its result differs from the plain convolution"
        if not same:
            self._packed, self._packing = None, False
            _report_plain_fallback(reason)


class PhaseUp(nn.Module):
    """A folded 4×4, stride-2 transposed convolution as one 2×2 convolution to its four phases.

    Output pixel (2i + a, 2j + b) of the transposed convolution sums a 2×2 window of the input
    padded by one — rows i + a and i + a + 1, columns j + b and j + b + 1 — with the two kernel
    taps per axis that phase (a, b) picks (`_PHASE_TAPS`). One 2×2 convolution over the padded
    input, with the four phases' kernels as four groups of output channels, computes every window
    for every phase: a grid of (H + 1) × (W + 1); phase (a, b) is the grid shifted by (a, b).
    The same multiply-adds as the transposed convolution, give or take a row and a column.

    forward(features, skip) interleaves the phases (ReLU'd by the convolution) and relu(skip) side
    by side into the next level's input, with its one-pixel replicated border when `pad_output`;
    without a skip (the last level) it writes the image, 2·sigmoid − 1 of the result.
    `input_padded`: the input arrives with its border already (from a PhaseUp before it).
    """

    def __init__(self, transposed: FoldedConv, input_padded: bool, pad_output: bool) -> None:
        super().__init__()
        in_channels, out_channels = transposed.weight.shape[:2]
        kernel = transposed.weight.new_zeros(2, 2, out_channels, in_channels, 2, 2)
        for a, rows in _PHASE_TAPS.items():
            for b, columns in _PHASE_TAPS.items():
                for row, kernel_row in enumerate(rows):
                    for column, kernel_column in enumerate(columns):
                        kernel[a, b, :, :, row, column] = transposed.weight[
                            :, :, kernel_row, kernel_column
                        ].t()
        self.out_channels = out_channels
        self.input_padded = input_padded
        self.pad_output = pad_output
        pads_itself = transposed.edge != "zeros" and not input_padded
        self.conv = FoldedConv(
            kernel.reshape(4 * out_channels, in_channels, 2, 2),
            transposed.bias.repeat(4),  # channel (a, b, c) takes bias c
            transposed=False,
            stride=1,
            activation="relu" if transposed.activation == "none" else transposed.activation,
            padding=1 if transposed.edge == "zeros" else 0,
            edge=transposed.edge if pads_itself else "zeros",
        )
        self.register_buffer("minus_one", torch.tensor(-1.0), persistent=False)

    def forward(self, features: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        # every view is one as_strided from the strides (slicing chains cost more than the
        # copies at the inner sizes): the phases of the grid, their places in `out`, its border
        grid = self.conv(features)  # (B, 4 C, H + 1, W + 1), any memory format
        batch, height, width = grid.shape[0], grid.shape[2] - 1, grid.shape[3] - 1
        channels, border = self.out_channels, int(self.pad_output)
        joined = channels + (0 if skip is None else skip.shape[1])
        rows, columns = 2 * height + 2 * border, 2 * width + 2 * border
        out = grid.new_empty(batch, rows, columns, joined)  # (B, H', W', C') channels-last
        image, row = rows * columns * joined, columns * joined  # out's strides
        by_batch, by_channel, by_row, by_column = grid.stride()
        start = grid.storage_offset()
        for a in (0, 1):
            for b in (0, 1):
                phase = grid.as_strided(
                    (batch, height, width, channels), (by_batch, by_row, by_column, by_channel),
                    start + a * by_row + b * by_column + (2 * a + b) * channels * by_channel,
                )  # fmt: skip
                place = out.as_strided((batch, height, width, channels),
                                       (image, 2 * row, 2 * joined, 1),
                                       (border + a) * row + (border + b) * joined)  # fmt: skip
                if skip is None:
                    torch.add(self.minus_one, phase, alpha=2.0, out=place)  # 2·sigmoid − 1
                else:
                    place.copy_(phase)
        if skip is not None:
            at = border * (row + joined) + channels
            beside = out.as_strided(
                (batch, 2 * height, 2 * width, skip.shape[1]), (image, row, joined, 1), at
            )
            torch.clamp_min(skip.permute(0, 2, 3, 1), 0.0, out=beside)
        if border:  # what F.pad(mode="replicate") writes: rows, then whole columns
            line = (batch, columns - 2, joined), (image, joined, 1)
            for to, source in ((0, 1), (rows - 1, rows - 2)):
                out.as_strided(*line, to * row + joined).copy_(
                    out.as_strided(*line, source * row + joined)
                )
            side = (batch, rows, joined), (image, row, 1)
            for to, source in ((0, 1), (columns - 1, columns - 2)):
                out.as_strided(*side, to * joined).copy_(out.as_strided(*side, source * joined))
        return out.permute(0, 3, 1, 2)


class TransposedUp(nn.Module):
    """An inner decoder level as a transposed convolution (oneDNN's is as fast as a PhaseUp on
    many channels and few pixels), then the ReLU of it joined with the skip."""

    def __init__(self, level: nn.Module) -> None:
        super().__init__()
        self.level = level

    def forward(self, features: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return F.relu_(torch.cat([self.level(features), skip], dim=1))


class InferenceGenerator(nn.Module):
    """A UNetGenerator's function, for inference only: (B, in, H, W) in [-1, 1] → (B, out, H, W)
    in [-1, 1]. Build it from a trained generator with `for_inference`."""

    def __init__(self, spec: GeneratorSpec, downs: list[nn.Module], ups: list[nn.Module]) -> None:
        super().__init__()
        self.spec = spec
        self.downs = nn.ModuleList(downs)
        self.ups = nn.ModuleList(ups)

    @property
    def dtype(self) -> torch.dtype:
        """What it computes in (`precision`); it takes and gives float32 images either way."""
        return next(self.buffers()).dtype

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        skips = self._encode(image)
        features = F.relu(skips[-1])
        for up, skip in zip(self.ups, [*reversed(skips[:-1]), None], strict=True):
            features = up(features, skip)
        return finish(self.spec, features.float())

    def _encode(self, image: torch.Tensor) -> list[torch.Tensor]:
        """Each encoder level's output, leaky-ReLU'd as it is written."""
        skips = [self.downs[0](image.to(self.dtype))]
        for down in self.downs[1:]:
            skips.append(down(skips[-1]))
        return skips

    def memory_bytes(self) -> int:
        """What the weights take on the device, oneDNN's packed copies included."""
        weights = sum(t.numel() * t.element_size() for t in self.buffers())
        return weights + sum(m.packed_bytes() for m in self.modules() if isinstance(m, FoldedConv))


class KerasInferenceGenerator(InferenceGenerator):
    """The keras layout's function: the activation after each folded level, not before, and the
    skips joined as they are (leaky), so only the last level is a PhaseUp."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        skips = self._encode(image)
        features = F.relu_(self.ups[0](skips[-1]))
        for up, skip in zip(self.ups[1:-1], reversed(skips[1:-1]), strict=True):
            features = F.relu_(up(torch.cat([features, skip], dim=1)))
        return finish(self.spec, self.ups[-1](torch.cat([features, skips[0]], dim=1)).float())


def for_inference(generator: UNetGenerator, precision: str = "fp32") -> InferenceGenerator:
    """The eval-mode function of `generator`, rewritten as the module docstring says; on the
    generator's device and memory format, computing in `precision` (a PRECISIONS key)."""
    reflect = generator.spec.padding == "reflect"
    slope = generator.spec.leaky_slope if generator.spec.layout == "keras" else 0.2
    down_edge = {"padding": 0, "edge": "reflect"} if reflect else {}
    # reflecting a ×2 nearest-upsampled image by one pixel = replicating its input by one pixel
    up_edge = {"padding": 3, "edge": "replicate"} if reflect else {}
    downs = [_level(level, False, activation="leaky_relu", slope=slope, **down_edge)
             for level in generator.downs]  # fmt: skip
    inner = [_level(level, True, **up_edge) for level in generator.ups[:-1]]
    weight, bias = _folded(generator.ups[-1], transposed=True)
    # tanh(x) = 2·sigmoid(2x) − 1: the 2x goes into the weights, the rest into PhaseUp
    last = FoldedConv(weight * 2.0, bias * 2.0, transposed=True, activation="sigmoid", **up_edge)
    if generator.spec.layout == "keras":
        ups: list[nn.Module] = [*inner, PhaseUp(last, input_padded=False, pad_output=False)]
    else:
        ups = _decoder(inner, last, reflect)
    first = next(generator.downs[0].parameters())
    memory_format = (
        torch.channels_last
        if first.is_contiguous(memory_format=torch.channels_last)
        else torch.contiguous_format
    )
    kind = KerasInferenceGenerator if generator.spec.layout == "keras" else InferenceGenerator
    live = kind(generator.spec, downs, ups).to(PRECISIONS[precision], memory_format=memory_format)
    return live.eval()


def precision_problem(precision: str, device: torch.device) -> str | None:
    """Why `precision` cannot run on `device` (one line), or None when it can."""
    if precision == "bf16" and device.type == "cpu" and not _cpu_has_bf16():
        return ("model.precision: bf16 needs a CPU with AVX-512 BF16 or AMX (this one has "
                "neither: it would run emulated, several times slower); use fp32")  # fmt: skip
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported(False):
        return (f"model.precision: bf16 needs a GPU that computes it natively (Ampere or newer; "
                f"{torch.cuda.get_device_name(device)} does not); use fp32")  # fmt: skip
    return None


def _cpu_has_bf16() -> bool:
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    return bool(check and check())


def _decoder(inner: list[nn.Module], last: FoldedConv, reflect: bool) -> list[nn.Module]:
    """The pix2pix decoder: the outer PHASE_LEVELS as PhaseUps (the last always; a level with an
    instance norm never, as the norm cannot follow the phases), each handing the next its input
    with the border already on; the rest as TransposedUps."""
    levels: list[nn.Module] = [*inner, last]
    phased = [
        index == len(levels) - 1 or (index >= len(levels) - PHASE_LEVELS and
                                     isinstance(level, FoldedConv))
        for index, level in enumerate(levels)
    ]  # fmt: skip
    for index in range(len(levels) - 2, -1, -1):  # phases run outward without a gap
        phased[index] = phased[index] and phased[index + 1]
    ups: list[nn.Module] = []
    for index, level in enumerate(levels):
        if not phased[index]:
            ups.append(TransposedUp(level))
            continue
        padded = reflect and index > 0 and phased[index - 1]
        hands_on = reflect and index < len(levels) - 1  # the next is phased too
        assert isinstance(level, FoldedConv)
        ups.append(PhaseUp(level, input_padded=padded, pad_output=hands_on))
    return ups


class InstanceNormalised(nn.Module):
    """A convolution followed by instance normalisation (no learnt parameters), which depends
    on each image and so cannot be folded into the weights; then the level's activation."""

    def __init__(self, conv: FoldedConv, eps: float, activation: str, slope: float) -> None:
        super().__init__()
        self.conv = conv
        self.eps = eps
        self.activation = activation
        self.slope = slope

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        normalised = F.instance_norm(self.conv(features), eps=self.eps)
        if self.activation == "leaky_relu":
            return F.leaky_relu_(normalised, self.slope)
        return normalised


def _level(
    level: nn.Module, transposed: bool, activation: str = "none", slope: float = 0.2, **edge: Any
) -> nn.Module:
    """One U-Net level as it runs: its convolution with a batch norm folded in, or followed by
    its instance norm; then `activation`."""
    layers = list(level) if isinstance(level, nn.Sequential) else [level]
    norms = [layer for layer in layers if isinstance(layer, nn.InstanceNorm2d)]
    weight, bias = _folded(level, transposed)
    if norms:
        conv = FoldedConv(weight, bias, transposed=transposed, **edge)
        return InstanceNormalised(conv, norms[0].eps, activation, slope)
    return FoldedConv(weight, bias, transposed=transposed, activation=activation, slope=slope,
                      **edge)  # fmt: skip


def _folded(level: nn.Module, transposed: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) of one U-Net level's convolution with the batch norm after it (if any)
    folded in; a decoder level's as a transposed convolution's, resize-convolutions included."""
    layers = list(level) if isinstance(level, nn.Sequential) else [level]
    convolutions = nn.Conv2d | nn.ConvTranspose2d | ResizeConv
    conv = next(layer for layer in layers if isinstance(layer, convolutions))
    weight = conv.weight.detach()
    if isinstance(conv, ResizeConv):
        weight = nearest_as_transposed(weight)
    out_channels = weight.shape[1] if transposed else weight.shape[0]
    bias = conv.bias.detach() if conv.bias is not None else weight.new_zeros(out_channels)
    norms = [layer for layer in layers if isinstance(layer, nn.BatchNorm2d)]
    if norms:
        norm = norms[0]
        scale = norm.weight.detach() / torch.sqrt(norm.running_var + norm.eps)
        weight = weight * scale.view((1, -1, 1, 1) if transposed else (-1, 1, 1, 1))
        bias = (bias - norm.running_mean) * scale + norm.bias.detach()
    return weight, bias


_fallback_reported: list[str] = []


def _report_plain_fallback(reason: str) -> None:
    """Say once per process, not once per layer, that the packed path is off."""
    if not _fallback_reported:
        _fallback_reported.append(reason)
        log.warning("oneDNN packed convolutions not used (%s): plain convolutions instead", reason)


def _packing_available() -> bool:
    mkldnn = torch.ops.mkldnn
    return torch.backends.mkldnn.is_available() and hasattr(mkldnn, "_convolution_pointwise")
