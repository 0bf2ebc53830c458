"""The pix2pix U-Net generator, with its width and depth as arguments.

Same layout as the original (Isola et al. 2017; junyanz/pytorch-CycleGAN-and-pix2pix): 4×4 stride-2
convolutions down, a skip connection at every level. ngf 64 / cap 512 / depth 8 is the paper's
54.4 M-parameter generator; ngf 8 / cap 512 is the web re-make's 16.8 M one.

How the decoder goes up is the spec's `upsample`:
- "transposed": 4×4 stride-2 transposed convolutions, as in pix2pix. Their uneven overlap draws a
  checkerboard (Odena, Dumoulin & Olah 2016), which short trainings never unlearn.
- "nearest": resize-convolution, ×2 nearest upsampling then a 3×3 convolution, which cannot draw
  one. It is exactly a transposed convolution whose 4×4 kernel is made from the 3×3 one
  (`nearest_as_transposed`), and `ResizeConv` computes it that way, in training too: half the
  time of upsampling first, and the same speed as "transposed" when it runs live.
`padding` "reflect" mirrors the image at its borders instead of padding with zeros, which leaves
streaks and nested frames along the border once the grid is gone.
`chroma` "half" draws colour at half resolution, as a camera's 4:2:0 and every JPEG of the
world's photographs store it (`half_resolution_chroma`, the generator's last step, trained
through): the decoder's last level can then put detail only into brightness. "full" is
pix2pix's, and its last level painted single pixels pink, green and cyan (`ltsd.train.chroma`).
`norm` "batch" is pix2pix's default and what ltsd trains; "instance" (per-image normalisation,
no learnt parameters, convolutions with biases, as junyanz's `--norm instance`) is for imports.
`layout` "keras" is TensorFlow's pix2pix tutorial generator (for imports): the same levels and
widths, but each level is convolution → norm → activation, so skips carry LeakyReLU'd features,
the innermost level has a norm too, LeakyReLU's slope is Keras's 0.3 and batch norm's epsilon
Keras's 1e-3 (`leaky_slope`, `norm_eps`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

UPSAMPLES = ("transposed", "nearest")
PADDINGS = ("zeros", "reflect")
NORMS = ("batch", "instance")
LAYOUTS = ("pix2pix", "keras")
CHROMAS = ("full", "half")
# ITU-R 601 Y, Cb and Cr of R, G, B (Cb, Cr scaled to Y's range); the chroma rows also as a
# kernel that averages each over 2×2 pixels
YCBCR_ROWS = ((0.299, 0.587, 0.114), (-0.168736, -0.331264, 0.5), (0.5, -0.418688, -0.081312))
_CHROMA_POOL = (torch.tensor(YCBCR_ROWS[1:])[..., None, None] / 4).expand(2, 3, 2, 2).contiguous()
# one axis of a 3×3 kernel after ×2 nearest upsampling, as the four taps of a 4×4 transposed kernel
_NEAREST_TAPS = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


@dataclass(frozen=True, slots=True)
class GeneratorSpec:
    """The hyper-parameters that fix a generator's weights' shapes."""

    in_channels: int = 1
    out_channels: int = 3
    ngf: int = 64
    max_channels: int = 512
    depth: int = 8
    upsample: str = "transposed"
    padding: str = "zeros"
    norm: str = "batch"
    layout: str = "pix2pix"
    leaky_slope: float = 0.2
    norm_eps: float = 1e-5
    chroma: str = "full"

    def __post_init__(self) -> None:
        for name in ("in_channels", "out_channels", "ngf", "max_channels", "depth"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}"[:120])
        if not 2 <= self.depth <= 12:
            raise ValueError(f"depth {self.depth} is outside 2..12")
        if max(self.in_channels, self.out_channels) > 4:
            raise ValueError("in_channels and out_channels are at most 4")
        if self.upsample not in UPSAMPLES:
            raise ValueError(f"upsample {self.upsample!r} is not one of {', '.join(UPSAMPLES)}")
        if self.padding not in PADDINGS:
            raise ValueError(f"padding {self.padding!r} is not one of {', '.join(PADDINGS)}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout {self.layout!r} is not one of {', '.join(LAYOUTS)}")
        for name in ("leaky_slope", "norm_eps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
                raise ValueError(f"{name} must be a number between 0 and 1, not {value!r}"[:120])
        if self.layout == "keras" and (self.upsample, self.padding) != ("transposed", "zeros"):
            raise ValueError("the keras layout has transposed convolutions and zero padding")
        if self.chroma not in CHROMAS:
            raise ValueError(f"chroma {self.chroma!r} is not one of {', '.join(CHROMAS)}")
        if self.chroma == "half" and self.out_channels != 3:
            raise ValueError("chroma 'half' needs 3 output channels (RGB)")
        if self.norm not in NORMS:
            raise ValueError(f"norm {self.norm!r} is not one of {', '.join(NORMS)}")
        if self.padding == "reflect" and self.upsample == "transposed":
            raise ValueError("reflect padding needs upsample 'nearest'")

    def widths(self) -> list[int]:
        """Channels after each encoder level: ngf doubling per level, capped at max_channels."""
        return [min(self.ngf * 2**level, self.max_channels) for level in range(self.depth)]


class UNetGenerator(nn.Module):
    """(B, in_channels, H, W) in [-1, 1] → (B, out_channels, H, W) in [-1, 1].

    H and W must be divisible by 2**depth. Dropout (training only) follows pix2pix: on the three
    decoder levels just above the bottleneck.
    """

    def __init__(self, spec: GeneratorSpec, dropout: bool = False) -> None:
        super().__init__()
        if spec.depth < 2:
            raise ValueError("a U-Net needs depth >= 2")
        self.spec = spec
        if spec.layout == "keras":
            self.downs, self.ups = _keras_levels(spec, dropout)
            return
        widths = spec.widths()
        innermost = spec.depth - 1

        downs: list[nn.Module] = [_down(spec, spec.in_channels, widths[0])]
        for level in range(1, spec.depth):
            layers = [
                nn.LeakyReLU(0.2, inplace=True),
                _down(spec, widths[level - 1], widths[level]),
            ]
            if level != innermost:
                layers.append(_norm(spec, widths[level]))
            downs.append(nn.Sequential(*layers))

        ups: list[nn.Module] = []
        for level in range(innermost, 0, -1):
            in_width = widths[level] * (1 if level == innermost else 2)
            layers = [
                nn.ReLU(inplace=True),
                _up(spec, in_width, widths[level - 1], bias=spec.norm == "instance"),
                _norm(spec, widths[level - 1]),
            ]
            if dropout and innermost - 3 < level < innermost:
                layers.append(nn.Dropout(0.5))
            ups.append(nn.Sequential(*layers))
        ups.append(
            nn.Sequential(
                nn.ReLU(inplace=True),
                _up(spec, widths[0] * 2, spec.out_channels, bias=True),
                nn.Tanh(),
            )
        )
        self.downs = nn.ModuleList(downs)
        self.ups = nn.ModuleList(ups)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return finish(self.spec, self.decode(self.encode(image), len(self.ups)))

    def encode(self, image: torch.Tensor) -> list[torch.Tensor]:
        """Each encoder level's output, outermost first (the last is the bottleneck)."""
        skips = []
        features = image
        for down in self.downs:
            features = down(features)
            skips.append(features)
        return skips

    def decode(self, skips: list[torch.Tensor], levels: int) -> torch.Tensor:
        """The output of the first `levels` decoder levels (all of them: the image); decoder
        level k > 0 joins its input with skips[-1 - k]."""
        features = self.ups[0](skips[-1])
        for level in range(1, levels):
            features = self.ups[level](torch.cat([features, skips[-1 - level]], dim=1))
        return features


def finish(spec: GeneratorSpec, image: torch.Tensor) -> torch.Tensor:
    """The generator's last step on its decoder's image: its colour to half resolution when
    the spec says so."""
    return half_resolution_chroma(image) if spec.chroma == "half" else image


def half_resolution_chroma(image: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB in [-1, 1] with its chroma (Cb, Cr) averaged over 2×2 pixels and
    brought back bilinearly, its luma untouched: what a 4:2:0 JPEG keeps and its decoder shows.

    The pixel's own colour is taken out and the smooth one put in, through the RGB ← YCbCr
    matrix: ~0.5 ms at 256² on a 2-core CPU. The pixel's own Cb and Cr are elementwise sums: as a
    1×1 convolution, oneDNN took 3 ms for them on two threads.
    """
    image = image.contiguous()  # the generator's channels-last image: elementwise work is 3×
    height, width = image.shape[-2:]
    pool = _CHROMA_POOL.to(image)  # each 2×2 block's mean Cb, Cr in one strided convolution
    smooth = F.interpolate(F.conv2d(image, pool, stride=2), size=(height, width),
                           mode="bilinear", align_corners=False)  # fmt: skip
    red, green, blue = image.unbind(1)
    (cb_r, cb_g, cb_b), (cr_r, cr_g, cr_b) = YCBCR_ROWS[1:]
    cb = smooth[:, 0] - (cb_r * red + cb_g * green + cb_b * blue)  # smooth minus own
    cr = smooth[:, 1] - (cr_r * red + cr_g * green + cr_b * blue)
    out = torch.stack(
        [red + 1.402 * cr, green - 0.344136 * cb - 0.714136 * cr, blue + 1.772 * cb], dim=1
    )
    return out.clamp_(-1.0, 1.0)


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def nearest_as_transposed(weight: torch.Tensor) -> torch.Tensor:
    """The 4×4 stride-2 transposed-convolution kernel (in, out, 4, 4) that equals ×2 nearest
    upsampling followed by the 3×3 convolution `weight` (out, in, 3, 3), both with padding 1.

    Output row 2i sees input rows i−1, i, i (taps 0, 1, 2 of the 3×3), row 2i+1 sees i, i, i+1;
    the 4×4 kernel's taps are those sums. With reflect padding of the upsampled image the same
    kernel applies to the input padded by one replicated pixel (`ltsd.inference`).
    """
    taps = _NEAREST_TAPS.to(weight)
    return torch.einsum("ak,oikl,bl->oiab", taps, weight, taps).transpose(0, 1)


class ResizeConv(nn.Module):
    """×2 nearest upsampling, then a 3×3 convolution with padding 1 (zeros, or reflect of the
    upsampled image): (B, C_in, H, W) → (B, C_out, 2H, 2W).

    The weight is the 3×3 convolution's, (out, in, 3, 3); forward runs the transposed
    convolution it equals, which never builds the upsampled image.
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool, padding: str) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, 3, 3))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.padding = padding
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)  # nn.Conv2d's default

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        kernel = nearest_as_transposed(self.weight)
        if self.padding == "reflect":
            # reflecting the upsampled image by one pixel = replicating the input by one pixel
            padded = F.pad(features, (1, 1, 1, 1), mode="replicate")
            return F.conv_transpose2d(padded, kernel, self.bias, stride=2, padding=3)
        return F.conv_transpose2d(features, kernel, self.bias, stride=2, padding=1)


def _keras_levels(spec: GeneratorSpec, dropout: bool) -> tuple[nn.ModuleList, nn.ModuleList]:
    """TensorFlow's pix2pix generator: convolution → norm → activation at every level (no norm
    at the outermost encoder level), skips taken after the activation."""
    widths = spec.widths()
    downs = []
    for level in range(spec.depth):
        in_width = spec.in_channels if level == 0 else widths[level - 1]
        layers: list[nn.Module] = [_down(spec, in_width, widths[level])]
        if level > 0:
            layers.append(_norm(spec, widths[level]))
        layers.append(nn.LeakyReLU(spec.leaky_slope, inplace=True))
        downs.append(nn.Sequential(*layers))
    ups = []
    for level in range(spec.depth - 1, 0, -1):
        in_width = widths[level] * (1 if level == spec.depth - 1 else 2)
        up = _up(spec, in_width, widths[level - 1], bias=spec.norm == "instance")
        layers = [up, _norm(spec, widths[level - 1])]
        if dropout and level >= spec.depth - 3:
            layers.append(nn.Dropout(0.5))
        ups.append(nn.Sequential(*layers, nn.ReLU(inplace=True)))
    ups.append(nn.Sequential(_up(spec, widths[0] * 2, spec.out_channels, bias=True), nn.Tanh()))
    return nn.ModuleList(downs), nn.ModuleList(ups)


def _down(spec: GeneratorSpec, in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(
        in_channels, out_channels, kernel_size=4, stride=2, padding=1,
        bias=spec.norm == "instance", padding_mode=spec.padding,
    )  # fmt: skip


def _norm(spec: GeneratorSpec, channels: int) -> nn.Module:
    if spec.norm == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    return nn.BatchNorm2d(channels, eps=spec.norm_eps)


def _up(spec: GeneratorSpec, in_channels: int, out_channels: int, bias: bool) -> nn.Module:
    if spec.upsample == "nearest":
        return ResizeConv(in_channels, out_channels, bias, spec.padding)
    return nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1, bias=bias)
