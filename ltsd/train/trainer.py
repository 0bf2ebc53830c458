"""The pix2pix training loop: U-Net generator vs PatchGANs, then export.

pix2pix defaults (Isola et al. 2017): λ_L1 = 100, Adam lr 2e-4, β1 0.5, weights from N(0, 0.02).
Added for worlds worth watching, each cheap on a CPU:
- resize-convolution decoder with reflect padding (`ltsd.generator`): no checkerboard, no frame;
- pix2pixHD's multi-scale PatchGANs with a feature-matching loss (λ_FM = 10): two narrow
  discriminators cost less than one wide one (most of a step's time was the discriminator), and
  matching their features rewards real texture over the L1 loss's blur;
- the learning rate held, then decayed linearly to zero over the second half of `steps`;
- an exponential moving average of the generator's weights, which is what is exported and drawn
  on the sample sheets: it averages out the GAN's step-to-step flicker.
With pretrained features (the `train` extra; `ltsd.train.projected`), a Projected-GAN
discriminator on frozen EfficientNet-Lite0 features and a perceptual loss judge the world's
images as photographs, with DiffAugment so a few dozen images are not memorised. That is the
default recipe; `--no-features` trains without them (no extra needed). Optional judges of
texture, each off by default: the patch-statistics loss (`ltsd.train.texture`) and a
discriminator of the 1–4 px detail alone (`ltsd.train.fine_texture`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image
from torch import distributed, nn
from torch.nn.parallel import DistributedDataParallel

from ltsd.errors import LtsdError
from ltsd.generator import GeneratorSpec, ResizeConv, UNetGenerator
from ltsd.levels import InputLevels
from ltsd.modelstore import ModelInfo, load_trained, model_path, save_model
from ltsd.train.average import WeightAverage
from ltsd.train.checkpoint import load_checkpoint, save_checkpoint
from ltsd.train.chroma import fine_chroma_excess, fine_chroma_loss
from ltsd.train.data import Degradation, load_images, make_pairs, random_crops
from ltsd.train.discriminator import (
    MultiScaleDiscriminator,
    adversarial_loss,
    feature_matching_loss,
)
from ltsd.train.fine_texture import FineTextureJudge
from ltsd.train.projected import (
    FeatureProjector,
    ProjectedDiscriminator,
    augment,
    hinge_discriminator_loss,
    hinge_generator_loss,
    paired_augment,
    perceptual_loss,
)
from ltsd.train.steady import MAX_SHIFT, pan_consistency_loss, pan_offsets, two_views
from ltsd.train.texture import layout_loss, texture_loss

log = logging.getLogger(__name__)

# the batches that measure the exported average's batch-norm statistics at each save are drawn
# with their own seed: the training's crops, and so a resumed run, are the same as without them
STATISTICS_SEED = 104_729


@dataclass(frozen=True, slots=True)
class TrainSettings:
    images_dir: Path
    name: str
    models_dir: Path
    resolution: int = 256
    ngf: int = 8
    max_filters: int = 128
    depth: int = 8
    upsample: str = "nearest"
    padding: str = "reflect"
    chroma: str = "half"  # ltsd.generator: colour at half resolution, as the photographs have it
    ndf: int = 16
    discriminator_scales: int = 2
    steps: int | None = 2000
    minutes: float | None = None
    batch_size: int = 4
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    seed: int = 0
    l1_weight: float = 100.0
    # L1 on the images averaged over l1_scale × l1_scale pixels (1: every pixel, pix2pix's):
    # above 1 it holds layout and colour and leaves the finest bands to the other losses
    l1_scale: int = 1
    feature_matching_weight: float = 10.0
    # pretrained features (ltsd.train.projected); both 0 = the earlier recipe, no extra needed
    projected_weight: float = 1.0
    perceptual_weight: float = 2.0
    augment: bool = True
    fine_chroma_weight: float = 100.0  # ltsd.train.chroma: what removed the colour speckle
    pan_weight: float = 0.0  # ltsd.train.steady: outputs of two moved views must agree
    texture_weight: float = 0.0  # ltsd.train.texture: patch statistics at every scale
    layout_weight: float = 0.0  # ltsd.train.texture: and of the 16 px low-pass rest
    fine_texture_weight: float = 0.0  # ltsd.train.fine_texture: a judge of the 1–4 px detail
    fine_texture_learning_rate: float | None = None  # None: learning_rate, as everything else
    # photographs of what the camera will see, not of the world: only the feature discriminator
    # and the texture loss, whichever are on, judge what the generator makes of them (no target)
    camera_dir: Path | None = None
    camera_weight: float = 1.0
    # a model file whose generator this training starts from (its discriminators start fresh):
    # a world goes on learning with a new recipe or new images without its run folder
    init_from: Path | None = None
    # steps at a run's start in which only the discriminators learn: fresh ones beside a
    # trained (--init-from) generator first learn to judge it before it answers them
    discriminator_warmup: int = 0
    learning_rate: float = 2e-4
    average_decay: float = 0.999
    log_every: int = 50
    checkpoint_every: int = 500
    sample_every: int = 500
    # batches on which each save measures the average's batch-norm statistics (~10 s at ngf 16
    # on one thread); 0 keeps the statistics copied from the training generator
    statistics_batches: int = 25
    resume: bool = False
    run_dir: Path | None = None
    recipe: Degradation = field(default_factory=Degradation)


@dataclass(frozen=True, slots=True)
class TrainResult:
    path: Path
    steps: int
    l1: float
    adversarial: float
    exported: bool = True  # False on the non-zero ranks of a torchrun job


@dataclass(frozen=True, slots=True)
class Batch:
    """One step's generator inputs: the world's crops degraded (`inputs`, with `targets`; two
    views of each scene when `offsets` says how the second moved) and the camera's (no targets)."""

    inputs: torch.Tensor
    targets: torch.Tensor
    camera_inputs: torch.Tensor
    offsets: tuple[int, int] | None

    @property
    def generator_inputs(self) -> torch.Tensor:
        """What the generator sees in one batch-norm batch: the world's crops, then the camera's."""
        return torch.cat([self.inputs, self.camera_inputs])


def draw_batch(
    images: list[torch.Tensor],
    camera_images: list[torch.Tensor],
    settings: TrainSettings,
    rng: torch.Generator,
    device: torch.device,
) -> Batch:
    """A training step's crops, drawn from `rng` in a fixed order (a resumed run draws the same)."""
    recipe, size = settings.recipe, settings.resolution
    offsets = None
    if settings.pan_weight:
        wide = random_crops(images, settings.batch_size, size, recipe, rng, margin=MAX_SHIFT)
        offsets = pan_offsets(rng)
        views = two_views(wide, size, offsets).to(device)
        inputs, targets = make_pairs(views, recipe, rng, views=2)
    else:
        targets = random_crops(images, settings.batch_size, size, recipe, rng)
        inputs, targets = make_pairs(targets.to(device), recipe, rng)
    camera_inputs = inputs[:0]
    if camera_images:  # judged in the same batch-norm batch as the world's own crops
        seen = random_crops(camera_images, settings.batch_size, size, recipe, rng)
        camera_inputs, _ = make_pairs(seen.to(device), recipe, rng)
    return Batch(inputs, targets, camera_inputs, offsets)


def _load_limit(settings: TrainSettings) -> int:
    """Short side kept at load: the largest a crop's source image is ever scaled to, with room."""
    return 2 * round(settings.resolution * settings.recipe.scale_range[1])


def init_weights(module: nn.Module) -> None:
    """pix2pix's initialisation: conv weights N(0, 0.02), batch-norm scales N(1, 0.02)."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | ResizeConv):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def start_from_world(path: Path, spec: GeneratorSpec, generator: UNetGenerator) -> InputLevels:
    """Copy a model file's generator weights into `generator`; its architecture must be this
    training's (one-line error naming the fields that differ). Returns the file's input levels:
    the new world inherits them, so it plays as its parent did until they are fitted anew."""
    try:
        info, trained = load_trained(path)
    except LtsdError as error:  # a damaged file: its own one line, said to be --init-from's
        raise LtsdError(f"--init-from: {error}") from None
    if dataclasses.replace(info.architecture, chroma=spec.chroma) != spec:
        differ = ", ".join(
            f"{key} {theirs} (here {ours})"
            for key, theirs in dataclasses.asdict(info.architecture).items()
            if (ours := getattr(spec, key)) != theirs
        )
        raise LtsdError(f"--init-from: {path}: a different generator: {differ}")
    generator.load_state_dict(trained.state_dict())  # chroma has no weights: it may change
    log.info("starting from %s (%s steps, chroma %s, here %s)", path,
             info.provenance.get("steps", "?"), info.architecture.chroma, spec.chroma)  # fmt: skip
    if info.levels != InputLevels():
        log.info("carrying its input levels (brightness %+.2f, contrast ×%.2f); for photographs "
                 "of another world, fit new ones with ltsd.train.fit_levels",
                 info.levels.brightness, info.levels.contrast)  # fmt: skip
    return info.levels


def train(settings: TrainSettings) -> TrainResult:
    """Train, checkpointing every `checkpoint_every` steps; then export the model.

    With `resume`, the run folder's checkpoint restores weights, Adam moments, RNG states and the
    step, so the result is the same as an uninterrupted run. Ctrl-C checkpoints and exports.
    """
    cluster = Cluster.from_environment(settings.device)
    device = cluster.device
    torch.manual_seed(settings.seed)
    rng = torch.Generator().manual_seed(settings.seed + cluster.rank)  # each rank its own crops
    texture_rng = torch.Generator().manual_seed(settings.seed + 3 + cluster.rank)  # its patches
    recipe = settings.recipe
    in_channels = 1 if recipe.grayscale else 3
    spec = GeneratorSpec(
        in_channels, 3, settings.ngf, settings.max_filters, settings.depth,
        settings.upsample, settings.padding, chroma=settings.chroma,
    )  # fmt: skip
    generator_core = UNetGenerator(spec, dropout=True).to(device)
    discriminator_core = MultiScaleDiscriminator(
        in_channels + 3, settings.ndf, settings.discriminator_scales
    ).to(device)
    generator_core.apply(init_weights)
    discriminator_core.apply(init_weights)
    levels = InputLevels()  # the knobs alone, until a world's levels are carried or fitted
    if settings.init_from is not None and not settings.resume:
        levels = start_from_world(settings.init_from, spec, generator_core)
    average = WeightAverage(generator_core, settings.average_decay)
    # decoded after the cheap checks above, so a wrong --init-from fails at once
    images = load_images(settings.images_dir, short_side_limit=_load_limit(settings))
    camera_images = (
        load_images(settings.camera_dir, short_side_limit=_load_limit(settings))
        if settings.camera_dir is not None
        else []
    )
    generator, discriminator = cluster.wrap(generator_core), cluster.wrap(discriminator_core)
    betas = (0.5, 0.999)
    g_optimizer = torch.optim.Adam(generator.parameters(), settings.learning_rate, betas=betas)
    d_optimizer = torch.optim.Adam(discriminator.parameters(), settings.learning_rate, betas=betas)
    modules = {
        "generator": generator_core,
        "generator_average": average.module,
        "discriminator": discriminator_core,
    }
    optimizers = {"generator_optimizer": g_optimizer, "discriminator_optimizer": d_optimizer}
    judge = FeatureJudge.make(settings, cluster) if uses_features(settings) else None
    if judge is not None:
        modules["projected_discriminator"] = judge.core
        optimizers["projected_optimizer"] = judge.optimizer
    # a fresh fine-texture judge beside a trained generator may need a rate of its own to catch up
    fine_rate = settings.fine_texture_learning_rate or settings.learning_rate
    fine_judge = None
    if settings.fine_texture_weight:
        fine_judge = FineTextureJudge(device, fine_rate, wrap=cluster.wrap)
        modules["fine_texture_discriminator"] = fine_judge.core
        optimizers["fine_texture_optimizer"] = fine_judge.optimizer
    rates = {optimizer: settings.learning_rate for optimizer in optimizers.values()}
    if fine_judge is not None:
        rates[fine_judge.optimizer] = fine_rate
    l1_loss = nn.L1Loss()

    run_dir = settings.run_dir or Path("runs") / settings.name
    checkpoint = run_dir / "checkpoint.safetensors"
    step = 0
    l1_avg = adversarial_avg = 0.0
    if settings.resume:
        rng_states, progress = load_checkpoint(checkpoint, modules, optimizers)
        rng.set_state(rng_states["data"])
        if judge is not None and "augment" in rng_states:
            judge.rng.set_state(rng_states["augment"])
        if "texture" in rng_states:  # a run may gain the texture loss on resume
            texture_rng.set_state(rng_states["texture"])
        if cluster.rank:  # the checkpoint holds rank 0's crop stream; the others draw afresh
            rng.manual_seed(settings.seed + cluster.rank + 7919 * progress["step"])
        torch.set_rng_state(rng_states["torch"])
        step, l1_avg, adversarial_avg = progress["step"], progress["l1"], progress["adversarial"]
        try:  # older checkpoints have none: the knobs alone, as before
            levels = InputLevels.from_metadata(progress.get("levels", {}))
        except (TypeError, ValueError) as error:
            raise LtsdError(f"{checkpoint}: unreadable checkpoint ({error})") from None
        log.info("resumed %r at step %d from %s", settings.name, step, checkpoint)

    def model_info() -> ModelInfo:
        """What the exported file says of itself, at the step reached so far."""
        return ModelInfo(
            name=settings.name,
            architecture=spec,
            resolution=settings.resolution,
            description=f"trained on {settings.images_dir.name} ({_count(len(images), 'image')})",
            preprocessing=dataclasses.asdict(recipe),
            provenance={
                "dataset": settings.images_dir.name,
                "image_count": len(images),
                "steps": step,
                "batch_size": settings.batch_size,
                "seed": settings.seed,
                "ndf": settings.ndf,
                "discriminator_scales": settings.discriminator_scales,
                "l1_weight": settings.l1_weight,
                "l1_scale": settings.l1_scale,
                "feature_matching_weight": settings.feature_matching_weight,
                "projected_weight": settings.projected_weight if judge else 0.0,
                "perceptual_weight": settings.perceptual_weight if judge else 0.0,
                "features": "efficientnet-lite0" if judge else None,
                "diff_augment": settings.augment and judge is not None,
                "fine_chroma_weight": settings.fine_chroma_weight,
                "pan_weight": settings.pan_weight,
                "texture_weight": settings.texture_weight,
                "layout_weight": settings.layout_weight,
                "fine_texture_weight": settings.fine_texture_weight,
                "fine_texture_learning_rate": fine_rate if fine_judge else 0.0,
                "camera_images": settings.camera_dir.name if settings.camera_dir else None,
                "camera_image_count": len(camera_images),
                "camera_weight": settings.camera_weight if camera_images and judge else 0.0,
                "init_from": settings.init_from.name if settings.init_from else None,
                "discriminator_warmup": settings.discriminator_warmup,
                "statistics_batches": settings.statistics_batches,
                "average_decay": settings.average_decay,
                "learning_rate": settings.learning_rate,
                "final_l1": round(l1_avg, 5),
                "final_adversarial": round(adversarial_avg, 5),
                "trainer": "ltsd train",
            },
            levels=levels,
        )

    saved_at: int | None = None  # the step the checkpoint holds: a run ending on one saves once

    def save() -> None:
        nonlocal saved_at
        if not cluster.is_main or saved_at == step:
            return
        saved_at = step
        # the average's own batch-norm statistics (ltsd.train.average), from crops of its own
        statistics_rng = torch.Generator().manual_seed(settings.seed + STATISTICS_SEED + step)
        average.measure_statistics(
            draw_batch(images, camera_images, settings, statistics_rng, device).generator_inputs
            for _ in range(settings.statistics_batches)
        )
        rng_states = {"data": rng.get_state(), "torch": torch.get_rng_state()}
        if settings.texture_weight or settings.layout_weight:
            rng_states["texture"] = texture_rng.get_state()
        if judge is not None:
            rng_states["augment"] = judge.rng.get_state()
        save_checkpoint(
            checkpoint, modules, optimizers, rng_states,
            {"step": step, "l1": l1_avg, "adversarial": adversarial_avg,
             "levels": dataclasses.asdict(levels)},
        )  # fmt: skip
        # the world as it is now, to play or judge while training goes on
        save_model(model_path(run_dir / "latest", settings.name), average.module, model_info())

    sample_rng = torch.Generator().manual_seed(settings.seed + 1)
    sample_targets = random_crops(images, 3, settings.resolution, recipe, sample_rng)
    sample_inputs, sample_targets = make_pairs(sample_targets, recipe, sample_rng)
    progress_line = ProgressLine(settings, step, enabled=cluster.is_main)
    log.info(
        "training %r on %d images, %s, %s%s", settings.name, len(images), spec, device,
        f", rank {cluster.rank} of {cluster.world_size}" if cluster.world_size > 1 else "",
    )  # fmt: skip
    ctrl_c = _CtrlC()
    try:
        while not cluster.all_agree(progress_line.finished(step) or ctrl_c.requested.is_set()):
            set_learning_rate(rates, settings, step)
            if step < settings.discriminator_warmup:  # the generator holds still meanwhile
                for group in g_optimizer.param_groups:
                    group["lr"] = 0.0
            batch = draw_batch(images, camera_images, settings, rng, device)
            inputs, targets = batch.inputs, batch.targets
            made = generator(batch.generator_inputs)
            made, camera_fakes = made[: len(inputs)], made[len(inputs) :]
            if batch.offsets is not None:
                pan = pan_consistency_loss(made, batch.offsets)
            fakes, inputs, targets = (t[: settings.batch_size] for t in (made, inputs, targets))
            every_fake = torch.cat([fakes, camera_fakes])  # of the world's crops, then the camera's

            d_optimizer.zero_grad(set_to_none=True)
            real_judged = discriminator(torch.cat([inputs, targets], 1))
            fake_judged = discriminator(torch.cat([inputs, fakes.detach()], 1))
            d_loss = 0.5 * (
                adversarial_loss(real_judged, real=True) + adversarial_loss(fake_judged, real=False)
            )
            d_loss.backward()
            d_optimizer.step()
            judged = judge.step(fakes, targets, camera_fakes) if judge is not None else None
            if fine_judge is not None:
                fine_judge.step(every_fake, targets)

            g_optimizer.zero_grad(set_to_none=True)
            discriminator_core.requires_grad_(False)  # its weights' gradients would go unused
            fooled_judged = discriminator(torch.cat([inputs, fakes], 1))
            adversarial = adversarial_loss(fooled_judged, real=True)
            matching = feature_matching_loss(fooled_judged, real_judged)
            l1 = l1_loss(fakes, targets)  # what is logged and stored, whatever the scale
            # pix2pix's L1 at scale 1 is `l1` itself: not computed twice
            scale = settings.l1_scale
            fitted = l1 if scale == 1 else coarse_l1(fakes, targets, scale)
            g_loss = (
                adversarial
                + settings.feature_matching_weight * matching
                + settings.l1_weight * fitted
            )
            if judged is not None:
                g_loss = g_loss + judge.generator_loss(judged)
            if settings.fine_chroma_weight:
                g_loss = g_loss + settings.fine_chroma_weight * fine_chroma_loss(fakes, targets)
            if settings.pan_weight:
                g_loss = g_loss + settings.pan_weight * pan
            if settings.texture_weight:
                g_loss = g_loss + settings.texture_weight * texture_loss(
                    every_fake, targets, texture_rng
                )
            if settings.layout_weight:
                g_loss = g_loss + settings.layout_weight * layout_loss(
                    every_fake, targets, texture_rng
                )
            if fine_judge is not None:
                g_loss = g_loss + settings.fine_texture_weight * fine_judge.generator_loss(
                    every_fake
                )
            if camera_images and settings.fine_chroma_weight:
                g_loss = g_loss + settings.fine_chroma_weight * fine_chroma_excess(
                    camera_fakes, targets
                )
            g_loss.backward()
            discriminator_core.requires_grad_(True)
            g_optimizer.step()
            average.update(generator_core, step)

            step += 1
            l1_avg = l1.item() if step == 1 else 0.98 * l1_avg + 0.02 * l1.item()
            adversarial_avg = (
                adversarial.item()
                if step == 1
                else 0.98 * adversarial_avg + 0.02 * adversarial.item()
            )
            progress_line.update(step, l1_avg, adversarial_avg)
            if step % settings.checkpoint_every == 0:
                save()
            if step % settings.sample_every == 0 and cluster.is_main:
                write_sample_sheet(run_dir / "samples" / f"step_{step:06d}.png", average.module,
                                   sample_inputs, sample_targets)  # fmt: skip
    except KeyboardInterrupt:  # a second Ctrl-C
        ctrl_c.requested.set()
    finally:
        progress_line.close()
        ctrl_c.restore()
    if ctrl_c.requested.is_set():
        log.info("interrupted at step %d; checkpointing and exporting", step)
    save()  # unless the last step's checkpoint was just written

    path = model_path(settings.models_dir, settings.name)
    if cluster.is_main:
        save_model(path, average.module, model_info())
        log.info("wrote %s", path)
    cluster.close()
    return TrainResult(path, step, l1_avg, adversarial_avg, exported=cluster.is_main)


class _CtrlC:
    """Ctrl-C (SIGINT) asks training to stop after the step it is in, then checkpoint and export.

    A flag the loop reads (`requested`), not Python's KeyboardInterrupt: that exception is raised
    wherever the signal lands, and where it lands in a finaliser it is printed and dropped —
    under load the suite saw a trainer carry on after Ctrl-C. A second Ctrl-C raises
    KeyboardInterrupt as usual. Off the main thread signals cannot be caught: the flag stays.
    """

    def __init__(self) -> None:
        self.requested = threading.Event()
        self._previous: Any = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._request)

    def _request(self, signum: int, frame: object) -> None:
        self.requested.set()
        signal.signal(signal.SIGINT, self._previous)

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def uses_features(settings: TrainSettings) -> bool:
    return settings.projected_weight > 0 or settings.perceptual_weight > 0


@dataclass
class FeatureJudge:
    """The Projected-GAN discriminator, its optimizer, the frozen features it looks through and
    the augmentation's random stream; one call per step trains it and returns what the
    generator's loss needs."""

    settings: TrainSettings
    projector: FeatureProjector
    core: ProjectedDiscriminator
    network: nn.Module
    optimizer: torch.optim.Optimizer
    rng: torch.Generator

    @staticmethod
    def make(settings: TrainSettings, cluster: Cluster) -> FeatureJudge:
        from ltsd.train.features import load_classifier

        projector = FeatureProjector(load_classifier(), seed=settings.seed).to(cluster.device)
        core = ProjectedDiscriminator(settings.resolution).to(cluster.device)
        network = cluster.wrap(core)
        optimizer = torch.optim.Adam(
            network.parameters(), settings.learning_rate, betas=(0.5, 0.999)
        )
        rng = torch.Generator().manual_seed(settings.seed + 2 + cluster.rank)
        return FeatureJudge(settings, projector, core, network, optimizer, rng)

    def step(
        self, fakes: torch.Tensor, targets: torch.Tensor, camera_fakes: torch.Tensor
    ) -> Judged:
        """One discriminator update on the world's crops and what the generator made of them and
        of the camera's (`camera_fakes`, no targets, may be empty)."""
        if self.settings.augment:
            fakes, targets = paired_augment(fakes, targets, self.rng)
            if len(camera_fakes):
                camera_fakes = augment(camera_fakes, self.rng)
        with torch.no_grad():
            real_taps = self.projector.taps(targets)
        fake_taps = self.projector.taps(torch.cat([fakes, camera_fakes]))
        self.optimizer.zero_grad(set_to_none=True)
        real = self.network(self.projector.project(real_taps))
        fake = self.network(self.projector.project([t.detach() for t in fake_taps]))
        hinge_discriminator_loss(real, fake).backward()
        self.optimizer.step()
        return Judged(fake_taps, real_taps, len(fakes))

    def generator_loss(self, judged: Judged) -> torch.Tensor:
        self.core.requires_grad_(False)
        logits = self.network(self.projector.project(judged.fake_taps))
        self.core.requires_grad_(True)
        world = [logit[: judged.paired] for logit in logits]
        loss = self.settings.projected_weight * hinge_generator_loss(world)
        if judged.paired < len(logits[0]):
            camera = [logit[judged.paired :] for logit in logits]
            loss = loss + self.settings.camera_weight * hinge_generator_loss(camera)
        paired_taps = [tap[: judged.paired] for tap in judged.fake_taps]
        return loss + self.settings.perceptual_weight * perceptual_loss(
            paired_taps, judged.real_taps
        )


@dataclass(frozen=True, slots=True)
class Judged:
    """The features the feature discriminator saw: the generated images' (the world's crops'
    first `paired`, then the camera's) and the world's real crops'."""

    fake_taps: list[torch.Tensor]
    real_taps: list[torch.Tensor]
    paired: int


def coarse_l1(fakes: torch.Tensor, targets: torch.Tensor, scale: int) -> torch.Tensor:
    """Mean absolute difference of the images averaged over `scale` × `scale` pixels: with 1,
    pix2pix's L1. L1 pulls what the input cannot tell toward its mean, which at the finest bands
    is smoothness; averaged first it no longer sees them."""
    if scale == 1:
        return F.l1_loss(fakes, targets)
    return F.l1_loss(F.avg_pool2d(fakes, scale), F.avg_pool2d(targets, scale))


def set_learning_rate(
    optimizers: dict[torch.optim.Optimizer, float], settings: TrainSettings, step: int
) -> None:
    """Hold each optimizer's rate (the values of `optimizers`) for the first half of `steps`,
    then decay it linearly to zero (pix2pix). A function of the step alone, so a resumed run
    follows the same schedule; constant when training is bounded only by --minutes."""
    scale = 1.0
    if settings.steps:
        scale = min(1.0, 2.0 * (1.0 - step / settings.steps))
    for optimizer, rate in optimizers.items():
        for group in optimizer.param_groups:
            group["lr"] = rate * max(scale, 0.0)


def write_sample_sheet(
    path: Path, generator: UNetGenerator, inputs: torch.Tensor, targets: torch.Tensor
) -> None:
    """Rows of input | output | target, from fixed crops so sheets compare across steps."""
    was_training = generator.training
    generator.eval()
    device = next(generator.parameters()).device
    with torch.inference_mode():
        outputs = generator(inputs.to(device)).cpu()
    generator.train(was_training)
    rows = [
        torch.cat([inputs[i].expand(3, -1, -1), outputs[i], targets[i]], dim=2)
        for i in range(inputs.shape[0])
    ]
    sheet = ((torch.cat(rows, dim=1) + 1) / 2).clamp(0, 1).mul(255).round().to(torch.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet.permute(1, 2, 0).numpy()).save(path)


class ProgressLine:
    """Step, losses, it/s and ETA: a live line on a terminal, periodic log lines elsewhere."""

    def __init__(self, settings: TrainSettings, first_step: int, enabled: bool = True) -> None:
        self.settings = settings
        self.first_step = first_step
        self.started = time.monotonic()
        self.deadline = self.started + settings.minutes * 60 if settings.minutes else None
        self.enabled = enabled
        self.live = enabled and sys.stderr.isatty()

    def finished(self, step: int) -> bool:
        """Done at `steps`, or when this sitting's --minutes are up, whichever comes first."""
        if self.settings.steps is not None and step >= self.settings.steps:
            return True
        return self.deadline is not None and time.monotonic() >= self.deadline

    def update(self, step: int, l1: float, adversarial: float) -> None:
        if not self.enabled or (not self.live and step % self.settings.log_every):
            return
        elapsed = time.monotonic() - self.started
        rate = (step - self.first_step) / elapsed if elapsed > 0 else 0.0
        steps = self.settings.steps
        eta_s = float("inf")
        if steps is not None and rate > 0:
            eta_s = (steps - step) / rate
        if self.deadline is not None:
            eta_s = min(eta_s, max(0.0, self.deadline - time.monotonic()))
        total = "?" if steps is None else str(steps)
        eta = "?" if eta_s == float("inf") else f"{int(eta_s) // 60}:{int(eta_s) % 60:02d}"
        text = (
            f"step {step}/{total}  L1 {l1:.4f}  GAN {adversarial:.3f}  {rate:.2f} it/s  ETA {eta}"
        )
        if self.live:
            sys.stderr.write("\r" + text + "\x1b[K")
            sys.stderr.flush()
        else:
            log.info("%s", text)

    def close(self) -> None:
        if self.live:
            sys.stderr.write("\n")


@dataclass(frozen=True, slots=True)
class Cluster:
    """Where this process stands in a `torchrun` job (or alone, world size 1).

    Under torchrun, models are wrapped in DistributedDataParallel (gloo on CPU, NCCL on CUDA);
    rank 0 alone logs, checkpoints, writes sample sheets and exports.
    """

    rank: int
    world_size: int
    device: torch.device

    @staticmethod
    def from_environment(device: torch.device) -> Cluster:
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        if world_size == 1:
            return Cluster(0, 1, device)
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
        return Cluster(distributed.get_rank(), world_size, device)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def wrap(self, module: nn.Module) -> nn.Module:
        if self.world_size == 1:
            return module
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=device_ids)

    def all_agree(self, done: bool) -> bool:
        """True when any rank is done, so every rank stops at the same step (--minutes)."""
        if self.world_size == 1:
            return done
        flag = torch.tensor([1.0 if done else 0.0], device=self.device)
        distributed.all_reduce(flag, op=distributed.ReduceOp.MAX)
        return bool(flag.item())

    def close(self) -> None:
        if self.world_size > 1:
            distributed.destroy_process_group()


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
