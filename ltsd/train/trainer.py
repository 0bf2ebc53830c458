"""The pix2pix training loop: U-Net generator vs PatchGAN, L1 + adversarial loss, then export.

pix2pix defaults (Isola et al. 2017): λ_L1 = 100, Adam lr 2e-4, β1 0.5, weights from N(0, 0.02).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ltsd.generator import GeneratorSpec, UNetGenerator
from ltsd.modelstore import ModelInfo, model_path, save_model
from ltsd.train.data import Degradation, load_images, make_pairs, random_crops
from ltsd.train.discriminator import patch_discriminator

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrainSettings:
    images_dir: Path
    name: str
    models_dir: Path
    resolution: int = 256
    ngf: int = 8
    max_filters: int = 128
    depth: int = 8
    ndf: int = 64
    steps: int = 2000
    minutes: float | None = None
    batch_size: int = 4
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    seed: int = 0
    l1_weight: float = 100.0
    learning_rate: float = 2e-4
    log_every: int = 50
    recipe: Degradation = field(default_factory=Degradation)


@dataclass(frozen=True, slots=True)
class TrainResult:
    path: Path
    steps: int
    l1: float
    adversarial: float


def init_weights(module: nn.Module) -> None:
    """pix2pix's initialisation: conv weights N(0, 0.02), batch-norm scales N(1, 0.02)."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def train(settings: TrainSettings) -> TrainResult:
    torch.manual_seed(settings.seed)
    rng = torch.Generator().manual_seed(settings.seed)
    images = load_images(settings.images_dir)
    recipe = settings.recipe
    in_channels = 1 if recipe.grayscale else 3
    spec = GeneratorSpec(in_channels, 3, settings.ngf, settings.max_filters, settings.depth)
    device = settings.device
    generator = UNetGenerator(spec, dropout=True).to(device)
    discriminator = patch_discriminator(in_channels + 3, settings.ndf).to(device)
    generator.apply(init_weights)
    discriminator.apply(init_weights)
    betas = (0.5, 0.999)
    g_optimizer = torch.optim.Adam(generator.parameters(), settings.learning_rate, betas=betas)
    d_optimizer = torch.optim.Adam(discriminator.parameters(), settings.learning_rate, betas=betas)
    gan_loss = nn.BCEWithLogitsLoss()
    l1_loss = nn.L1Loss()

    deadline = time.monotonic() + settings.minutes * 60 if settings.minutes else None
    started = time.monotonic()
    step = 0
    l1_avg = adversarial_avg = 0.0
    log.info("training %r on %d images, %s, %s", settings.name, len(images), spec, device)
    try:
        while step < settings.steps if deadline is None else time.monotonic() < deadline:
            targets = random_crops(images, settings.batch_size, settings.resolution, recipe, rng)
            inputs, targets = make_pairs(targets.to(device), recipe, rng)
            fakes = generator(inputs)

            d_optimizer.zero_grad(set_to_none=True)
            real_logits = discriminator(torch.cat([inputs, targets], 1))
            fake_logits = discriminator(torch.cat([inputs, fakes.detach()], 1))
            d_loss = 0.5 * (
                gan_loss(real_logits, torch.ones_like(real_logits))
                + gan_loss(fake_logits, torch.zeros_like(fake_logits))
            )
            d_loss.backward()
            d_optimizer.step()

            g_optimizer.zero_grad(set_to_none=True)
            fooled_logits = discriminator(torch.cat([inputs, fakes], 1))
            adversarial = gan_loss(fooled_logits, torch.ones_like(fooled_logits))
            l1 = l1_loss(fakes, targets)
            (adversarial + settings.l1_weight * l1).backward()
            g_optimizer.step()

            step += 1
            l1_avg = l1.item() if step == 1 else 0.98 * l1_avg + 0.02 * l1.item()
            adversarial_avg = (
                adversarial.item()
                if step == 1
                else 0.98 * adversarial_avg + 0.02 * adversarial.item()
            )
            if step % settings.log_every == 0:
                rate = step / (time.monotonic() - started)
                log.info(
                    "step %d  L1 %.4f  GAN %.3f  %.2f it/s", step, l1_avg, adversarial_avg, rate
                )
    except KeyboardInterrupt:
        log.info("interrupted at step %d; exporting what was learned", step)

    info = ModelInfo(
        name=settings.name,
        architecture=spec,
        resolution=settings.resolution,
        description=f"trained on {settings.images_dir.name} ({len(images)} images)",
        preprocessing=dataclasses.asdict(recipe),
        provenance={
            "dataset": settings.images_dir.name,
            "image_count": len(images),
            "steps": step,
            "batch_size": settings.batch_size,
            "seed": settings.seed,
            "ndf": settings.ndf,
            "l1_weight": settings.l1_weight,
            "learning_rate": settings.learning_rate,
            "final_l1": round(l1_avg, 5),
            "final_adversarial": round(adversarial_avg, 5),
            "trainer": "ltsd train",
        },
    )
    path = model_path(settings.models_dir, settings.name)
    save_model(path, generator.eval(), info)
    log.info("wrote %s", path)
    return TrainResult(path, step, l1_avg, adversarial_avg)
