from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from ltsd.generator import GeneratorSpec, UNetGenerator
from ltsd.inference import FoldedConv, PhaseUp, for_inference, precision_problem
from ltsd.modelstore import load_model, load_trained

PACKING = torch.backends.mkldnn.is_available()


def trained_like(spec: GeneratorSpec, seed: int) -> UNetGenerator:
    """A U-Net in eval mode whose batch norms have non-trivial statistics and affine terms, as
    after training, so folding them is really exercised."""
    torch.manual_seed(seed)
    generator = UNetGenerator(spec)
    with torch.no_grad():
        for module in generator.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.2, 3.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.3, 0.3)
    return generator.eval().to(memory_format=torch.channels_last)


HALF_CHROMA = GeneratorSpec(1, 3, 4, 16, 6, "nearest", "reflect", chroma="half")


@pytest.mark.parametrize(
    ("spec", "side"),
    [
        (
            GeneratorSpec(
                1, 3, ngf=8, max_channels=128, depth=8, upsample="nearest", padding="reflect"
            ),
            256,
        ),  # the shipped worlds
        (GeneratorSpec(1, 3, ngf=8, max_channels=128, depth=8), 256),  # their first architecture
        (GeneratorSpec(3, 3, ngf=4, max_channels=16, depth=6, upsample="nearest"), 64),
        (
            GeneratorSpec(
                1, 3, ngf=4, max_channels=16, depth=5, upsample="nearest", padding="reflect"
            ),
            32,
        ),  # a 1×1 bottleneck, reflected
        (GeneratorSpec(3, 3, ngf=4, max_channels=16, depth=6), 64),
        (GeneratorSpec(1, 1, ngf=6, max_channels=24, depth=3), 32),
        (HALF_CHROMA, 64),  # colour at half resolution
        (GeneratorSpec(3, 3, ngf=4, max_channels=16, depth=5, layout="keras", chroma="half"), 32),
    ],
)
def test_inference_form_computes_what_the_trained_generator_does(spec, side):
    trained = trained_like(spec, seed=side)
    live = for_inference(trained)
    image = torch.rand(1, spec.in_channels, side, side).mul(2).sub(1)
    image = image.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        expected = trained(image.clone())
        packed = live(image.clone())
    plain = live(image.clone())  # outside inference mode: the plain convolutions
    assert packed.shape == expected.shape == (1, spec.out_channels, side, side)
    assert (packed - expected).abs().max() < 1e-4
    assert (plain - expected).abs().max() < 1e-4


@pytest.mark.skipif(not PACKING, reason="torch built without oneDNN")
def test_every_convolution_runs_packed_on_this_cpu():
    live = for_inference(trained_like(GeneratorSpec(1, 3, ngf=4, max_channels=16, depth=6), 1))
    with torch.inference_mode():
        live(torch.zeros(1, 1, 64, 64))
    convolutions = [m for m in live.modules() if isinstance(m, FoldedConv)]
    assert len(convolutions) == 12
    assert all(conv.packed_bytes() > 0 for conv in convolutions)
    assert live.memory_bytes() > 2 * sum(b.numel() * 4 for b in live.buffers() if b.dim() == 4)


def test_a_new_input_shape_is_packed_again_and_stays_right():
    trained = trained_like(GeneratorSpec(1, 3, ngf=4, max_channels=16, depth=6), 2)
    live = for_inference(trained)
    with torch.inference_mode():
        for batch, side in [(1, 64), (3, 64), (1, 128), (1, 64)]:
            image = torch.rand(batch, 1, side, side) * 2 - 1
            assert (live(image) - trained(image)).abs().max() < 1e-4


@pytest.mark.parametrize("edge", ["zeros", "replicate"])
def test_phase_convolution_is_the_transposed_convolution_joined_relud_and_padded(edge):
    """A PhaseUp against what it replaces: the transposed convolution (on the replicate-padded
    input, when its world reflects), its ReLU joined with the skip's, and the border the next
    level pads on — or, last, 2·sigmoid − 1 of it. Odd sizes and a batch of two."""
    torch.manual_seed(3)
    weight, bias = torch.randn(5, 3, 4, 4), torch.randn(3)
    image, skip = torch.randn(2, 5, 9, 7), torch.randn(2, 4, 18, 14)
    padding = {"padding": 3, "edge": "replicate"} if edge == "replicate" else {}
    padded = F.pad(image, (1, 1, 1, 1), mode="replicate") if padding else image
    transposed = F.conv_transpose2d(padded, weight, bias, stride=2, padding=3 if padding else 1)
    joined = F.relu(torch.cat([transposed, skip], dim=1))
    if padding:
        joined = F.pad(joined, (1, 1, 1, 1), mode="replicate")
    level = FoldedConv(weight, bias, transposed=True, **padding)
    last = FoldedConv(weight, bias, transposed=True, activation="sigmoid", **padding)
    with torch.inference_mode():
        got = PhaseUp(level, input_padded=False, pad_output=bool(padding))(image, skip)
        image_out = PhaseUp(last, input_padded=False, pad_output=False)(image)
        from_padded = PhaseUp(level, input_padded=True, pad_output=False)(padded, skip)
    assert got.shape == joined.shape
    assert (got - joined).abs().max() < 1e-5
    assert (image_out - (2 * torch.sigmoid(transposed) - 1)).abs().max() < 1e-5
    if padding:  # its input arrived with the border on: the same result without one
        assert (from_padded - joined[..., 1:-1, 1:-1]).abs().max() < 1e-5


def test_loaded_model_is_the_inference_form_of_the_file():
    path = Path(__file__).parents[1] / "models" / "flowers.safetensors"
    loaded = load_model(path)
    _, trained = load_trained(path)
    image = torch.rand(1, 1, 256, 256) * 2 - 1
    with torch.inference_mode():
        assert (loaded.generator(image) - trained(image)).abs().max() < 1e-4


def test_bf16_computes_the_same_world_within_a_level_or_two():
    path = Path(__file__).parents[1] / "models" / "clouds.safetensors"
    fp32, bf16 = load_model(path), load_model(path, precision="bf16")
    assert (fp32.precision, bf16.precision) == ("fp32", "bf16")
    image = torch.rand(1, 1, 256, 256) * 2 - 1
    with torch.inference_mode():
        reference, got = fp32.generator(image), bf16.generator(image)
    assert got.dtype == torch.float32 and got.shape == reference.shape
    levels = (got - reference).abs() * 127.5
    assert 0 < levels.mean() < 1.0 and levels.max() < 4.0
    if PACKING and precision_problem("bf16", torch.device("cpu")) is None:  # packed in bf16 too
        convolutions = [m for m in bf16.generator.modules() if isinstance(m, FoldedConv)]
        assert all(conv.packed_bytes() > 0 for conv in convolutions)


def test_bf16_on_a_cpu_without_it_is_refused_in_one_line(monkeypatch):
    assert precision_problem("fp32", torch.device("cpu")) is None
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    problem = precision_problem("bf16", torch.device("cpu"))
    assert problem is not None and problem.startswith("model.precision: bf16 needs")
    assert "\n" not in problem


def test_auto_precision_is_bf16_only_where_the_cpu_computes_it(monkeypatch):
    from ltsd.daemon import pick_precision
    from ltsd.errors import ConfigError

    cpu = torch.device("cpu")
    native = precision_problem("bf16", cpu) is None
    assert pick_precision("auto", cpu) == ("bf16" if native else "fp32")
    assert pick_precision("fp32", cpu) == "fp32"
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    assert pick_precision("auto", cpu) == "fp32"
    with pytest.raises(ConfigError, match="model.precision: bf16 needs"):
        pick_precision("bf16", cpu)
