"""The generator as it runs live: a trained U-Net rewritten for inference, same function.

Four rewrites, each exact up to float rounding and each measured (docs/performance.md), plus one
that makes resize-convolution decoders (`upsample: nearest`) run as transposed convolutions:
- every batch norm is folded into the convolution before it (eval mode makes it a per-channel
  scale and shift), so each feature map is written once, not twice;
- the final tanh becomes 2·sigmoid(2x) − 1, the same function, with the 2x folded into the last
  layer's weights (torch's CPU sigmoid is about three times faster than its tanh);
- the last layer's transposed convolution becomes a 3×3 convolution to four times the channels and
  a pixel shuffle, the same sums in another order: with three output channels, oneDNN's transposed
  convolution was the slowest layer of the network, its plain convolution is not;
- on a CPU with oneDNN, each convolution's weights are packed once into oneDNN's blocked layout
  for the input shape it sees, instead of on every call: most of the cost of the U-Net's small
  inner layers was that reordering.
A resize-convolution level becomes the transposed convolution it equals
(`ltsd.generator.nearest_as_transposed`); with reflect padding, its input is first padded by one
replicated pixel, which is what reflecting the upsampled image does at its border.
The packed path uses torch's oneDNN ops (`torch.ops.mkldnn`, what torch.compile's CPU backend
calls). Each layer checks its first packed result against the plain convolution and keeps the
plain one if they differ or the ops are missing, so another torch can only make it slower.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ltsd.errors import first_line
from ltsd.generator import GeneratorSpec, ResizeConv, UNetGenerator, nearest_as_transposed

log = logging.getLogger(__name__)

_DILATION = [1, 1]
# a sub-pixel phase → {row of its 3×3 kernel: row of the 4×4 transposed kernel}; columns alike
_TAPS = {0: {0: 3, 1: 1}, 1: {1: 2, 2: 0}}


class FoldedConv(nn.Module):
    """A convolution (or transposed convolution) with its batch norm folded in.

    The U-Net's are 4×4 with stride 2: (B, C_in, H, W) → (B, C_out, H/2, W/2), or (2H, 2W) when
    transposed. `edge` "reflect" or "replicate" pads the input by one pixel that way first (then
    `padding` is the convolution's own, on the padded input). `activation` "sigmoid" is applied
    to the result (fused in when packed).
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
    ) -> None:
        super().__init__()
        self.register_buffer("weight", weight.detach().clone())
        self.register_buffer("bias", bias.detach().clone())
        self.transposed = transposed
        self.stride, self.padding = [stride, stride], [padding, padding]
        self.edge = edge
        self.activation = activation
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
        return torch.sigmoid(out) if self.activation == "sigmoid" else out

    def _packed_call(self, features: torch.Tensor) -> torch.Tensor:
        mkldnn = torch.ops.mkldnn
        if self.transposed:
            return mkldnn._convolution_transpose_pointwise(
                features, self._packed, self.bias, self.padding, [0, 0], self.stride, _DILATION, 1,
                self.activation, [], "",
            )  # fmt: skip
        return mkldnn._convolution_pointwise(
            features, self._packed, self.bias, self.padding, self.stride, _DILATION, 1,
            self.activation, [], "",
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
            same = torch.allclose(
                self._packed_call(features), self._plain_call(features), rtol=1e-3, atol=1e-4
            )
        except (AttributeError, RuntimeError) as error:
            same, reason = False, first_line(error)
        else:
            reason = "its result differs from the plain convolution"
        if not same:
            self._packed, self._packing = None, False
            _report_plain_fallback(reason)


class SubPixelConv(nn.Module):
    """A folded 4×4, stride-2 transposed convolution as a 3×3 convolution and a pixel shuffle.

    Output pixel (2i + a, 2j + b) of the transposed convolution sums input pixels i−1..i+1,
    j−1..j+1 with two of the four kernel taps per axis, picked by the phase (a, b): each phase is
    a 3×3 kernel with zeros, and the four phases are four groups of output channels.
    (B, C_in, H, W) → (B, C_out, 2H, 2W), channels-last in memory.
    """

    def __init__(self, transposed: FoldedConv) -> None:
        super().__init__()
        in_channels, out_channels = transposed.weight.shape[:2]
        kernel = transposed.weight.new_zeros(2, 2, out_channels, in_channels, 3, 3)
        for a, rows in _TAPS.items():
            for b, columns in _TAPS.items():
                for row, kernel_row in rows.items():
                    for column, kernel_column in columns.items():
                        kernel[a, b, :, :, row, column] = transposed.weight[
                            :, :, kernel_row, kernel_column
                        ].t()
        self.out_channels = out_channels
        padded = transposed.edge != "zeros"  # then its input arrives with the 1-pixel border
        self.conv = FoldedConv(
            kernel.reshape(4 * out_channels, in_channels, 3, 3),
            transposed.bias.repeat(4),  # channel (a, b, c) takes bias c
            transposed=False,
            stride=1,
            activation=transposed.activation,
            padding=0 if padded else 1,
            edge=transposed.edge,
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        phases = self.conv(features)
        batch, _, height, width = phases.shape
        channels = self.out_channels
        out = phases.new_empty(batch, 2 * height, 2 * width, channels)
        by_phase = phases.permute(0, 2, 3, 1).reshape(batch, height, width, 2, 2, channels)
        out.view(batch, height, 2, width, 2, channels).copy_(by_phase.permute(0, 1, 3, 2, 4, 5))
        return out.permute(0, 3, 1, 2)


class InferenceGenerator(nn.Module):
    """A UNetGenerator's function, for inference only: (B, in, H, W) in [-1, 1] → (B, out, H, W)
    in [-1, 1]. Build it from a trained generator with `for_inference`."""

    def __init__(self, spec: GeneratorSpec, downs: list[nn.Module], ups: list[nn.Module]) -> None:
        super().__init__()
        self.spec = spec
        self.downs = nn.ModuleList(downs)
        self.ups = nn.ModuleList(ups)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        skips = [self.downs[0](image)]
        for down in self.downs[1:]:
            # in place, as the U-Net does: a skip is only ever read again through a ReLU,
            # and relu(leaky_relu(x)) == relu(x)
            skips.append(down(F.leaky_relu_(skips[-1], 0.2)))
        features = self.ups[0](F.relu(skips[-1]))
        for up, skip in zip(self.ups[1:], reversed(skips[:-1]), strict=True):
            features = up(F.relu_(torch.cat([features, skip], dim=1)))
        return features.mul_(2.0).sub_(1.0)  # 2·sigmoid(2x) − 1 == tanh(x)

    def memory_bytes(self) -> int:
        """What the weights take on the device, oneDNN's packed copies included."""
        weights = sum(t.numel() * t.element_size() for t in self.buffers())
        return weights + sum(m.packed_bytes() for m in self.modules() if isinstance(m, FoldedConv))


class KerasInferenceGenerator(InferenceGenerator):
    """The keras layout's function: the activation after each folded level, not before."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        slope = self.spec.leaky_slope
        skips = [F.leaky_relu_(self.downs[0](image), slope)]
        for down in self.downs[1:]:
            skips.append(F.leaky_relu_(down(skips[-1]), slope))
        features = F.relu_(self.ups[0](skips[-1]))
        for up, skip in zip(self.ups[1:-1], reversed(skips[1:-1]), strict=True):
            features = F.relu_(up(torch.cat([features, skip], dim=1)))
        features = self.ups[-1](torch.cat([features, skips[0]], dim=1))
        return features.mul_(2.0).sub_(1.0)  # 2·sigmoid(2x) − 1 == tanh(x)


def for_inference(generator: UNetGenerator) -> InferenceGenerator:
    """The eval-mode function of `generator`, rewritten as the module docstring says; on the
    generator's device and memory format."""
    reflect = generator.spec.padding == "reflect"
    down_edge = {"padding": 0, "edge": "reflect"} if reflect else {}
    # reflecting a ×2 nearest-upsampled image by one pixel = replicating its input by one pixel
    up_edge = {"padding": 3, "edge": "replicate"} if reflect else {}
    downs = [_level(level, transposed=False, **down_edge) for level in generator.downs]
    ups = [_level(level, transposed=True, **up_edge) for level in generator.ups[:-1]]
    weight, bias = _folded(generator.ups[-1], transposed=True)
    # tanh(x) = 2·sigmoid(2x) − 1: the 2x goes into the weights, the rest into forward()
    last = FoldedConv(weight * 2.0, bias * 2.0, transposed=True, activation="sigmoid", **up_edge)
    ups.append(SubPixelConv(last))
    first = next(generator.downs[0].parameters())
    memory_format = (
        torch.channels_last
        if first.is_contiguous(memory_format=torch.channels_last)
        else torch.contiguous_format
    )
    kind = KerasInferenceGenerator if generator.spec.layout == "keras" else InferenceGenerator
    return kind(generator.spec, downs, ups).to(memory_format=memory_format).eval()


class InstanceNormalised(nn.Module):
    """A convolution followed by instance normalisation (no learnt parameters), which depends
    on each image and so cannot be folded into the weights."""

    def __init__(self, conv: FoldedConv, eps: float) -> None:
        super().__init__()
        self.conv = conv
        self.eps = eps

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return F.instance_norm(self.conv(features), eps=self.eps)


def _level(level: nn.Module, transposed: bool, **edge: Any) -> nn.Module:
    """One U-Net level as it runs: its convolution with a batch norm folded in, or followed by
    its instance norm."""
    conv = FoldedConv(*_folded(level, transposed), transposed=transposed, **edge)
    layers = list(level) if isinstance(level, nn.Sequential) else [level]
    norms = [layer for layer in layers if isinstance(layer, nn.InstanceNorm2d)]
    return InstanceNormalised(conv, norms[0].eps) if norms else conv


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
